import { gunzipSync } from 'fflate';
import { EdgelakeError } from '../../errors.js';

/** An IDX array (the MNIST file format): big-endian dims, then unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const MAX_IDX_BYTES = 2 ** 31;

/** Parses an IDX file of unsigned bytes (type 0x08), gunzipping it first if it is gzipped. */
export function parseIdx(file: Uint8Array, name: string): IdxArray {
  const bytes = file[0] === 0x1f && file[1] === 0x8b ? gunzip(file, name) : file;
  const fail = (problem: string): never => {
    throw new EdgelakeError('invalid-input', `${name}: ${problem}`);
  };
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) fail('is not an IDX file (bad magic)');
  if (bytes[2] !== 0x08) fail(`has IDX type 0x${bytes[2].toString(16)}; only unsigned bytes (0x08) are supported`);
  const ndim = bytes[3];
  if (ndim < 1 || bytes.length < 4 + 4 * ndim) fail('has a truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, d) => a * d, 1);
  const start = 4 + 4 * ndim;
  if (bytes.length - start !== size) fail(`declares ${dims.join('x')} = ${size} bytes of data but holds ${bytes.length - start}`);
  return { dims, data: bytes.subarray(start) };
}

function gunzip(file: Uint8Array, name: string): Uint8Array {
  // gzip's trailer holds the inflated size mod 2^32: refuse absurd sizes before allocating.
  const isize = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(file.length - 4, true);
  if (isize > MAX_IDX_BYTES) throw new EdgelakeError('limit', `${name}: inflates to ${isize} bytes, too large`);
  try {
    return gunzipSync(file, { out: new Uint8Array(isize) });
  } catch (e) {
    throw new EdgelakeError('invalid-input', `${name}: corrupt gzip (${(e as Error).message})`, { cause: e });
  }
}
