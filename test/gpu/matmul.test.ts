import { afterAll, expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { encodeMatmul, type MatmulArgs, matmulRef, matmulTiling, type MatmulTiling, readBuffer, STAGED_MATMUL_TILING, uploadBuffer } from '../../src/kernels/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = -7777; // fills out past m x n: the kernel must not write there

type Case = Omit<MatmulArgs<Float32Array>, 'a' | 'b' | 'out' | 'bias'> & { bias?: boolean };
const TILINGS: Record<string, MatmulTiling | undefined> = {
  auto: undefined, // matmulTiling: 'direct' on CPU adapters such as lavapipe
  staged: STAGED_MATMUL_TILING,
  'staged 2x4 blocks, 8-deep': { kind: 'staged', wgX: 8, wgY: 16, rows: 2, cols: 4, tileK: 8 },
  'direct 3x5 blocks': { kind: 'direct', wgX: 4, wgY: 1, rows: 3, cols: 5, tileK: 1 },
};

function random(salt: number): () => number {
  return mulberry32(seed ^ Math.imul(salt + 1, 0x9e3779b1));
}
const uniform = (rnd: () => number, length: number) => Float32Array.from({ length }, () => rnd() * 2 - 1);

/** Upload, record into one pass, submit, read back; every buffer destroyed. */
async function matmulOnGpu(device: GPUDevice, args: MatmulArgs<Float32Array>, tiling?: MatmulTiling): Promise<Float32Array> {
  const { STORAGE, COPY_SRC } = GPUBufferUsage;
  const upload = (label: string, data: Float32Array) => uploadBuffer(device, label, STORAGE, data);
  const [a, b] = [upload('test a', args.a), upload('test b', args.b)];
  const bias = args.bias && upload('test bias', args.bias);
  const outData = new Float32Array(args.m * args.n + 3).fill(SENTINEL);
  outData.set(args.out.subarray(0, args.m * args.n));
  const out = uploadBuffer(device, 'test out', STORAGE | COPY_SRC, outData);
  try {
    const encoder = device.createCommandEncoder({ label: 'matmul test' });
    const pass = encoder.beginComputePass({ label: 'matmul test' });
    const transients = encodeMatmul(device, pass, { ...args, a, b, out, bias, tiling });
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Float32Array(await readBuffer(device, out, out.size));
    expect([...all.subarray(args.m * args.n)], 'values past m x n').toEqual([SENTINEL, SENTINEL, SENTINEL]);
    return all.subarray(0, args.m * args.n);
  } finally {
    for (const buffer of [a, b, bias, out]) buffer?.destroy();
  }
}

/** max |gpu - cpu| / (sum_k |a||b| + |bias| + |out| if accumulating): error relative to the terms summed. */
const worst: Record<string, number> = {};
async function expectMatchesReference(device: GPUDevice, c: Case, tilingName: string, salt: number, tiling = TILINGS[tilingName]): Promise<void> {
  const rnd = random(salt);
  const { m, n, k } = c;
  const a = uniform(rnd, m * k);
  const b = uniform(rnd, k * n);
  const bias = c.bias ? uniform(rnd, n) : undefined;
  const start = c.accumulate ? uniform(rnd, m * n) : new Float32Array(m * n).fill(NaN); // NaN: every element must be written
  const expected = new Float32Array(m * n).fill(0);
  if (c.accumulate) expected.set(start);
  matmulRef({ ...c, a, b, bias, out: expected });
  const scale = c.accumulate ? start.map(Math.abs) : new Float32Array(m * n);
  matmulRef({ ...c, activation: 'none', a: a.map(Math.abs), b: b.map(Math.abs), bias: bias?.map(Math.abs), out: scale });
  const actual = await matmulOnGpu(device, { ...c, a, b, bias, out: start }, tiling);
  let error = 0;
  for (let i = 0; i < m * n; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(scale[i], 1e-30);
    error = Number.isNaN(e) ? Infinity : Math.max(error, e);
  }
  worst[tilingName] = Math.max(worst[tilingName] ?? 0, error);
  expect(error, `${JSON.stringify(c)} with ${tilingName} tiling, seed ${seed}`).toBeLessThan(1e-5);
}
afterAll(() => console.log(`matmul: max error GPU vs CPU per tiling ${JSON.stringify(worst)} (seed ${seed})`));

// m x n x k: one element, odd edges, exact tiles, a 784-256 layer's shapes, 10 classes, long k.
const SHAPES = [[1, 1, 1], [33, 17, 65], [64, 64, 16], [65, 63, 130], [64, 256, 784], [784, 128, 64], [256, 10, 128], [5, 3, 3000]];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]];

