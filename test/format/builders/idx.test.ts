// parseIdx reads IDX files as MNIST ships them, gzipped or not, and says what is wrong with one that is not.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildIdx, MemorySink, parseIdx } from '../../../src/format/index.js';
import { failure } from '../../support/errors.js';

/** An IDX file of unsigned bytes with these dims and values 0, 1, 2, ... */
function idx(dims: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d, false));
  const size = dims.reduce((a, d) => a * d, 1);
  return new Uint8Array(Buffer.concat([header, Uint8Array.from({ length: size }, (_, i) => i & 255)]));
}

describe('parseIdx', () => {
  const file = idx([5, 4, 3]);

  it('reads a plain or gzipped file, and one gzipped in several members (pigz, cat a.gz b.gz)', () => {
    const plain = parseIdx(file, 'images');
    expect(plain.dims).toEqual([5, 4, 3]);
    expect(parseIdx(gzipSync(file), 'images.gz')).toEqual(plain);
    const members = Buffer.concat([gzipSync(file.subarray(0, 20)), gzipSync(file.subarray(20))]);
    expect(parseIdx(members, 'images.gz')).toEqual(plain);
  });

  it('says a cut or tiny gzip is corrupt or truncated, not too large', () => {
    const zipped = gzipSync(file);
    expect(failure(() => parseIdx(zipped.subarray(0, zipped.length - 9), 'cut.gz'))).toMatch(/^invalid-input: cut\.gz: corrupt or truncated gzip/);
    expect(failure(() => parseIdx(Uint8Array.of(0x1f, 0x8b), 'tiny.gz'))).toBe('invalid-input: tiny.gz: corrupt or truncated gzip (shorter than a gzip header and trailer)');
  });
});

describe('buildIdx', () => {
  it('refuses a probe of images too large to fit a PCA on, before it writes anything', async () => {
    const sink = new MemorySink();
    const train = { images: idx([2, 65, 65]), labels: idx([2]) };
    await expect(buildIdx(sink, { train, embeddingDims: 1, created: '2026-12-07T00:00:00Z' })).rejects.toThrow('images of 65x65 pixels are too large for a PCA probe (at most 4096 pixels)');
    expect(sink.files.size).toBe(0);
  });
});
