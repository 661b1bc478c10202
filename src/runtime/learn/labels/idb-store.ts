import { promisifyRequest } from 'idb-keyval';
import { indexedDbFactory, openIndexedDb } from '../../../cache/idb-open.js';
import { EdgelakeError } from '../../../errors.js';
import { checkLabelBatch, holdLabels, newLabels, type LabelBatch, type LabelStore } from './store.js';

const BATCHES = 'batches';

/**
 * Labels in an IndexedDB database (the browser's FsLabelStore): one record per `teach`, keyed by
 * its sequence number, written in a transaction with strict durability, so `append` resolves
 * once the batch is on disk and a record is whole or absent. The next number, and the labels
 * already held, are read inside that transaction, so stores on one database (two tabs) append in
 * turn without colliding, and a sample one tab labelled cannot be given another label by the other.
 */
export class IdbLabelStore implements LabelStore {
  readonly location: string;
  private db: IDBDatabase | undefined;

  private constructor(name: string, db: IDBDatabase) {
    this.location = `IndexedDB "${name}"`;
    this.db = db;
  }

  static async open(name = 'edgelake-labels', options: { indexedDB?: IDBFactory } = {}): Promise<IdbLabelStore> {
    const db = await openIndexedDb(indexedDbFactory(name, options.indexedDB), name, 1, (created) => created.createObjectStore(BATCHES));
    return new IdbLabelStore(name, db);
  }

  async load(): Promise<LabelBatch[]> {
    const records = await promisifyRequest(this.open().transaction(BATCHES, 'readonly').objectStore(BATCHES).getAll());
    return (records as LabelBatch[]).map((b) => ({ ids: Uint32Array.from(b.ids), labels: Int32Array.from(b.labels), ...(b.corrects && { corrects: true }) }));
  }

  async append(batch: LabelBatch): Promise<void> {
    checkLabelBatch(batch, this.location);
    const tx = this.open().transaction(BATCHES, 'readwrite', { durability: 'strict' });
    const store = tx.objectStore(BATCHES);
    let refused: unknown;
    const earlier = store.getAll();
    const last = store.openKeyCursor(null, 'prev'); // answered after `earlier`: requests run in order
    last.onsuccess = () => {
      try {
        const news = newLabels((earlier.result as LabelBatch[]).reduce(holdLabels, new Map<number, number>()), batch, this.location);
        if (news) store.add(news, last.result ? Number(last.result.key) + 1 : 0);
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

  private open(): IDBDatabase {
    if (!this.db) throw new EdgelakeError('invalid-input', `label store ${this.location}: closed`);
    return this.db;
  }
}
