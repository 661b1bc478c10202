import { promisifyRequest } from 'idb-keyval';
import { indexedDbFactory, openIndexedDb } from '../../../cache/idb-open.js';
import { EdgelakeError } from '../../../errors.js';
import { checkLabelBatch, holdLabels, newLabels, type LabelBatch, type LabelStore } from './store.js';

const BATCHES = 'batches';
/**
 * The label each sample holds now (`holdLabels` over every batch), kept beside the batches so an
 * append reads only its own samples': a record per bucket of 1024 ids (id >>> 10), { ids, labels }
 * of the samples in it that hold one. A record per sample would cost a teach of 10,000 labels
 * 20,000 requests, seconds in Chromium; buckets cost it about 10 gets and 10 puts.
 */
const HELD = 'held';
const BUCKET_BITS = 10;
/** 1: batches only; 2: and held, built from the batches when a version-1 database is opened. */
const VERSION = 2;

/**
 * Labels in an IndexedDB database (the browser's FsLabelStore): one record per `teach`, keyed by
 * its sequence number, written in a transaction with strict durability, so `append` resolves
 * once the batch is on disk and a record is whole or absent. The same transaction reads the next
 * number and the labels the batch's samples hold, and updates them, so the held labels always
 * agree with the history, and stores on one database (two tabs) append in turn without colliding:
 * a sample one tab labelled cannot be given another label by the other.
 */
export class IdbLabelStore implements LabelStore {
  readonly location: string;
  private db: IDBDatabase | undefined;

  private constructor(name: string, db: IDBDatabase) {
    this.location = `IndexedDB "${name}"`;
    this.db = db;
  }

  static async open(name = 'edgelake-labels', options: { indexedDB?: IDBFactory } = {}): Promise<IdbLabelStore> {
    const db = await openIndexedDb(indexedDbFactory(name, options.indexedDB), name, VERSION, upgrade);
    return new IdbLabelStore(name, db);
  }

  async load(): Promise<LabelBatch[]> {
    const records = await promisifyRequest(this.transaction([BATCHES], 'readonly').objectStore(BATCHES).getAll());
    return (records as LabelBatch[]).map((b) => ({ ids: Uint32Array.from(b.ids), labels: Int32Array.from(b.labels), ...(b.corrects && { corrects: true }) }));
  }

  async append(batch: LabelBatch): Promise<void> {
    checkLabelBatch(batch, this.location);
    const tx = this.transaction([BATCHES, HELD], 'readwrite');
    const batches = tx.objectStore(BATCHES);
    const heldStore = tx.objectStore(HELD);
    const held = new Map<number, number>(); // every label held in the buckets the batch's samples fall in
    for (const bucket of bucketsOf(batch.ids)) {
      const request = heldStore.get(bucket);
      request.onsuccess = () => {
        const record = request.result as LabelBatch | undefined;
        record?.ids.forEach((id, i) => held.set(id, record.labels[i]));
      };
    }
    let refused: unknown;
    const last = batches.openKeyCursor(null, 'prev'); // answered after the gets: requests run in order
    last.onsuccess = () => {
      try {
        const news = newLabels(held, batch, this.location);
        if (!news) return;
        batches.add(news, last.result ? Number(last.result.key) + 1 : 0);
        for (const [bucket, record] of heldRecords(holdLabels(held, news), bucketsOf(news.ids))) heldStore.put(record, bucket);
      } catch (e) {
        refused = e;
        tx.abort();
      }
    };
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = tx.onerror = () => reject(refused ?? new EdgelakeError(tx.error?.name === 'QuotaExceededError' ? 'storage-full' : 'invalid-input', `label store ${this.location}: ${tx.error?.message ?? 'the write was aborted'}`, { cause: tx.error }));
    });
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  private transaction(stores: string[], mode: IDBTransactionMode): IDBTransaction {
    if (!this.db) throw new EdgelakeError('invalid-input', `label store ${this.location}: closed`);
    try {
      return this.db.transaction(stores, mode, { durability: 'strict' });
    } catch (e) {
      // The connection closed itself for a newer edgelake's upgrade (openIndexedDb): the labels are there, in its format.
      if ((e as { name?: string }).name !== 'InvalidStateError') throw e;
      throw new EdgelakeError('conflict', `label store ${this.location}: a newer edgelake in another tab or window upgraded the database, so this page can no longer write to it; reload it`, { cause: e });
    }
  }
}

/** Makes the stores; a version-1 database's held labels are built from its batches in the upgrade's transaction, so they are whole once the open resolves. */
function upgrade(db: IDBDatabase, oldVersion: number, tx: IDBTransaction): void {
  if (oldVersion < 1) db.createObjectStore(BATCHES);
  if (oldVersion >= 2) return;
  const held = db.createObjectStore(HELD);
  const earlier = tx.objectStore(BATCHES).getAll();
  earlier.onsuccess = () => {
    for (const [bucket, record] of heldRecords((earlier.result as LabelBatch[]).reduce(holdLabels, new Map<number, number>()))) held.put(record, bucket);
  };
}

function bucketsOf(ids: Uint32Array): Set<number> {
  return new Set(Array.from(ids, (id) => id >>> BUCKET_BITS));
}

/** `held`'s labels as records of their buckets: all of them, or those in `only`. */
function heldRecords(held: ReadonlyMap<number, number>, only?: ReadonlySet<number>): Map<number, LabelBatch> {
  const grouped = new Map<number, { ids: number[]; labels: number[] }>();
  held.forEach((label, id) => {
    const bucket = id >>> BUCKET_BITS;
    if (only && !only.has(bucket)) return;
    const group = grouped.get(bucket) ?? grouped.set(bucket, { ids: [], labels: [] }).get(bucket)!;
    group.ids.push(id);
    group.labels.push(label);
  });
  return new Map(Array.from(grouped, ([bucket, { ids, labels }]) => [bucket, { ids: Uint32Array.from(ids), labels: Int32Array.from(labels) }]));
}