gpuDescribe('matmul on the GPU equals its CPU reference', ({ device }) => {
  const cases = Object.keys(TILINGS).flatMap((tiling, t) =>
    SHAPES.flatMap(([m, n, k], s) => TRANSPOSES.map(([transA, transB], x) => ({ tiling, m, n, k, transA, transB, salt: t * 1000 + s * 10 + x }))),
  );
  test.each(cases)('$tiling tiling: $m x $n x $k, transA $transA, transB $transB', async ({ tiling, salt, ...c }) => {
    await expectMatchesReference(device, c, tiling, salt);
  });

  const epilogues: { name: string; c: Omit<Case, 'm' | 'n' | 'k'> }[] = [
    { name: 'bias', c: { bias: true } },
    { name: 'bias + relu', c: { bias: true, activation: 'relu' } },
    { name: 'relu', c: { activation: 'relu', transA: true } },
    { name: 'accumulate', c: { accumulate: true, transB: true } },
  ];
  const epilogueCases = Object.keys(TILINGS).flatMap((tiling, t) => epilogues.flatMap((e, i) =>
    [[33, 17, 65], [128, 256, 96]].map(([m, n, k], s) => ({ tiling, name: e.name, m, n, k, c: e.c, salt: 50_000 + t * 100 + i * 10 + s }))));
  test.each(epilogueCases)('$tiling tiling: $name, $m x $n x $k', async ({ tiling, m, n, k, c, salt }) => {
    await expectMatchesReference(device, { m, n, k, ...c }, tiling, salt);
  });

  test('k = 0 writes the bias through the activation', async () => {
    const out = await matmulOnGpu(device, { a: new Float32Array(1), b: new Float32Array(1), out: new Float32Array(6), m: 2, n: 3, k: 0, bias: new Float32Array([1, -2, 3]), activation: 'relu' });
    expect([...out]).toEqual([1, 0, 3, 1, 0, 3]);
  });

  test.each(Object.keys(TILINGS))('%s tiling: relu passes NaN on, as its CPU reference (Math.max) and PyTorch do', async (tilingName) => {
    const rnd = random(99);
    const [m, n, k] = [5, 7, 9];
    const a = uniform(rnd, m * k);
    a[2 * k + 4] = NaN; // row 2 diverged: every output of it is NaN, relu or not
    const args = { a, b: uniform(rnd, k * n), bias: uniform(rnd, n), m, n, k, activation: 'relu' as const };
    const expected = new Float32Array(m * n);
    matmulRef({ ...args, out: expected });
    const actual = await matmulOnGpu(device, { ...args, out: new Float32Array(m * n) }, TILINGS[tilingName]);
    expect(Array.from(actual, Number.isNaN)).toEqual(Array.from(expected, Number.isNaN));
    expect(Array.from(expected, Number.isNaN).filter(Boolean)).toHaveLength(n);
  });

  test('more than 65535 tiles wrap into a 2-D grid', async () => {
    // 300 x 300 one-element tiles: 90000 workgroups.
    const tiny: MatmulTiling = { kind: 'direct', wgX: 1, wgY: 1, rows: 1, cols: 1, tileK: 1 };
    await expectMatchesReference(device, { m: 300, n: 300, k: 3 }, '1x1 tiles', 99, tiny);
  });

  test('the automatic tiling is direct on CPU adapters and staged elsewhere, narrower for 10 classes', () => {
    const cpu = device.adapterInfo.isFallbackAdapter || device.adapterInfo.architecture === 'software';
    expect(matmulTiling(device, 256, 256).kind).toBe(cpu ? 'direct' : 'staged');
    if (cpu) expect(matmulTiling(device, 256, 10).cols).toBeLessThan(matmulTiling(device, 256, 256).cols);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const buffer = (label: string, size: number, usage = STORAGE) => device.createBuffer({ label, size, usage });
    const [a, b, out, bias, shortBias, mapped] = [
      buffer('a 2x3', 24), buffer('b 3x2', 24), buffer('out 2x2', 16), buffer('bias 2', 8), buffer('bias 1', 4), buffer('not storage', 64, COPY_DST),
    ];
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const ok: MatmulArgs<GPUBuffer> = { a, b, out, m: 2, n: 2, k: 3 };
    const bad: (Partial<MatmulArgs<GPUBuffer>> & { tiling?: MatmulTiling })[] = [
      { m: 3 }, // a holds 2 x 3
      { k: -1 },
      { n: 2.5 },
      { out: mapped },
      { out: a },
      { bias: shortBias }, // n = 2 needs 2 floats
      { accumulate: true, bias },
      { accumulate: true, activation: 'relu' },
      { activation: 'tanh' as 'relu' },
      { tiling: { ...STAGED_MATMUL_TILING, cols: 9 } },
      { tiling: { ...STAGED_MATMUL_TILING, wgX: 64, wgY: 64 } },
      { tiling: { kind: 'direct', wgX: 8, wgY: 2, rows: 8, cols: 8, tileK: 1 } },
    ];
    for (const change of bad) {
      const record = () => encodeMatmul(device, pass, { ...ok, ...change });
      expect(record, Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    pass.end();
    for (const x of [a, b, out, bias, shortBias, mapped]) x.destroy();
  });

  test("a binding larger than the device's storage binding limit is a 'limit' error", () => {
    const limit = device.limits.maxStorageBufferBindingSize;
    if (device.limits.maxBufferSize < limit + 16) return; // no such buffer on this device
    const { STORAGE } = GPUBufferUsage;
    const big = device.createBuffer({ label: 'past the binding limit', size: limit + 16, usage: STORAGE });
    const [small, out] = [16, 16].map((size, i) => device.createBuffer({ label: `small ${i}`, size, usage: STORAGE }));
    const encoder = device.createCommandEncoder({ label: 'limit' });
    const pass = encoder.beginComputePass({ label: 'limit' });
    const record = () => encodeMatmul(device, pass, { a: big, b: small, out, m: 1, n: 1, k: limit / 4 + 1 });
    expect(record).toThrow(expect.objectContaining({ code: 'limit' }));
    pass.end();
    for (const x of [big, small, out]) x.destroy();
  });
});
