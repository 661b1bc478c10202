import { EdgelakeError } from '../../errors.js';

/** A regular file in a tar archive: where its header and its data lie in the archive. */
export interface TarMember {
  name: string;
  headerOffset: number;
  dataOffset: number;
  size: number;
}

const BLOCK = 512;
const decoder = new TextDecoder();

/**
 * The regular files of a tar archive (ustar, GNU long names, pax `path` records: what Python's
 * tarfile and GNU tar write), in archive order. Directories, links and global headers are
 * skipped; a header whose checksum fails, or a member that runs past the end, is refused by offset.
 */
export function* tarMembers(archive: Uint8Array, name = 'archive'): Generator<TarMember> {
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return; // the end: two zero blocks (one is enough to stop)
    if (checksum(header) !== octal(header, 148, 8)) throw new EdgelakeError('invalid-input', `${name}: the tar header at byte ${at} has a wrong checksum (not a tar file, or damaged)`);
    const size = sizeOf(header);
    const dataOffset = at + BLOCK;
    if (dataOffset + size > archive.length) throw new EdgelakeError('invalid-input', `${name}: the member at byte ${at} needs ${size} bytes, the archive ends at ${archive.length}`);
    const type = String.fromCharCode(header[156] || 48);
    const data = archive.subarray(dataOffset, dataOffset + size);
    if (type === 'L') longName = cString(data);
    else if (type === 'x') longName = paxPath(data) ?? longName;
    else if (type === '0' || type === '7') {
      yield { name: longName ?? ustarName(header), headerOffset: at, dataOffset, size };
      longName = undefined;
    } else longName = undefined; // directories, links, global pax headers: nothing to read
    at = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
}

function ustarName(h: Uint8Array): string {
  const name = cString(h.subarray(0, 100));
  const prefix = decoder.decode(h.subarray(257, 262)) === 'ustar' ? cString(h.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return decoder.decode(end < 0 ? b : b.subarray(0, end));
}

function octal(h: Uint8Array, offset: number, length: number): number {
  const text = cString(h.subarray(offset, offset + length)).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Sizes over 8 GiB are base-256 (GNU): the high bit of the first byte set. */
function sizeOf(h: Uint8Array): number {
  if (!(h[124] & 0x80)) return octal(h, 124, 12);
  let size = h[124] & 0x7f;
  for (let i = 125; i < 136; i++) size = size * 256 + h[i];
  return size;
}

/** The sum of the header's bytes with the checksum field read as spaces. */
function checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return sum;
}

/** The `path` record of a pax extended header ("LEN path=VALUE\n" records, LEN counting bytes, VALUE UTF-8). */
function paxPath(data: Uint8Array): string | undefined {
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at);
    const length = Number(decoder.decode(data.subarray(at, space)));
    if (!(space > at && length > 0)) return undefined;
    const record = data.subarray(space + 1, at + length - 1); // LEN covers the whole record, its newline too
    if (decoder.decode(record.subarray(0, 5)) === 'path=') return decoder.decode(record.subarray(5));
    at += length;
  }
  return undefined;
}
