/**
 * What bench/webdataset.ts and bench/parquet.ts measure alike on data read in place (files in
 * `dir` served by nginx): edgelake index once, one epoch through the loader, and 1% of the
 * samples read at random with View.get; bytes are what nginx logged as sent ($body_bytes_sent).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningNginx } from '../test/support/nginx.js';
import { Loader } from '../src/index.js';
import { openDataset, runCli } from '../src/node.js';
import type { BenchRow } from './report.js';

export interface InPlaceRun {
  samples: number;
  classNames: number;
  indexSeconds: number;
  epochSeconds: number;
  rows: (fileBytes: number) => BenchRow[];
}

export async function measureInPlace(nginx: RunningNginx, dir: string, pattern: string, index: string, labels: ArrayLike<number>, tensors: { image: string; label: string }): Promise<InPlaceRun> {
  const seconds = (since: number) => (performance.now() - since) / 1000;
  let t = performance.now();
  if ((await runCli(['index', `${nginx.url}/${pattern}`, '--out', join(dir, index)])) !== 0) throw new Error('edgelake index failed');
  const indexSeconds = seconds(t);
  const indexBytes = statSync(join(dir, index)).size;

  const logged = async () => (await nginx.accessLog()).split('\n').filter(Boolean);
  const sentSince = async (from: number) => {
    const lines = (await logged()).slice(from);
    return { requests: lines.length, bytes: lines.reduce((a, l) => a + Number(/" \d{3} (\d+) /.exec(l)?.[1] ?? 0), 0) };
  };

  let from = (await logged()).length;
  t = performance.now();
  const ds = await openDataset(`${nginx.url}/${pattern}`);
  const seen = new Uint8Array(ds.length);
  let wrong = 0;
  for await (const b of new Loader(ds.view(), { batchSize: 512, shuffle: { seed: 1, windowChunks: 8 }, tensors: [tensors.image, tensors.label] })) {
    const label = b.tensors[tensors.label] as Int32Array;
    b.ids.forEach((id, i) => {
      seen[id]++;
      if (label[i] !== labels[id]) wrong++;
    });
  }
  const epochSeconds = seconds(t);
  const epochSent = await sentSince(from);

  from = (await logged()).length;
  const view = (await openDataset(`${nginx.url}/${pattern}`)).view();
  const picked = new Set<number>();
  for (let x = 12345; picked.size < Math.ceil(ds.length / 100); ) picked.add((x = (x * 1103515245 + 12345) % 2 ** 31) % ds.length);
  let wrongRandom = 0;
  for (const id of picked) if ((await view.get(id, [tensors.image, tensors.label]))[tensors.label][0] !== labels[id]) wrongRandom++;
  const randomSent = await sentSince(from);

  return {
    samples: ds.length, classNames: ds.tensor(tensors.label).classNames?.length ?? 0, indexSeconds, epochSeconds,
    rows: (fileBytes) => [
      { measure: 'samples', value: ds.length, unit: '' },
      { measure: 'index bytes / file bytes', value: indexBytes / fileBytes, unit: '' },
      { measure: 'epoch: every sample exactly once (1 = yes)', value: seen.every((n) => n === 1) ? 1 : 0, unit: '' },
      { measure: 'epoch: samples with a wrong label', value: wrong, unit: '' },
      { measure: 'epoch: bytes from nginx / file bytes (index included)', value: epochSent.bytes / fileBytes, unit: '' },
      { measure: 'epoch: samples/s (PNG decode on the CPU, 2 cores)', value: ds.length / epochSeconds, unit: 'samples/s' },
      { measure: `1% random reads (${picked.size} samples): requests`, value: randomSent.requests, unit: '' },
      { measure: '1% random reads: wrong labels', value: wrongRandom, unit: '' },
      { measure: '1% random reads: bytes from nginx / file bytes, index included (target < 0.03)', value: randomSent.bytes / fileBytes, unit: '' },
    ],
  };
}
