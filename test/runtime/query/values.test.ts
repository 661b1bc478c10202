// Queries read values as NumPy does whatever their dtype (float16 as numbers, not bits), and name any tensor the format allows.
import { describe, expect, it } from 'vitest';
import { MemorySource, openDataset, query } from '../../../src/index.js';
import { commitVersion, MemorySink, TensorWriter, type Dtype } from '../../../src/format/index.js';
import { pngFolder, SIZES } from '../../support/image-folder.js';

/** float16 bits and the numbers they are, worked out by hand from IEEE binary16. */
const HALF: [number, number][] = [[0x3c00, 1], [0x4000, 2], [0x3800, 0.5], [0xbc00, -1], [0x7bff, 65504], [0x8000, -0], [0x3555, 0.333251953125], [0xfc00, -Infinity]];
const TENTHS = [0.1, 0.2, 0.3, -0.1, 1e30, 16777217, 0.5, 3];

/**
 * 8 samples: h (float16) HALF's numbers; pair (float16 [2]) [h, 2]; f (float32) TENTHS; my-tensor
 * (int32) id; version (int32) 10 * id; a.b (uint8) id % 2.
 */
async function values() {
  const sink = new MemorySink();
  const tensor = (name: string, dtype: Dtype, shape: number[] = []) => new TensorWriter(sink, name, { htype: 'generic', dtype, shape, sampleCompression: 'none', chunkCompression: 'none' }, 64);
  const [h, pair, f, mine, version, ab] = [tensor('h', 'float16'), tensor('pair', 'float16', [2]), tensor('f', 'float32'), tensor('my-tensor', 'int32'), tensor('version', 'int32'), tensor('a.b', 'uint8')];
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer);
  for (let i = 0; i < 8; i++) {
    await h.append(bytes(Uint16Array.of(HALF[i][0])));
    await pair.append(bytes(Uint16Array.of(HALF[i][0], 0x4000)));
    await f.append(bytes(Float32Array.of(TENTHS[i])));
    await mine.append(bytes(Int32Array.of(i)));
    await version.append(bytes(Int32Array.of(10 * i)));
    await ab.append(Uint8Array.of(i % 2));
  }
  const tensors = { h: await h.finish(), pair: await pair.finish(), f: await f.finish(), 'my-tensor': await mine.finish(), version: await version.finish(), 'a.b': await ab.finish() };
  await commitVersion(sink, { length: 8, splits: {}, tensors }, { name: 'values', message: 'every dtype', created: '2026-01-01T00:00:00Z' });
  return openDataset(new MemorySource(sink.files));
}
const ids = async (text: string, options?: Parameters<typeof query>[2]) => Array.from((await query(await values(), text, options)).ids);
const all = Array.from({ length: 8 }, (_, id) => id);

describe('query values as NumPy reads them', () => {
  it('compares, sorts and reduces float16 as the numbers its bits encode', async () => {
    const h = HALF.map(([, v]) => v);
    expect(await ids('select * where h > 0.75 order by h')).toEqual(all.filter((id) => h[id] > 0.75).sort((a, b) => h[a] - h[b]));
    expect(await ids('select * order by h desc limit 3')).toEqual([...all].sort((a, b) => h[b] - h[a]).slice(0, 3));
    expect(await ids('select * where mean(pair) == 1.5 or min(pair) < 0')).toEqual(all.filter((id) => (h[id] + 2) / 2 === 1.5 || h[id] < 0));
    // A learner scores float16 inputs as numbers too: this one's uncertainty is its input.
    const echo = { uncertainty: async (x: Float32Array, n: number) => x.slice(0, n) };
    expect(await ids('select * order by uncertainty desc limit 3', { learner: echo, input: 'h' })).toEqual([...all].sort((a, b) => h[b] - h[a]).slice(0, 3));
  });

  it('meets a float32 tensor and a decimal number in float32, as NumPy 2 does (np.float32(0.1) == 0.1); integers stay exact', async () => {
    const f = TENTHS.map(Math.fround);
    expect(await ids('select * where f == 0.1')).toEqual([0]);
    expect(await ids('select * where f <= 0.1 or f == 16777217')).toEqual(all.filter((id) => f[id] <= f[0] || f[id] === 16777216));
    expect(await ids('select * where f > 0.3')).toEqual(all.filter((id) => f[id] > Math.fround(0.3)));
    expect(await ids('select * where "version" == 30.000000001')).toEqual([]);
  });

  it('names tensors that are not words in double quotes, as Deep Lake TQL does', async () => {
    expect(await ids('select * where "my-tensor" > 5')).toEqual([6, 7]);
    expect(await ids('select * where "version" == 30 or "a.b" and "my-tensor" > 4 order by "my-tensor" desc')).toEqual([7, 5, 3]);
    await expect(ids("select * where 'my-tensor' > 5")).rejects.toThrow(`'my-tensor' is a string (a class name or text); write the tensor as "my-tensor" at column 16`);
  });
});

describe('samples of any shape', () => {
  it('reads a decoded image with its own shape (Deep Lake: shape(images)[0] > N), and a tensor with one extent of any size by its size', async () => {
    const { ds, pixels } = await pngFolder();
    const shapeOf = (id: number) => SIZES.find(([h, w]) => h * w * 3 === pixels.get(id)!.length)!;
    const mean = (id: number) => pixels.get(id)!.reduce((a, v) => a + v, 0) / pixels.get(id)!.length;
    const all = [...pixels.keys()].sort((a, b) => a - b);
    expect(Array.from((await query(ds, 'select * where shape(image)[0] > 10')).ids)).toEqual(all.filter((id) => shapeOf(id)[0] > 10));
    expect(Array.from((await query(ds, 'select * where shape(image)[1] == 40 or image[0, 0, 1] > 128')).ids)).toEqual(all.filter((id) => shapeOf(id)[1] === 40 || pixels.get(id)![1] > 128));
    expect(Array.from((await query(ds, 'select * order by mean(image) desc')).ids)).toEqual([...all].sort((a, b) => mean(b) - mean(a) || a - b));

    // int16 [*, 2]: sample i holds i + 1 rows, k - i for element k (its last row ends with i + 1).
    const sink = new MemorySink();
    const rows = new TensorWriter(sink, 'rows', { htype: 'generic', dtype: 'int16', shape: [null, 2], sampleCompression: 'none', chunkCompression: 'none' }, 64);
    for (let i = 0; i < 5; i++) await rows.append(new Uint8Array(Int16Array.from({ length: 2 * (i + 1) }, (_, k) => k - i).buffer));
    await commitVersion(sink, { length: 5, splits: {}, tensors: { rows: await rows.finish() } }, { name: 'rows', message: 'rows of any number', created: '2026-01-01T00:00:00Z' });
    const shaped = await openDataset(new MemorySource(sink.files));
    expect(Array.from((await query(shaped, 'select * where shape(rows)[0] >= 3 and min(rows) < -2')).ids)).toEqual([3, 4]);
    expect(Array.from((await query(shaped, 'select * where rows[-1, 1] == shape(rows)[0]')).ids)).toEqual([0, 1, 2, 3, 4]);
  });
});

it('answers shape() of a tensor of one shape from the manifest, reading none of its chunks', async () => {
  const ds = await values();
  const all = await query(ds, 'select * where shape(pair)[0] == 2');
  expect([all.ids.length, all.tensorsRead]).toEqual([8, []]);
  const some = await query(ds, 'select * where shape(pair)[-1] == 2 and "my-tensor" < 3');
  expect([Array.from(some.ids), some.tensorsRead]).toEqual([[0, 1, 2], ['my-tensor']]);
});
