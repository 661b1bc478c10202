import { EdgelakeError } from '../errors.js';

/** A saved Pool: every candidate in the constructor's order, and [id, label] in labelling order. */
export interface PoolJSON {
  ids: number[];
  labelled: [number, number][];
}

function isSampleId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 0xffffffff;
}

/**
 * Labelled and unlabelled sample ids (dataset indices) of an active-learning run.
 * `unlabelled()` keeps the constructor's order and `labelled()` the order of labelling, so a
 * run saved with toJSON and resumed with fromJSON sees the same arrays.
 */
export class Pool {
  /** Every candidate, duplicates removed, in the order first given. */
  private readonly ids: Uint32Array;
  private readonly members: Set<number>;
  /** id -> label; a Map iterates in insertion order, which is the labelling order. */
  private readonly labels = new Map<number, number>();

  constructor(ids: Iterable<number>) {
    const members = new Set<number>();
    for (const id of ids) {
      if (!isSampleId(id)) throw new EdgelakeError('invalid-input', `Pool: sample id ${String(id)} is not an integer in [0, 2^32)`);
      members.add(id);
    }
    this.members = members;
    this.ids = Uint32Array.from(members);
  }

  /** Candidates in the pool, labelled or not. */
  get size(): number {
    return this.ids.length;
  }

  get labelledCount(): number {
    return this.labels.size;
  }

  get unlabelledCount(): number {
    return this.ids.length - this.labels.size;
  }

  /** Labelled ids in the order they were labelled. */
  labelled(): Uint32Array {
    return Uint32Array.from(this.labels.keys());
  }

  /** Unlabelled ids in the constructor's order. */
  unlabelled(): Uint32Array {
    const out = new Uint32Array(this.unlabelledCount);
    let at = 0;
    for (const id of this.ids) if (!this.labels.has(id)) out[at++] = id;
    return out;
  }

  has(id: number): boolean {
    return this.members.has(id);
  }

  isLabelled(id: number): boolean {
    return this.labels.has(id);
  }

  labelOf(id: number): number | undefined {
    return this.labels.get(id);
  }

  /**
   * Records labels[i] for ids[i]. All or nothing: every id is checked (in the pool, not yet
   * labelled, not repeated, label finite) before any is recorded, so a failed call leaves the pool as it was.
   */
  label(ids: ArrayLike<number>, labels: ArrayLike<number>): void {
    this.checkLabels(ids, labels);
    for (let i = 0; i < ids.length; i++) this.labels.set(ids[i], labels[i]);
  }

  /**
   * Replaces the labels of labelled samples (a person's correction), each keeping its place in the
   * labelling order. All or nothing, as label(): every id must be labelled already.
   */
  relabel(ids: ArrayLike<number>, labels: ArrayLike<number>): void {
    this.checkLabels(ids, labels, 'relabel');
    for (let i = 0; i < ids.length; i++) this.labels.set(ids[i], labels[i]);
  }

  /** What label() (or relabel()) checks, recording nothing: throws the error it would. */
  checkLabels(ids: ArrayLike<number>, labels: ArrayLike<number>, call: 'label' | 'relabel' = 'label'): void {
    if (ids.length !== labels.length) {
      throw new EdgelakeError('invalid-input', `Pool.${call}: ${ids.length} ids but ${labels.length} labels`);
    }
    const seen = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      const why = this.refusal(ids[i], labels[i], seen, call);
      if (why) throw new EdgelakeError('invalid-input', `Pool.${call}: sample ${ids[i]} ${why}`);
      seen.add(ids[i]);
    }
  }

  /** Why `call` cannot give sample `id` `label`, or undefined where it can. */
  private refusal(id: number, label: number, seen: ReadonlySet<number>, call: 'label' | 'relabel'): string | undefined {
    if (!this.members.has(id)) return 'is not in the pool';
    if (call === 'label' && this.labels.has(id)) return `is already labelled (${this.labels.get(id)})`;
    if (call === 'relabel' && !this.labels.has(id)) return 'is not labelled yet: label it first';
    if (seen.has(id)) return 'appears twice in this call';
    if (!Number.isFinite(label)) return `has label ${label}, not a finite number`;
    return undefined;
  }

  toJSON(): PoolJSON {
    return { ids: Array.from(this.ids), labelled: Array.from(this.labels, ([id, label]): [number, number] => [id, label]) };
  }

  /** Resumes a run saved with toJSON (e.g. read back with JSON.parse); checks the shape, since files get edited. */
  static fromJSON(json: unknown): Pool {
    const j = json as Partial<PoolJSON> | null;
    if (typeof j !== 'object' || j === null || !Array.isArray(j.ids) || !Array.isArray(j.labelled)) {
      throw new EdgelakeError('invalid-input', 'Pool.fromJSON: expected { ids: number[], labelled: [id, label][] }');
    }
    const pool = new Pool(j.ids);
    const ids: number[] = [];
    const labels: number[] = [];
    for (const pair of j.labelled) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new EdgelakeError('invalid-input', `Pool.fromJSON: labelled entry ${JSON.stringify(pair)} is not an [id, label] pair`);
      }
      ids.push(pair[0]);
      labels.push(pair[1]);
    }
    pool.label(ids, labels);
    return pool;
  }
}
