import { EdgelakeError } from '../../../errors.js';

/** One `teach`: the ids labelled together and their labels, as the user gave them. */
export interface LabelBatch {
  ids: Uint32Array;
  labels: Int32Array;
  /** A person's correction (`correct`): these labels replace the ones the samples hold, which stay in the store's history. */
  corrects?: boolean;
}

/**
 * Where an active learner keeps the labels people give it, so none is paid for twice. A batch is
 * durable once `append` resolves (a crash after that loses nothing), and all or nothing: `load`
 * returns every acknowledged batch in order, and never part of one. A sample holds one label: a
 * batch giving a held sample another is refused whole (conflict: two learners on one store, say),
 * and one giving it the same again stores only its news. A correcting batch (`corrects`) replaces
 * held labels instead, and is kept as one, so the labels it replaced stay in the history.
 */
export interface LabelStore {
  /** Names the store in errors (a path, an IndexedDB database). */
  readonly location: string;
  load(): Promise<LabelBatch[]>;
  append(batch: LabelBatch): Promise<void>;
  close(): Promise<void>;
}

/** Labels held in memory: for tests, and runs that need not outlive the process. */
export class MemoryLabelStore implements LabelStore {
  readonly location = 'memory';
  private readonly batches: LabelBatch[] = [];
  private readonly held = new Map<number, number>();

  async load(): Promise<LabelBatch[]> {
    return this.batches.map(copyBatch);
  }

  async append(batch: LabelBatch): Promise<void> {
    checkLabelBatch(batch, this.location);
    const news = newLabels(this.held, batch, this.location);
    if (!news) return;
    this.batches.push(news);
    holdLabels(this.held, news);
  }

  async close(): Promise<void> {}
}

/** A batch is checked before any store writes it: equal lengths, labels that are int32 as given. */
export function checkLabelBatch({ ids, labels, corrects }: LabelBatch, location: string): void {
  if (!(ids instanceof Uint32Array) || !(labels instanceof Int32Array) || !(corrects === undefined || typeof corrects === 'boolean')) {
    throw new EdgelakeError('invalid-input', `label store ${location}: a batch is { ids: Uint32Array, labels: Int32Array, corrects?: boolean }`);
  }
  if (ids.length !== labels.length) throw new EdgelakeError('invalid-input', `label store ${location}: ${ids.length} ids but ${labels.length} labels`);
}

/**
 * What of `batch` a store holding `held` (sample -> label) writes: a copy without the samples it
 * holds with the same label, or undefined when that leaves nothing of a batch that had labels.
 * A held sample given another label (unless the batch corrects), or one given two in the batch,
 * refuses it whole (conflict).
 */
export function newLabels(held: ReadonlyMap<number, number>, batch: LabelBatch, location: string): LabelBatch | undefined {
  const seen = new Map<number, number>();
  const clashes: string[] = [];
  const keep: number[] = [];
  batch.ids.forEach((id, i) => {
    const label = batch.labels[i];
    const before = seen.get(id);
    const known = before ?? held.get(id);
    if (known === label) return;
    if (before !== undefined) clashes.push(`sample ${id} (${before} and ${label} in this batch)`);
    else if (known !== undefined && !batch.corrects) clashes.push(`sample ${id} (${known} there, ${label} in this batch)`);
    else keep.push(i);
    seen.set(id, label);
  });
  if (clashes.length > 0) {
    const named = clashes.length > 10 ? `${clashes.slice(0, 10).join(', ')} and ${clashes.length - 10} more` : clashes.join(', ');
    throw new EdgelakeError('conflict', `label store ${location}: two labels for ${named}; this batch of ${batch.ids.length} labels was not stored`);
  }
  if (keep.length === 0 && batch.ids.length > 0) return undefined;
  return { ids: Uint32Array.from(keep, (i) => batch.ids[i]), labels: Int32Array.from(keep, (i) => batch.labels[i]), ...(batch.corrects && { corrects: true }) };
}

/**
 * Adds a stored batch's labels to `held`: a correction's replace the held ones; otherwise a
 * sample's first label stands (a store written before stores refused a second may hold two).
 */
export function holdLabels(held: Map<number, number>, { ids, labels, corrects }: LabelBatch): Map<number, number> {
  ids.forEach((id, i) => (corrects || !held.has(id)) && held.set(id, labels[i]));
  return held;
}

/** A batch in arrays of its own, as `load` returns it. */
export function copyBatch(b: LabelBatch): LabelBatch {
  return { ids: b.ids.slice(), labels: b.labels.slice(), ...(b.corrects && { corrects: true }) };
}
