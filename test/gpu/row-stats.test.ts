import { expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { rowStatsOnDevice, rowStatsRef } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

function randomRows(rows: number, size: number, salt: number): Uint8Array {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  // Some rows narrow (min and max close), some spanning 0..255.
  return Uint8Array.from({ length: rows * size }, (_, i) => {
    const narrow = Math.floor(i / size) % 3 === 0;
    return narrow ? 100 + Math.floor(random() * 8) : Math.floor(random() * 256);
  });
}

function onCpu(values: Uint8Array, rows: number, size: number): Uint32Array {
  const output = new Uint32Array(3 * rows);
  rowStatsRef({ input: values, rows, size, output });
  return output;
}

gpuDescribe('rowStats (sum, min, max of uint8 rows) on the GPU equals its CPU reference', ({ device }) => {
  // Row sizes not a multiple of 4 put rows across u32 words; 784 is a Fashion-MNIST image, 3072 a 32x32 RGB thumbnail.
  test.each([[1, 1], [3, 5], [7, 63], [64, 64], [33, 65], [257, 784], [40, 3072], [2, 100_003]])('%i rows of %i', async (rows, size) => {
    const values = randomRows(rows, size, rows * 7919 + size);
    expect([...(await rowStatsOnDevice(device, values, rows, size))], `seed ${seed}`).toEqual([...onCpu(values, rows, size)]);
  });

  test('all 255s: the largest sums stay exact', async () => {
    const values = new Uint8Array(4 * 70_000).fill(255);
    const stats = await rowStatsOnDevice(device, values, 4, 70_000);
    expect([...stats.subarray(0, 3)]).toEqual([255 * 70_000, 255, 255]);
  });

  test('a row longer than a u32 sum allows is refused by name', async () => {
    await expect(rowStatsOnDevice(device, new Uint8Array(4), 1, 2 ** 25)).rejects.toThrow(/rowStats: size must be an integer in \[1, 16843009\]/);
  });
});
