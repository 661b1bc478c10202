import { EdgelakeError } from '../errors.js';

/**
 * Cost-aware acquisition: what each candidate costs to fetch, and a fetch plan that buys the
 * most information per byte. A unit is what one request brings: a whole chunk (compressed
 * chunks), or one sample's byte range where partial reads are possible. Units already cached
 * cost nothing; samples sharing a unit share its cost, so many samples from one chunk are
 * cheap and one sample from each of many chunks is not.
 */
export interface FetchUnit {
  /** e.g. 'image/12' for a chunk, 'image/12#3071' for one sample's range. */
  key: string;
  bytes: number;
  cached: boolean;
}

export interface CostModel {
  /** The units a sample's fetch needs (every tensor the learner reads). */
  units(id: number): FetchUnit[];
  /** What a request costs beyond its bytes (latency, headers), in bytes; default 0. */
  requestOverheadBytes?: number;
}

export interface FetchPlan {
  ids: Uint32Array;
  /** Bytes of the units not yet cached that the plan fetches, overheads excluded. */
  bytes: number;
  /** Keys of those units. */
  units: string[];
}

/**
 * Picks up to `k` of `candidates` (with `values`: information, higher is better; e.g. the
 * uncertainty scores of a shortlist) maximising total value per byte, greedily: the group of
 * candidates sharing the same missing units with the best (value of its best members) / (cost
 * of its units) goes first; its units then count as cached. Candidates needing nothing new
 * come first of all. `budgetBytes` caps the bytes fetched.
 */
export function planFetch(candidates: ArrayLike<number>, values: ArrayLike<number>, k: number, cost: CostModel, options: { budgetBytes?: number } = {}): FetchPlan {
  if (values.length !== candidates.length) throw new EdgelakeError('invalid-input', `planFetch: ${values.length} values for ${candidates.length} candidates`);
  if (!Number.isInteger(k) || k < 0) throw new EdgelakeError('invalid-input', `planFetch: k must be a non-negative integer, got ${k}`);
  const budget = options.budgetBytes ?? Infinity;
  if (!(budget >= 0)) throw new EdgelakeError('invalid-input', `planFetch: budgetBytes must be >= 0, got ${options.budgetBytes}`);
  const overhead = cost.requestOverheadBytes ?? 0;
  const units = new Map<string, FetchUnit>();
  const needs = Array.from(candidates, (id) => cost.units(id).map((u) => {
    if (!units.has(u.key)) units.set(u.key, { ...u });
    return u.key;
  }));
  const missing = (i: number) => needs[i].filter((key) => !units.get(key)!.cached);
  const price = (keys: string[]) => keys.reduce((a, key) => a + units.get(key)!.bytes + overhead, 0);

  const open = new Set(Array.from(candidates, (_, i) => i));
  const chosen: number[] = [];
  const fetched: string[] = [];
  let spent = 0;
  while (chosen.length < k && open.size > 0) {
    // Group the open candidates by the units they still miss; best members first.
    const groups = new Map<string, { keys: string[]; members: number[] }>();
    for (const i of open) {
      const keys = missing(i).sort();
      const id = keys.join('|');
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { keys, members: [] }));
      g.members.push(i);
    }
    let best: { keys: string[]; members: number[]; ratio: number } | undefined;
    for (const g of groups.values()) {
      const bytes = price(g.keys);
      if (spent + bytes - g.keys.length * overhead > budget) continue;
      g.members.sort((a, b) => Number(values[b]) - Number(values[a]) || a - b);
      const gain = g.members.slice(0, k - chosen.length).reduce((a, i) => a + Math.max(0, Number(values[i])), 0);
      const ratio = bytes === 0 ? Infinity : gain / bytes;
      if (!best || ratio > best.ratio) best = { ...g, ratio };
    }
    if (!best) break; // nothing left fits the budget
    for (const key of best.keys) {
      const unit = units.get(key)!;
      unit.cached = true;
      spent += unit.bytes;
      fetched.push(key);
    }
    for (const i of best.members.slice(0, k - chosen.length)) {
      chosen.push(i);
      open.delete(i);
    }
  }
  return { ids: Uint32Array.from(chosen, (i) => candidates[i]), bytes: spent, units: fetched };
}

/** The bytes `ids` cost under `cost` when fetched together (each missing unit once). */
export function fetchBytes(ids: ArrayLike<number>, cost: CostModel): number {
  const seen = new Map<string, number>();
  for (const id of Array.from(ids)) for (const u of cost.units(id)) if (!u.cached) seen.set(u.key, u.bytes);
  let total = 0;
  for (const b of seen.values()) total += b;
  return total;
}
