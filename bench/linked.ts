/**
 * Issue 21's linked-files must-hold, in one run: 1,002 photos of the photo-size set
 * (scripts/photo-dataset.ts, 167 a class) served by nginx as raw files and linked by a dataset
 * built from a CSV (`edgelake build linked`). Three epochs through the loader (fit to 128x128,
 * 2 decode workers, a persistent cache), each from a fresh open: cold (empty cache), warm, and
 * after 10 files were replaced on the server. nginx's access log counts, per file and epoch,
 * the reads (200) and the revalidations (304). Side by side: the same photos copied into a
 * native dataset (`edgelake build native`), a warm epoch of each, samples/s.
 *
 *   npx tsx bench/linked.ts [--per-class 167]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadline } from './link.js';
import { startNginx } from '../test/support/nginx.js';
import { benchArgs, report } from './report.js';
import { buildPhotoDataset } from '../scripts/photo-dataset.js';
import { Loader, decodeImage, type Dataset } from '../src/index.js';
import { openDataset, runCli } from '../src/node.js';

const { values } = benchArgs(import.meta.url, { options: { 'per-class': { type: 'string', default: '167' } } });
deadline(1200, 'bench/linked');
const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-linked-'));
try {
  const photos = await buildPhotoDataset(join(dir, 'served'), Number(values['per-class']));
  const nginx = await startNginx(join(dir, 'served'), { maxSeconds: 1200 }); // with its access log: the count of reads
  writeFileSync(join(dir, 'photos.csv'), ['url,label', ...photos.map((p) => `${nginx.url}${p.file},${p.className}`)].join('\n'));
  const cli = async (...args: string[]) => {
    let said = '';
    if ((await runCli(args, { stdout: () => {}, stderr: (s) => void (said += s), isTTY: false })) !== 0) throw new Error(`edgelake ${args.join(' ')}: ${said}`);
  };
  await cli('build', 'linked', join(dir, 'photos.csv'), '--out', join(dir, 'ds'));

  const epoch = async (ds: Dataset): Promise<{ seconds: number; samples: number }> => {
    const started = performance.now();
    let samples = 0;
    const loader = new Loader(ds.view(), { batchSize: 32, workers: 2, tensors: ['image'], transform: { image: { fit: { size: [128, 128] } } } });
    for await (const b of loader) samples += b.ids.length;
    return { seconds: (performance.now() - started) / 1000, samples };
  };
  let logged = 0;
  /** Statuses nginx gave each photo since the last call. */
  const statuses = async () => {
    const lines = (await nginx.accessLog()).split('\n');
    const out = new Map<string, number[]>();
    for (const line of lines.slice(logged)) {
      const m = /"GET \/(images\/[^ ]+) HTTP\/[\d.]+" (\d+)/.exec(line);
      if (m) out.set(m[1], [...(out.get(m[1]) ?? []), Number(m[2])]);
    }
    logged = lines.length - 1;
    return out;
  };
  const reads = (s: Map<string, number[]>) => [...s.values()].flat().filter((x) => x === 200).length;
  const revalidations = (s: Map<string, number[]>) => [...s.values()].flat().filter((x) => x === 304).length;
  const readOnce = (s: Map<string, number[]>) => photos.every((p) => s.get(p.file)?.filter((x) => x === 200).length === 1);

  const cacheDir = join(dir, 'cache');
  const cold = await epoch(await openDataset(join(dir, 'ds'), { cacheDir }));
  const coldLog = await statuses();
  const warm = await epoch(await openDataset(join(dir, 'ds'), { cacheDir }));
  const warmLog = await statuses();

  const changed = photos.slice(0, 10);
  changed.forEach((p, k) => copyFileSync(join(dir, 'served', photos[photos.length - 1 - k].file), join(dir, 'served', p.file)));
  const after = await openDataset(join(dir, 'ds'), { cacheDir });
  await epoch(after);
  const changedLog = await statuses();
  const changedRead = changed.filter((p) => changedLog.get(p.file)?.[0] === 200).length;
  // Each replaced photo decodes as its new bytes, not its cached old ones.
  let freshPixels = 0;
  for (const [k, p] of changed.entries()) {
    const got = (await after.view().get(photos.indexOf(p), ['image'])).image as Uint8Array;
    const want = (await decodeImage(readFileSync(join(dir, 'served', photos[photos.length - 1 - k].file)))).data;
    if (got.length === want.length && got.every((v, i) => v === want[i])) freshPixels++;
  }
  await statuses();

  // The same photos as native chunks (copied from the links), a warm epoch of each, back to back.
  await cli('build', 'native', join(dir, 'ds'), '--out', join(dir, 'native'));
  await nginx.stop();
  const served = await startNginx(dir, { maxSeconds: 1200, accessLog: false });
  const nativeUrl = `${served.url}native`;
  await epoch(await openDataset(nativeUrl, { cacheDir: join(dir, 'native-cache') })); // fills its cache
  const nativeWarm = await epoch(await openDataset(nativeUrl, { cacheDir: join(dir, 'native-cache') }));
  await served.stop();

  report('linked', `${photos.length} photos linked from nginx: reads per epoch, and warm samples/s against native chunks`, [
    { measure: 'photos', value: photos.length, unit: 'files' },
    { measure: 'cold epoch: file reads (HTTP 200)', value: reads(coldLog), unit: 'requests' },
    { measure: 'cold epoch: every file read exactly once', value: readOnce(coldLog) ? 1 : 0, unit: 'bool' },
    { measure: 'warm epoch: file reads (HTTP 200)', value: reads(warmLog), unit: 'requests' },
    { measure: 'warm epoch: revalidations (HTTP 304, no body)', value: revalidations(warmLog), unit: 'requests' },
    { measure: 'after 10 files changed: file reads (HTTP 200)', value: reads(changedLog), unit: 'requests' },
    { measure: 'changed files read again', value: changedRead, unit: 'files' },
    { measure: 'changed files decoding as their new bytes', value: freshPixels, unit: 'files' },
    { measure: 'cold epoch samples/s (linked)', value: cold.samples / cold.seconds, unit: 'samples/s' },
    { measure: 'warm epoch samples/s (linked)', value: warm.samples / warm.seconds, unit: 'samples/s' },
    { measure: 'warm epoch samples/s (native chunks)', value: nativeWarm.samples / nativeWarm.seconds, unit: 'samples/s' },
    { measure: 'linked / native, warm', value: (warm.samples / warm.seconds) / (nativeWarm.samples / nativeWarm.seconds), unit: 'ratio' },
  ], ['loader: batch 32, 2 decode workers, fit to 128x128; each epoch opens the dataset afresh over the same cache folder']);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
