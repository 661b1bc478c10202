import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSamples, transferables, type DecodeTask } from '../../../src/runtime/dataset/decode.js';
import { bytes, cases, chunkCase, djpegRgb, jpeg, meta, noCjpeg, png, rgbImage, split, type Case } from '../loader/workers/fixtures.js';
import { chunkHeaderBytes, DEFAULT_LIMITS, deflate, encodeChunk } from '../../../src/format/index.js';

let all: Case[];
beforeAll(async () => {
  all = await cases();
});
const get = (name: string) => all.find((c) => c.name === name)!;

describe('decodeSamples', () => {
  it('gives every sample back, packed with offsets, for each kind of compression', async () => {
    for (const c of all.filter((c) => c.expected)) {
      const d = await decodeSamples(c.task);
      expect(d.offsets.length, c.name).toBe(c.expected!.length + 1);
      expect(split(d), c.name).toEqual(c.expected);
      expect(d.data.length, c.name).toBe(c.expected!.reduce((a, s) => a + s.length, 0));
    }
  });

  it('without sample compression, data is the payload area of the body itself (no copy)', async () => {
    const { task } = get('raw');
    const d = await decodeSamples(task);
    expect(d.data.buffer).toBe(task.stored.buffer);
    expect(d.data.byteOffset).toBe(chunkHeaderBytes(4));
    expect(d.shapes).toBeUndefined();
  });

  it('decodes png samples to RGB with their [h, w, 3] shapes', async () => {
    const d = await decodeSamples(get('png').task);
    expect([...d.shapes!]).toEqual([4, 6, 3, 5, 3, 3, 8, 8, 3]);
  });

  it.skipIf(noCjpeg)('decodes cjpeg JPEGs, colour and gray, to the RGB samples djpeg gives', async () => {
    const [w, h] = [16, 12];
    const files = [jpeg(w, h, rgbImage(7, w, h)), jpeg(w, h, rgbImage(8, w, h), true)];
    const c = await chunkCase('jpeg', files, meta({ htype: 'image', shape: [h, w, 3], sampleCompression: 'jpeg' }));
    const d = await decodeSamples(c.task);
    expect([...d.shapes!]).toEqual([h, w, 3, h, w, 3]);
    split(d).forEach((ours, k) => expect([...ours]).toEqual([...djpegRgb(files[k])]));
  });

  // As a loader with a fit asks: each sample's box, and a JPEG decoded at the scale that box allows.
  it.skipIf(noCjpeg)('with a fit\'s crop: each JPEG decodes at the largest 1/N its box still covers, the box given on the decoded image', async () => {
    const sizes: [number, number][] = [[96, 64], [40, 24], [200, 160]];
    const files = sizes.map(([w, h], k) => jpeg(w, h, rgbImage(k + 3, w, h)));
    const c = await chunkCase('crops', files, meta({ htype: 'image', shape: [null, null, 3], sampleCompression: 'jpeg' }));
    const crop = { size: [8, 8] as const, crop: 'center' as const, seed: 1, epoch: 0, firstId: 100 };
    const d = await decodeSamples({ ...c.task, images: { crop } });
    // Centre boxes 64x64, 24x24, 160x160: 1/8 (8x8), 1/2 (12x12), 1/8 (20x20) still cover 8x8.
    expect([...d.shapes!]).toEqual([8, 12, 3, 12, 20, 3, 20, 25, 3]);
    expect([...d.boxes!]).toEqual([2, 0, 8, 8, 4, 0, 12, 12, 2, 0, 20, 20]);
    const random = await decodeSamples({ ...c.task, images: { crop: { ...crop, crop: 'random' } } });
    const again = await decodeSamples({ ...c.task, images: { crop: { ...crop, crop: 'random' } } });
    expect(random.boxes).toEqual(again.boxes); // keyed by (seed, epoch, firstId + i)
  });

  it('a bad crop option is the caller\'s error (invalid-input), not relabelled as a bad chunk', async () => {
    const crop = { size: [4, 4] as const, crop: 'random' as const, seed: -1, epoch: 0, firstId: 0 };
    for (const c of all.filter((c) => c.name === 'png' || c.name === 'jpeg')) {
      for (const images of [{ crop }, { crop, coefficients: true }]) {
        await expect(decodeSamples({ ...c.task, images }), c.name).rejects.toMatchObject({ code: 'invalid-input', message: 'fitRandom: seed must be an integer in [0, 2^32), got -1' });
      }
    }
  });

  it('with verified, skips only the SHA-256 of the stored bytes (a wrong ref.hash passes); crc32s are still checked', async () => {
    const { task } = get('chunk-deflate');
    const wrong: DecodeTask = { ...task, ref: { ...task.ref, hash: '0'.repeat(64) } };
    await expect(decodeSamples(wrong)).rejects.toMatchObject({ code: 'integrity', message: expect.stringMatching(/SHA-256/) });
    expect(split(await decodeSamples({ ...wrong, verified: true }))).toEqual(get('chunk-deflate').expected);

    const raw = get('raw').task;
    const damaged = raw.stored.slice();
    damaged[damaged.length - 1] ^= 1;
    await expect(decodeSamples({ ...raw, stored: damaged, verified: true }))
      .rejects.toMatchObject({ code: 'integrity', message: 'dataset test, tensor raw, chunk 0: sample 3 of the chunk fails its crc32 check' });
  });
});

