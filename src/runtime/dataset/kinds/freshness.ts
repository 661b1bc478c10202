import { EdgelakeError, isEdgelakeError } from '../../../errors.js';
import type { Source } from '../../../source/source.js';

/** What a file's storage said of it when it was indexed: its validator (an ETag; a local file's identity, size and mtime) at a location. */
export interface FileValidator {
  at: string;
  value: string;
}

/** A file as an index lists it. */
export interface IndexedFile {
  name: string;
  bytes: number;
  validator?: FileValidator;
}

/**
 * Refuses, by name, a file changed since it was indexed, before anything of the index (labels and
 * lengths kept in it) is used: where the index holds the file's validator from this same location,
 * the storage is asked whether it still holds (no bytes move); otherwise its last byte must be
 * where the index says (a file cut short). One request a file.
 */
export async function checkUnchanged(pattern: string, files: Source, listed: IndexedFile[]): Promise<void> {
  const changed = (name: string, how: string, cause?: unknown) => new EdgelakeError('integrity', `${pattern}: ${name} changed since it was indexed (${how}); run edgelake index again`, { cause });
  await Promise.all(listed.map(async (f) => {
    if (f.validator?.at === files.location) {
      try {
        await files.read(f.name, { ifChanged: f.validator.value, maxBytes: 0 });
      } catch (e) {
        if (isEdgelakeError(e, 'not-modified')) return;
        throw isEdgelakeError(e, 'limit') ? changed(f.name, `it was ${f.validator.value}`, e) : e;
      }
      throw changed(f.name, 'it is empty now');
    }
    if (f.bytes === 0) return;
    await files.readRange(f.name, f.bytes - 1, 1).catch((e: unknown) => {
      throw isEdgelakeError(e, 'source') && / needs \d+/.test(e.message) ? changed(f.name, `it is shorter than the ${f.bytes} bytes indexed`, e) : e;
    });
  }));
}
