import { EdgelakeError } from '../errors.js';
import { checkCandidates, checkK, fail } from './check.js';

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
 * come first of all. `budgetBytes` caps the bytes fetched; with one, the aim is the most value
 * within it, and greedy by ratio alone can waste it on a cheap, nearly worthless group, so the
 * best single affordable group is tried too and the plan worth more wins (Khuller, Moss & Naor
 * 1999): at least half the optimum.
 */
export function planFetch(candidates: ArrayLike<number>, values: ArrayLike<number>, k: number, cost: CostModel, options: { budgetBytes?: number } = {}): FetchPlan {
  if (values.length !== candidates.length) fail('planFetch', `${values.length} values for ${candidates.length} candidates`);
  checkK('planFetch', k);
  checkCandidates('planFetch', candidates);
  const budget = options.budgetBytes ?? Infinity;
  if (!(budget >= 0)) fail('planFetch', `budgetBytes must be >= 0, got ${options.budgetBytes}`);
  const overhead = cost.requestOverheadBytes ?? 0;
  // A NaN score (a model that diverged) ranks last and is worth nothing: compared as it is, it would win or lose every comparison.
  const rank = Float64Array.from(values, (v) => (Number.isNaN(Number(v)) ? -Infinity : Number(v)));
  const units = new Map<string, FetchUnit>();
  const needs = Array.from(candidates, (id) => cost.units(id).map((u) => {
    if (!Number.isFinite(u.bytes) || u.bytes < 0) fail('planFetch', `unit ${u.key} of candidate ${id} has ${u.bytes} bytes; a finite number >= 0 is needed`);
    if (!units.has(u.key)) units.set(u.key, { ...u });
    return u.key;
  }));
  const problem: Problem = { k, budget, overhead, rank, units, needs };
  const greedy = greedyPlan(problem);
  // Without a budget there is nothing to waste: value per byte is the whole aim.
  const single = Number.isFinite(budget) ? bestSingleGroup(problem) : undefined;
  const pick = single && single.value > greedy.value ? single : greedy;
  return { ids: Uint32Array.from(pick.chosen, (i) => candidates[i]), bytes: pick.bytes, units: pick.units };
}

interface Problem {
  k: number;
  budget: number;
  overhead: number;
  /** Values with NaN as -Infinity. */
  rank: Float64Array;
  /** Every unit by key, as the cost model reports it (cached or not). */
  units: Map<string, FetchUnit>;
  /** The unit keys each candidate position needs. */
  needs: string[][];
}

interface Plan {
  chosen: number[];
  units: string[];
  bytes: number;
  value: number;
}

const worth = (rank: Float64Array, chosen: number[]) => chosen.reduce((a, i) => a + Math.max(0, rank[i]), 0);
const byValue = (rank: Float64Array) => (a: number, b: number) => rank[b] - rank[a] || a - b;

