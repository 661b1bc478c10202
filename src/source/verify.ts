import type { ReadOptions, Source } from './source.js';

/** Checks a whole file's bytes (e.g. against the hash its name carries); throws to refuse them. */
export type VerifyFile = (path: string, bytes: Uint8Array, location: string) => Promise<void>;

/**
 * Every whole-file read of `source` passes `verify` before it goes further up the chain. Range
 * reads pass as they are: a part cannot be checked against the whole file's name.
 */
export function withVerify(source: Source, verify: VerifyFile): Source {
  return {
    location: source.location,
    async read(path: string, options?: ReadOptions) {
      const bytes = await source.read(path, options);
      await verify(path, bytes, source.location);
      return bytes;
    },
    readRange: (path: string, offset: number, length: number, options?: ReadOptions) => source.readRange(path, offset, length, options),
  };
}
