import { Gunzip } from 'fflate';
import { EdgelakeError } from '../../errors.js';
import { concatBytes } from '../inflate.js';

/** An IDX array (the MNIST file format): big-endian dims, then unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const MAX_IDX_BYTES = 2 ** 31;
/** Compressed bytes fed at a time: a bomb is stopped within one step's output. */
const STEP = 64 << 10;

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
  // The trailer's size is mod 2^32 and only the last member's (pigz and `cat a.gz b.gz` write
  // several): inflate every member, in steps, stopping past the limit rather than trusting it.
  const parts: Uint8Array[] = [];
  let total = 0;
  const gunzipper = new Gunzip((piece) => {
    total += piece.length;
    if (total > MAX_IDX_BYTES) throw new EdgelakeError('limit', `${name}: inflates to more than ${MAX_IDX_BYTES} bytes, too large`);
    parts.push(piece);
  });
  try {
    if (file.length < 18) throw new Error('shorter than a gzip header and trailer');
    for (let at = 0; at < file.length; at += STEP) gunzipper.push(file.subarray(at, at + STEP), at + STEP >= file.length);
  } catch (e) {
    if (e instanceof EdgelakeError) throw e;
    throw new EdgelakeError('invalid-input', `${name}: corrupt or truncated gzip (${(e as Error).message})`, { cause: e });
  }
  return concatBytes(parts, total);
}