describe('decodeSamples refuses bad samples, naming the chunk and sample', () => {
  const where = { dataset: 'd', tensor: 'image', chunk: 7 };
  const task = async (payloads: Uint8Array[], over: Parameters<typeof meta>[0], limits = DEFAULT_LIMITS): Promise<DecodeTask> => {
    const tensor = meta(over);
    const { stored, ref } = await encodeChunk(payloads, tensor.chunkCompression);
    return { stored, ref, tensor, limits, where };
  };
  const image = png(4, 4, rgbImage(1, 4, 4));

  it('a png that does not decode (its crc32 in the chunk is right)', async () => {
    const t = await task([image, image.subarray(0, 40)], { shape: [null, null, 3], sampleCompression: 'png' });
    await expect(decodeSamples(t)).rejects.toMatchObject({ code: 'invalid-chunk', message: expect.stringMatching(/^dataset d, tensor image, chunk 7: sample 1: .*truncated/) });
  });

  it('an image of another size than the tensor shape says', async () => {
    const t = await task([image, png(5, 4, rgbImage(2, 5, 4))], { shape: [4, 4, 3], sampleCompression: 'png' });
    await expect(decodeSamples(t)).rejects.toMatchObject({ code: 'invalid-chunk', message: 'dataset d, tensor image, chunk 7: sample 1 decodes to 4x5x3, but the tensor\'s shape says 4x4x3' });
  });

  it('an image over the pixel limit that maxInflatedBytes implies', async () => {
    const t = await task([image], { shape: [null, null, 3], sampleCompression: 'png' }, { ...DEFAULT_LIMITS, maxInflatedBytes: 40 });
    await expect(decodeSamples(t)).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/chunk 7: sample 0/) });
  });

  it('a deflate sample of the wrong size, and samples that together inflate past the limit', async () => {
    const wrong = await task([deflate(bytes(1, 12)), deflate(bytes(2, 11))], { shape: [12], sampleCompression: 'deflate' });
    await expect(decodeSamples(wrong)).rejects.toMatchObject({ code: 'invalid-chunk', message: expect.stringMatching(/chunk 7: sample 1 has 11 bytes/) });
    // Each sample is under the limit; the three together are not.
    const many = await task([0, 1, 2].map((i) => deflate(new Uint8Array(100).fill(i))), { shape: [null], sampleCompression: 'deflate' }, { ...DEFAULT_LIMITS, maxInflatedBytes: 250 });
    await expect(decodeSamples(many)).rejects.toMatchObject({ code: 'limit', message: expect.stringMatching(/chunk 7: sample 2: inflates to more than 50 bytes/) });
  });
});

describe('transferables', () => {
  it('copies views into buffers of their own, so a transfer ships and detaches only the samples', async () => {
    const { task } = get('raw');
    const d = await decodeSamples(task);
    const samples = split(d);
    const list = transferables(d);
    expect(list).toEqual([d.data.buffer, d.offsets.buffer]);
    expect(d.data.buffer).not.toBe(task.stored.buffer);
    expect(list.map((b) => b.byteLength)).toEqual([4 * 12, 5 * 4]);
    expect(split(d)).toEqual(samples);
  });

  it('leaves buffers that are already whole as they are, shapes included', async () => {
    const d = await decodeSamples(get('png').task);
    const before = [d.data, d.offsets, d.shapes];
    expect(transferables(d)).toEqual(before.map((a) => a!.buffer));
    expect([d.data, d.offsets, d.shapes]).toEqual(before);
    expect(d.data).toBe(before[0]);
  });
});