/** Greedy by value per byte; a group needing no new byte always goes first. */
function greedyPlan({ k, budget, overhead, rank, units: given, needs }: Problem): Plan {
  const units = new Map(Array.from(given, ([key, u]) => [key, { ...u }]));
  const missing = (i: number) => needs[i].filter((key) => !units.get(key)!.cached);
  const price = (keys: string[]) => keys.reduce((a, key) => a + units.get(key)!.bytes + overhead, 0);
  const open = new Set(needs.map((_, i) => i));
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
    let best: { keys: string[]; members: number[]; ratio: number; free: boolean } | undefined;
    for (const g of groups.values()) {
      const bytes = price(g.keys);
      if (spent + bytes - g.keys.length * overhead > budget) continue;
      g.members.sort(byValue(rank));
      const gain = worth(rank, g.members.slice(0, k - chosen.length));
      // Free goes first even against an infinite value, which would tie it at an infinite ratio.
      const free = bytes === 0;
      const ratio = free ? Infinity : gain / bytes;
      if (!best || (free && !best.free) || (free === best.free && ratio > best.ratio)) best = { ...g, ratio, free };
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
  return { chosen, units: fetched, bytes: spent, value: worth(rank, chosen) };
}

/**
 * The best plan that fetches one affordable group's missing units: the free candidates first
 * (best first, up to k), then the best of those the group's units bring.
 */
function bestSingleGroup({ k, budget, rank, units, needs }: Problem): Plan | undefined {
  const missing = needs.map((keys) => keys.filter((key) => !units.get(key)!.cached).sort());
  const free = needs.map((_, i) => i).filter((i) => missing[i].length === 0).sort(byValue(rank)).slice(0, k);
  let best: Plan | undefined;
  const seen = new Set<string>();
  for (const keys of missing) {
    const id = keys.join('|');
    if (keys.length === 0 || seen.has(id)) continue;
    seen.add(id);
    // The budget counts unit bytes, overheads excluded, as in greedyPlan.
    const bytes = keys.reduce((a, key) => a + units.get(key)!.bytes, 0);
    if (bytes > budget) continue;
    const have = new Set(keys);
    const brought = missing.map((m, i) => (m.length > 0 && m.every((key) => have.has(key)) ? i : -1)).filter((i) => i >= 0);
    const chosen = [...free, ...brought.sort(byValue(rank)).slice(0, k - free.length)];
    const value = worth(rank, chosen);
    if (!best || value > best.value) best = { chosen, units: keys, bytes, value };
  }
  return best;
}

/** The bytes `ids` cost under `cost` when fetched together (each missing unit once). */
export function fetchBytes(ids: ArrayLike<number>, cost: CostModel): number {
  const seen = new Map<string, number>();
  for (const id of Array.from(ids)) for (const u of cost.units(id)) if (!u.cached) seen.set(u.key, u.bytes);
  let total = 0;
  for (const b of seen.values()) total += b;
  return total;
}

/** Where a sample's bytes of one tensor live: the chunk holding it. */
export interface ChunkPlace {
  /** The chunk's index in the tensor, its content hash and its stored bytes. */
  index: number;
  hash: string;
  bytes: number;
}

/** The layout of the samples' bytes, as the dataset and its cache report it. */
export interface SampleLayout {
  chunkOf(tensor: string, id: number): ChunkPlace;
  /** Bytes of one sample's range when that chunk's samples are read alone by range; undefined: the whole chunk is fetched. */
  rangeBytes(tensor: string, chunk: number): number | undefined;
  /** Whether the cache holds the chunk with this hash. */
  cached(hash: string): Promise<boolean>;
}

/** What a request costs beyond its bytes: a round trip's worth (headers, latency), in bytes. */
export const REQUEST_OVERHEAD_BYTES = 4096;

/**
 * What fetching each of `ids` costs now: per tensor, its chunk (key 'tensor/chunk') or its byte
 * range ('tensor/chunk#id'), cached or not. The cache is asked once per chunk.
 */
export async function costModel(layout: SampleLayout, tensors: readonly string[], ids: ArrayLike<number>): Promise<CostModel> {
  const cached = new Map<string, boolean>();
  const units = new Map<number, FetchUnit[]>();
  for (const id of Array.from(ids)) {
    const list: FetchUnit[] = [];
    for (const t of tensors) {
      const chunk = layout.chunkOf(t, id);
      if (!cached.has(chunk.hash)) cached.set(chunk.hash, await layout.cached(chunk.hash));
      const range = layout.rangeBytes(t, chunk.index);
      list.push(range === undefined
        ? { key: `${t}/${chunk.index}`, bytes: chunk.bytes, cached: cached.get(chunk.hash)! }
        : { key: `${t}/${chunk.index}#${id}`, bytes: range, cached: cached.get(chunk.hash)! });
    }
    units.set(id, list);
  }
  return {
    units: (id) => {
      const list = units.get(id);
      if (!list) throw new EdgelakeError('invalid-input', `costModel: sample ${id} was not among the ${units.size} samples it was built for`);
      return list;
    },
    requestOverheadBytes: REQUEST_OVERHEAD_BYTES,
  };
}
