import { describe, expect, it } from 'vitest';
import { type TensorMeta } from '../../src/index.js';
import { chunkHeaderBytes, crc32, decodeChunk, decodeSamplePayload, DEFAULT_LIMITS, deflate, encodeChunk, sha256Hex, verifyChunkHeader, verifySamplePayload } from '../../src/format/index.js';

const where = { dataset: 'test', tensor: 'x' };
const meta = (over: Partial<TensorMeta> = {}): TensorMeta => ({
  htype: 'generic', dtype: 'uint8', shape: [3], sampleCompression: 'none', chunkCompression: 'none', chunks: [], ...over,
});
const samples = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6]), new Uint8Array([7, 8, 9])];

describe('chunk encoding', () => {
  it('lays out magic, count, flags, offsets, crc32s and payloads as FORMAT.md says', async () => {
    const { stored, ref } = await encodeChunk(samples, 'none');
    const view = new DataView(stored.buffer);
    expect(new TextDecoder().decode(stored.subarray(0, 4))).toBe('ELC1');
    expect([view.getUint32(4, true), view.getUint32(8, true)]).toEqual([3, 0]);
    expect([0, 1, 2, 3].map((i) => view.getUint32(12 + 4 * i, true))).toEqual([0, 3, 6, 9]);
    expect(view.getUint32(12 + 16, true)).toBe(crc32(samples[0]));
    const P = chunkHeaderBytes(3);
    expect(P).toBe(12 + 16 + 12);
    expect([...stored.subarray(P)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ref).toEqual({ hash: await sha256Hex(stored), bytes: stored.length, samples: 3, headerHash: await sha256Hex(stored.subarray(0, P)) });
  });

  it('crc32 matches the IEEE check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips with and without chunk-level DEFLATE', async () => {
    for (const compression of ['none', 'deflate'] as const) {
      const { stored, ref } = await encodeChunk(samples, compression);
      const chunk = await decodeChunk(stored, ref, meta({ chunkCompression: compression }), DEFAULT_LIMITS, where);
      expect([0, 1, 2].map((i) => [...chunk.payload(i)])).toEqual(samples.map((s) => [...s]));
    }
  });

  it('reads single samples from a header and a byte range, as a remote range reader would', async () => {
    const { stored, ref } = await encodeChunk(samples, 'none');
    const header = await verifyChunkHeader(stored.subarray(0, chunkHeaderBytes(3)), ref, where);
    const at = header.payloadStart + header.offsets[1];
    expect([...verifySamplePayload(header, 1, stored.subarray(at, at + 3), where)]).toEqual([4, 5, 6]);
    expect(() => verifySamplePayload(header, 1, new Uint8Array([4, 5, 7]), where)).toThrow(/sample 1 of the chunk fails its crc32/);
  });

  it('inflates per-sample DEFLATE payloads to exactly the declared size', async () => {
    const t = meta({ sampleCompression: 'deflate', shape: [3] });
    expect([...decodeSamplePayload(deflate(samples[0]), t, DEFAULT_LIMITS, where)]).toEqual([1, 2, 3]);
    expect(() => decodeSamplePayload(deflate(new Uint8Array(4)), t, DEFAULT_LIMITS, where)).toThrow(/more than 3 bytes/);
  });
});

describe('chunk decoding refuses bad bytes, naming the chunk', () => {
  it('a truncated chunk', async () => {
    const { stored, ref } = await encodeChunk(samples, 'none');
    await expect(decodeChunk(stored.subarray(0, stored.length - 1), ref, meta(), DEFAULT_LIMITS, where))
      .rejects.toMatchObject({ code: 'integrity', message: expect.stringMatching(/tensor x.*truncated/) });
  });

  it('a flipped byte', async () => {
    const { stored, ref } = await encodeChunk(samples, 'none');
    stored[stored.length - 1] ^= 1;
    await expect(decodeChunk(stored, ref, meta(), DEFAULT_LIMITS, where)).rejects.toMatchObject({ code: 'integrity' });
  });

  it('a chunk whose hash is right but whose payload breaks its crc32', async () => {
    const { stored } = await encodeChunk(samples, 'none');
    stored[stored.length - 1] ^= 1;
    const ref = { hash: await sha256Hex(stored), bytes: stored.length, samples: 3, headerHash: await sha256Hex(stored.subarray(0, chunkHeaderBytes(3))) };
    await expect(decodeChunk(stored, ref, meta(), DEFAULT_LIMITS, where)).rejects.toThrow(/sample 2 of the chunk fails its crc32/);
  });

  it('a sample whose size disagrees with shape and dtype', async () => {
    const { stored, ref } = await encodeChunk([new Uint8Array(2), new Uint8Array(4)], 'none');
    await expect(decodeChunk(stored, ref, meta({ shape: [3] }), DEFAULT_LIMITS, where)).rejects.toThrow(/sample 0 has 2 bytes; shape and dtype say 3/);
  });

  it('a deflate bomb, stopped at the size the manifest implies', async () => {
    const body = new Uint8Array(64 << 20); // 64 MiB of zeros deflate to about 64 KiB
    const stored = deflate(body);
    const ref = { hash: await sha256Hex(stored), bytes: stored.length, samples: 3, headerHash: '0'.repeat(64) };
    // 3 samples of 3 bytes: the body cannot exceed 49 bytes, so inflation stops right there.
    await expect(decodeChunk(stored, ref, meta({ chunkCompression: 'deflate' }), DEFAULT_LIMITS, where))
      .rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/tensor x.*more than 49 bytes/) });
  });

  it('a header that claims more samples than the manifest', async () => {
    const { stored, ref } = await encodeChunk(samples, 'none');
    await expect(decodeChunk(stored, { ...ref, samples: 2 }, meta(), DEFAULT_LIMITS, where)).rejects.toThrow(/holds 3 samples, but the manifest says 2/);
  });
});
