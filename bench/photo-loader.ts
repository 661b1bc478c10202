/**
 * Issue 17's loader must-hold: one streamed epoch over the labelled photo set (2,100 JPEGs of
 * any size, scripts/photo-dataset.ts) from nginx on 127.0.0.1, on the GPU path (decode workers
 * entropy-decode at the scale the fit needs; reconstruction, random-resized crop to 64x64,
 * normalization on the adapter), feeding the CNN. Prints how long the training loop waited for
 * the loader as a share of the epoch, beside the loader alone and the CNN alone (the same batches
 * held on the device), so the bottleneck is plain. No cache: every chunk comes over HTTP.
 *
 *   npx tsx bench/photo-loader.ts [--size 64] [--batch 32] [--workers 2] [--epochs 1]
 */
import { cnn, formatAdapter, Loader, type Batch, type LoaderOptions, type View } from '../src/index.js';
import { getNodeDevice, openDataset } from '../src/node.js';
import { deadline, photoDataset, startNginxBounded } from './link.js';
import { benchArgs, report } from './report.js';

const { values } = benchArgs(import.meta.url, {
  options: { size: { type: 'string', default: '64' }, batch: { type: 'string', default: '32' }, workers: { type: 'string', default: '2' }, epochs: { type: 'string', default: '1' } },
});
const [size, batchSize, workers, epochs] = [Number(values.size), Number(values.batch), Number(values.workers), Number(values.epochs)];
deadline(1800, 'bench/photo-loader.ts');
const gpu = (await getNodeDevice({ required: true }))!;
const device = gpu.device;

const nginx = await startNginxBounded(await photoDataset(), 1800);
try {
  const ds = await openDataset(nginx.url);
  const classes = ds.tensor('label').classNames!.length;
  const view = ds.view({ split: 'train' });
  const options: LoaderOptions = {
    batchSize, tensors: ['image', 'label'], device, workers, shuffle: { seed: 1, windowChunks: 4 },
    transform: { image: { fit: { size: [size, size], crop: 'random' }, scale: 1 / 255, toCHW: true } },
  };

  // The loader alone: batches as fast as it makes them (each one's buffers read back to be sure the work is done).
  const loaderAlone = await timed(async () => {
    for await (const b of new Loader(view, options)) await settle(b);
  });

  // The CNN fed by the loader; what the training loop waits for each batch is the loader's share.
  let waited = 0;
  let steps = 0;
  const model = cnn({ input: [3, size, size], classes, device, seed: 1 });
  const timedBatches = (epoch: number) => ({
    async *[Symbol.asyncIterator]() {
      const it = new Loader(view, { ...options, epoch })[Symbol.asyncIterator]();
      for (;;) {
        const t0 = performance.now();
        const next = await it.next();
        waited += performance.now() - t0;
        if (next.done) return;
        steps++;
        yield next.value;
      }
    },
  });
  const history = await model.fit(timedBatches, { epochs, input: 'image' });
  const trainSeconds = history.reduce((a, h) => a + h.seconds, 0);

  // The CNN alone on the same number of steps, its input already on the device.
  const held = await firstBatch(view, options);
  const alone = cnn({ input: [3, size, size], classes, device, seed: 1 });
  const modelAlone = await timed(async () => {
    await alone.fit(() => repeat(held, steps), { epochs: 1, input: 'image' });
  });
  model.dispose();
  alone.dispose();
  for (const t of Object.values(held.tensors)) (t as GPUBuffer).destroy();

  const samples = history.reduce((a, h) => a + h.samples, 0);
  report('photo-loader', `A streamed epoch of photos on the GPU path: the loader's share of the step time (${size}x${size} CNN)`, [
    { measure: 'loader alone', value: view.length / loaderAlone, unit: 'images/s' },
    { measure: 'CNN alone (batches held on the device)', value: (steps * batchSize) / modelAlone, unit: 'images/s' },
    { measure: 'CNN fed by the loader', value: samples / trainSeconds, unit: 'images/s' },
    { measure: 'training loop waiting for the loader', value: waited / 1000, unit: 's' },
    { measure: 'loader share of the step time', value: waited / 1000 / trainSeconds, unit: 'fraction' },
    { measure: 'step time', value: (trainSeconds * 1000) / steps, unit: 'ms' },
  ], [
    `${view.length} training JPEGs of tuxpaint-photos (scripts/photo-dataset.ts), streamed from nginx on 127.0.0.1, no cache; ${epochs} epoch(s), batch ${batchSize}, ${workers} decode workers`,
    `random-resized crop to ${size}x${size} (scale 0.08-1), /255, CHW; JPEGs entropy-decoded in the workers at the libjpeg scale that still covers the crop, reconstructed and fitted on the adapter`,
    `adapter: ${formatAdapter(gpu.adapter)}`,
  ]);
} finally {
  await nginx.stop();
  device.destroy();
}

async function timed(run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

/** Waits until the device has done the batch's work. */
async function settle(_batch: Batch): Promise<void> {
  await device.queue.onSubmittedWorkDone();
}

/** The first batch, its device buffers copied so that they outlive the loader. */
async function firstBatch(view: View, options: LoaderOptions): Promise<Batch> {
  for await (const b of new Loader(view, options)) {
    const tensors: Batch['tensors'] = {};
    const encoder = device.createCommandEncoder();
    for (const [name, t] of Object.entries(b.tensors)) {
      const src = t as GPUBuffer;
      const copy = device.createBuffer({ size: src.size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
      encoder.copyBufferToBuffer(src, 0, copy, 0, src.size);
      tensors[name] = copy;
    }
    device.queue.submit([encoder.finish()]);
    return { ids: b.ids, tensors };
  }
  throw new Error('no batch');
}

async function* repeat(batch: Batch, times: number): AsyncGenerator<Batch> {
  for (let i = 0; i < times; i++) yield batch;
}
