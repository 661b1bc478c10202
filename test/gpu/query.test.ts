import { expect, test } from 'vitest';
import { gpuDescribe } from './gpu.js';
import { mulberry32 } from '../support/random.js';
import { commitVersion, MemorySink, TensorWriter } from '../../src/format/index.js';
import { MemorySource, openDataset, query } from '../../src/index.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

/** 5,000 random 28x28 gray images (each with its own brightness and spread) and a label, in chunks of ~64 KiB. */
async function images() {
  const random = mulberry32(seed);
  const sink = new MemorySink();
  const image = new TensorWriter(sink, 'image', { htype: 'image', dtype: 'uint8', shape: [28, 28, 1], sampleCompression: 'none', chunkCompression: 'deflate' }, 64 << 10);
  const label = new TensorWriter(sink, 'label', { htype: 'class_label', dtype: 'int32', shape: [], classNames: ['a', 'b'], sampleCompression: 'none', chunkCompression: 'none' }, 64 << 10);
  for (let i = 0; i < 5000; i++) {
    const [centre, spread] = [random() * 255, random() * 128];
    await image.append(Uint8Array.from({ length: 784 }, () => Math.max(0, Math.min(255, Math.round(centre + (random() - 0.5) * 2 * spread)))));
    await label.append(new Uint8Array(Int32Array.of(i % 2).buffer));
  }
  await commitVersion(sink, { length: 5000, splits: {}, tensors: { image: await image.finish(), label: await label.finish() } }, { name: 'q', message: 'random images', created: '2026-01-01T00:00:00Z' });
  return openDataset(new MemorySource(sink.files));
}

gpuDescribe('queries reduce whole uint8 tensors on the device, with the answers of the CPU', ({ device }) => {
  test.each([
    'select * where mean(image) > 100',
    "select * where max(image) == 255 and min(image) > 40 and label == 'b'",
    'select * where mean(image) * 2 < max(image) + min(image)',
    'select * order by sum(image) desc limit 50',
    'select * where mean(image[0:14, :, 0]) > mean(image) order by max(image) - min(image) limit 100',
  ])('%s', async (text) => {
    const ds = await images();
    const cpu = await query(ds, text);
    const queue = device.queue;
    const submit = queue.submit;
    let submitted = 0;
    queue.submit = (buffers) => (submitted++, submit.call(queue, buffers)); // the reductions did run there
    const gpu = await query(ds, text, { device }).finally(() => (queue.submit = submit));
    expect(submitted).toBeGreaterThanOrEqual(2); // a batch is 4,096 samples: two batches, a dispatch (and a read-back) each
    expect(cpu.ids.length, `seed ${seed}`).toBeGreaterThan(0);
    expect([...gpu.ids], `seed ${seed}`).toEqual([...cpu.ids]);
  });
});
