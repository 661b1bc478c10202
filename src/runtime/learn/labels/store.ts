import { EdgelakeError } from '../../../errors.js';

/** One `teach`: the ids labelled together and their labels, as the user gave them. */
export interface LabelBatch {
  ids: Uint32Array;
  labels: Int32Array;
}

/**
 * Where an active learner keeps the labels people give it, so none is paid for twice. A batch is
 * durable once `append` resolves (a crash after that loses nothing), and all or nothing: `load`
 * returns every acknowledged batch in order, and never part of one.
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

  async load(): Promise<LabelBatch[]> {
    return this.batches.map(copyBatch);
  }

  async append(batch: LabelBatch): Promise<void> {
    checkLabelBatch(batch, this.location);
    this.batches.push(copyBatch(batch));
  }

  async close(): Promise<void> {}
}

/** A batch is checked before any store writes it: equal lengths, labels that are int32 as given. */
export function checkLabelBatch({ ids, labels }: LabelBatch, location: string): void {
  if (!(ids instanceof Uint32Array) || !(labels instanceof Int32Array)) {
    throw new EdgelakeError('invalid-input', `label store ${location}: a batch is { ids: Uint32Array, labels: Int32Array }`);
  }
  if (ids.length !== labels.length) throw new EdgelakeError('invalid-input', `label store ${location}: ${ids.length} ids but ${labels.length} labels`);
}

function copyBatch(b: LabelBatch): LabelBatch {
  return { ids: b.ids.slice(), labels: b.labels.slice() };
}
