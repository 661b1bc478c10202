import { isEdgelakeError } from '../errors.js';
import { CorruptTransferError } from './retry.js';
import type { ByteRange, ReadOptions, Source } from './source.js';

/** Checks a whole file's bytes (e.g. against the hash its name carries); throws to refuse them. */
export type VerifyFile = (path: string, bytes: Uint8Array, location: string) => Promise<void>;

/**
 * Every whole-file read of `source` passes `verify`, and any read the check its caller gave
 * (ReadOptions.check: a range's crc32, a header's hash), before it goes further up the chain.
 * Bytes that fail were damaged in transit (CorruptTransferError): a retry layer above fetches
 * them again.
 */
export function withVerify(source: Source, verify: VerifyFile): Source {
  const checked = async (bytes: Uint8Array, options: ReadOptions | undefined) => {
    if (options?.check) await damagedInTransit(() => options.check!(bytes));
    return bytes;
  };
  const readRanges = source.readRanges?.bind(source);
  return {
    location: source.location,
    async read(path: string, options?: ReadOptions) {
      const bytes = await source.read(path, options);
      await damagedInTransit(() => verify(path, bytes, source.location));
      return checked(bytes, options);
    },
    readRange: async (path: string, offset: number, length: number, options?: ReadOptions) => checked(await source.readRange(path, offset, length, options), options),
    ...(readRanges && { readRanges: async (path: string, ranges: readonly ByteRange[], options?: ReadOptions) => checked(await readRanges(path, ranges, options), options) }),
  };
}

/** An integrity failure of bytes just read becomes a CorruptTransferError (transient); others pass as they are. */
async function damagedInTransit(check: () => unknown): Promise<void> {
  try {
    await check();
  } catch (e) {
    throw isEdgelakeError(e, 'integrity') && !(e instanceof CorruptTransferError) ? new CorruptTransferError(e.message, { cause: e }) : e;
  }
}
