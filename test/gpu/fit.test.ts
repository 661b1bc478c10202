import { expect, test } from 'vitest';
import { encodeFit, fitRef, readBuffer, uploadBuffer, type FitArgs, type FitOptions, type FitSample } from '../../src/kernels/index.js';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const SENTINEL = 0xa5; // fills the output past the batch: the kernel must not write there
const PAST = 13; // sentinel bytes after the batch, so the last word may be partial

type Size = [number, number];

/** Images of the given sizes back to back, 0..7 bytes apart (offsets need no alignment), each with a random box. */
function randomBatch(random: () => number, sizes: Size[], channels: number, out: Size, pixelStride = channels): { bytes: Uint8Array; options: FitOptions } {
  let end = Math.floor(random() * 8);
  const samples: FitSample[] = sizes.map(([width, height]) => {
    const [w, h] = [1 + Math.floor(random() * width), 1 + Math.floor(random() * height)];
    const whole = random() < 0.3;
    const box = whole ? { x: 0, y: 0, w: width, h: height } : { x: Math.floor(random() * (width - w + 1)), y: Math.floor(random() * (height - h + 1)), w, h };
    const sample = { offset: end, width, height, box };
    end += width * height * pixelStride + Math.floor(random() * 8);
    return sample;
  });
  const bytes = Uint8Array.from({ length: end + 4 }, () => Math.floor(random() * 256));
  return { bytes, options: { channels, pixelStride, width: out[0], height: out[1], samples } };
}

/** Upload, record into one pass, submit, read back: the whole round trip a caller does. */
async function fitOnGpu(device: GPUDevice, bytes: Uint8Array, options: FitOptions, workgroupSize?: number): Promise<Uint8Array> {
  const total = options.samples.length * options.width * options.height * options.channels;
  const input = uploadBuffer(device, 'test images', GPUBufferUsage.STORAGE, bytes);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
  const output = uploadBuffer(device, 'test fitted', usage, new Uint8Array(Math.ceil((total + PAST) / 4) * 4).fill(SENTINEL));
  try {
    const encoder = device.createCommandEncoder({ label: 'fit test' });
    const pass = encoder.beginComputePass({ label: 'fit test' });
    const args: FitArgs = { ...options, input, output, workgroupSize };
    const transients = encodeFit(device, pass, args);
    pass.end();
    device.queue.submit([encoder.finish()]);
    transients.destroy();
    const all = new Uint8Array(await readBuffer(device, output, output.size));
    expect(all.subarray(total).every((b) => b === SENTINEL), 'bytes past the batch are untouched').toBe(true);
    return all.subarray(0, total);
  } finally {
    input.destroy();
    output.destroy();
  }
}

async function expectMatchesReference(device: GPUDevice, salt: number, sizes: (random: () => number) => Size[], out: Size, workgroupSize?: number) {
  const random = mulberry32(seed ^ Math.imul(salt, 0x9e3779b1));
  // Packed pixels, and pixels in RGBA words (as the JPEG kernels write them).
  for (const [channels, stride] of [[1, 1], [3, 3], [1, 4], [3, 4]]) {
    const { bytes, options } = randomBatch(random, sizes(random), channels, out, stride);
    const gpu = await fitOnGpu(device, bytes, options, workgroupSize);
    const cpu = fitRef(bytes, options);
    const wrong = [...cpu.keys()].filter((i) => gpu[i] !== cpu[i]);
    const where = wrong.slice(0, 5).map((i) => `byte ${i}: ${gpu[i]} != ${cpu[i]}`);
    expect(where, `seed ${seed}, ${channels} channel(s) ${stride} bytes apart, ${wrong.length} bytes differ`).toEqual([]);
  }
}

const side = (random: () => number, max: number) => 1 + Math.floor(random() * max);

gpuDescribe('fit on the GPU equals its CPU reference byte for byte', ({ device }) => {
  const cases: { name: string; sizes: (random: () => number) => Size[]; out: Size }[] = [
    {
      name: 'mixed sizes: 1x1, 1xN, Nx1 and small images',
      sizes: (r) => Array.from({ length: 12 }, (_, i) => [[1, 1], [1, side(r, 50)], [side(r, 50), 1], [side(r, 40), side(r, 40)]][i % 4] as Size),
      out: [13, 7],
    },
    { name: 'one output pixel per sample', sizes: (r) => Array.from({ length: 9 }, () => [side(r, 60), side(r, 60)] as Size), out: [1, 1] },
    { name: 'a large shrink: 1000x700 -> 7x5', sizes: () => [[1000, 700], [1000, 700]], out: [7, 5] },
    { name: 'enlarging small images to 30x20', sizes: (r) => Array.from({ length: 6 }, () => [side(r, 6), side(r, 6)] as Size), out: [30, 20] },
    { name: 'shrink across, enlarge down (and back)', sizes: () => [[200, 3], [3, 200]], out: [17, 17] },
    { name: 'a photo-sized image to 224x224', sizes: () => [[1200, 900]], out: [224, 224] },
  ];
  test.each(cases.map((c, i) => ({ ...c, i })))('$name', async ({ i, sizes, out }) => {
    await expectMatchesReference(device, i + 1, sizes, out);
  });
});

gpuDescribe('fit dispatch', ({ device }) => {
  test('a grid of more than 65535 workgroups wraps into a second dimension', async () => {
    // One invocation per workgroup, 2 x 224 x 224 x 3 bytes = 75264 words.
    await expectMatchesReference(device, 99, (r) => [[side(r, 8), side(r, 8)], [side(r, 300), side(r, 300)]], [224, 224], 1);
  });

  test('bad arguments are EdgelakeErrors before anything is recorded', () => {
    const { STORAGE, COPY_DST } = GPUBufferUsage;
    const input = device.createBuffer({ label: 'small input', size: 16, usage: STORAGE });
    const output = device.createBuffer({ label: 'small output', size: 8, usage: STORAGE });
    const mapped = device.createBuffer({ label: 'not storage', size: 64, usage: COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'bad arguments' });
    const pass = encoder.beginComputePass({ label: 'bad arguments' });
    const sample = { offset: 0, width: 4, height: 4, box: { x: 0, y: 0, w: 4, h: 4 } };
    const ok: FitArgs = { input, output, channels: 1, width: 2, height: 2, samples: [sample] };
    const bad: [Partial<FitArgs>, RegExp][] = [
      [{ samples: [sample, { ...sample, offset: 4 }] }, /sample 1: .* past the 16 input bytes/],
      [{ width: 3, height: 3 }, /'small output' holds 8 bytes, needs 12/],
      [{ output: mapped }, /needs GPUBufferUsage.STORAGE/],
      [{ input: mapped }, /needs GPUBufferUsage.STORAGE/],
      [{ workgroupSize: 100_000 }, /workgroupSize/],
    ];
    for (const [change, message] of bad) {
      const record = () => encodeFit(device, pass, { ...ok, ...change });
      expect(record, Object.keys(change).join()).toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(message) }));
    }
    pass.end();
    for (const buffer of [input, output, mapped]) buffer.destroy();
  });
});
