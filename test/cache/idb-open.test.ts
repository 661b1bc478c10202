import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { IdbChunkStore, isEdgelakeError } from '../../src/index.js';

/** An IDBFactory whose open() throws `error`, as Chromium's does in a sandboxed frame or an opaque origin. */
function throwingFactory(error: DOMException): IDBFactory {
  return { open: () => { throw error; } } as unknown as IDBFactory;
}

/** An IDBFactory whose open request fails with `error`, as Firefox's does in private mode. */
function failingFactory(error: DOMException): IDBFactory {
  return {
    open: () => {
      const request = { error, result: undefined } as unknown as IDBOpenDBRequest & { onerror?: () => void };
      setTimeout(() => request.onerror?.());
      return request;
    },
  } as unknown as IDBFactory;
}

async function openError(name: string, indexedDB: IDBFactory): Promise<unknown> {
  return IdbChunkStore.open(name, { indexedDB, storage: null }).then(() => 'opened', (e: unknown) => e);
}

describe('IdbChunkStore.open when IndexedDB will not open', () => {
  it('a database written by a newer edgelake: unsupported, naming the database and both versions', async () => {
    const factory = new IDBFactory();
    const request = factory.open('future', 5);
    await new Promise((r) => (request.onsuccess = r));
    request.result.close();
    const error = await openError('future', factory);
    expect(isEdgelakeError(error, 'unsupported'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/IndexedDB "future" was written by a newer edgelake \(version 5 > 1\)/);
    expect((error as Error).cause).toMatchObject({ name: 'VersionError' });
  });

  it('a sandboxed frame (open throws SecurityError) or private mode (InvalidStateError): unsupported, saying IndexedDB is not available', async () => {
    const security = new DOMException('access to the Indexed Database API is denied in this context.', 'SecurityError');
    const invalid = new DOMException('A mutation operation was attempted on a database that did not allow mutations.', 'InvalidStateError');
    for (const [factory, cause] of [[throwingFactory(security), security], [failingFactory(invalid), invalid]] as const) {
      const error = await openError('sandboxed', factory);
      expect(isEdgelakeError(error, 'unsupported'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/IndexedDB "sandboxed": IndexedDB is not available in this context \(a sandboxed frame, an opaque origin or private mode\)/);
      expect((error as Error).cause).toBe(cause);
    }
  });

  it('no IndexedDB at all: unsupported, saying so', async () => {
    const global = globalThis as { indexedDB?: IDBFactory };
    expect(global.indexedDB).toBeUndefined();
    const error = await IdbChunkStore.open('none', { storage: null }).catch((e: unknown) => e);
    expect(isEdgelakeError(error, 'unsupported'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/IndexedDB "none": IndexedDB is not available in this environment/);
  });
});
