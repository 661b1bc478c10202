import { promisifyRequest } from 'idb-keyval';
import { EdgelakeError, isEdgelakeError } from '../errors.js';

/** The IndexedDB to use: the one given, else the environment's; 'unsupported' where there is none. */
export function indexedDbFactory(name: string, given: IDBFactory | undefined): IDBFactory {
  const factory = given ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new EdgelakeError('unsupported', `IndexedDB "${name}": IndexedDB is not available in this environment; pass options.indexedDB`);
  return factory;
}

/**
 * Opens database `name` at `version`, `upgrade` making its object stores (given the version on
 * disk, 0 for a new database, and the upgrade transaction, to carry records over: the open
 * resolves once that transaction commits); a refusal becomes an EdgelakeError saying why (the
 * browser's error its cause): a newer version on disk, no IndexedDB in this context, no quota.
 */
export async function openIndexedDb(factory: IDBFactory, name: string, version: number, upgrade: (db: IDBDatabase, oldVersion: number, transaction: IDBTransaction) => void): Promise<IDBDatabase> {
  let request: IDBOpenDBRequest;
  try {
    request = factory.open(name, version); // throws SecurityError in an opaque origin
  } catch (e) {
    throw await openError(factory, name, version, e);
  }
  request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion, request.transaction!);
  const opened = promisifyRequest(request);
  // Another tab holding an older version open (one that never closes for an upgrade) would keep this open waiting for ever.
  const blocked = new Promise<never>((_, reject) => {
    request.onblocked = () => {
      void opened.then((db) => db.close(), () => {}); // if it opens once that tab closes, nobody holds it
      reject(new EdgelakeError('conflict', `IndexedDB "${name}" is open at an older version in another tab or window, which keeps this edgelake from upgrading it: close that tab, or reload it, and try again`));
    };
  });
  try {
    const db = await Promise.race([opened, blocked]);
    // A newer edgelake in another tab upgrades it: this connection steps aside (its next use says it is closed).
    db.onversionchange = () => db.close();
    return db;
  } catch (e) {
    throw isEdgelakeError(e) ? e : await openError(factory, name, version, e);
  }
}

async function openError(factory: IDBFactory, name: string, version: number, e: unknown): Promise<EdgelakeError> {
  const location = `IndexedDB "${name}"`;
  const kind = (e as { name?: string } | null)?.name;
  if (kind === 'VersionError') {
    // Only to name the version in the message: databases() is missing in older browsers.
    const found = (await factory.databases?.().catch(() => undefined))?.find((d) => d.name === name)?.version;
    return new EdgelakeError('unsupported', `${location} was written by a newer edgelake (version ${found ?? '?'} > ${version}); open another database, or delete this one`, { cause: e });
  }
  // Firefox's private mode fails the open with InvalidStateError; opaque origins throw SecurityError.
  if (kind === 'SecurityError' || kind === 'InvalidStateError') {
    return new EdgelakeError('unsupported', `${location}: IndexedDB is not available in this context (a sandboxed frame, an opaque origin or private mode)`, { cause: e });
  }
  if (isQuotaError(e)) return new EdgelakeError('storage-full', `${location}: the browser's storage quota has no room to create the database`, { cause: e });
  return new EdgelakeError('unsupported', `${location} would not open: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
}

export function isQuotaError(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'QuotaExceededError';
}
