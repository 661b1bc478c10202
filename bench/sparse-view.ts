/**
 * What a sparse view's reads save it, side by side in one run: the same query view of the photo
 * set (scripts/photo-dataset.ts: the 10% brightest thumbnails, 210 photos over 100 of the 116
 * image chunks, fitted to 64x64) read three ways: as the reader does (chunk headers from the image
 * tensor's header index, each chunk's samples in one request for several ranges), with one range
 * a request (a transport without readRanges, as S3 serves them: nearby samples merged), and from
 * a version of the same chunks without a header index (each chunk's header its own request).
 * Over nginx on loopback and behind the throttle proxy (`--latency` ms each way, so a round trip
 * of twice that per request, and a shared `--cap` MB/s), no cache, so every epoch fetches. Median
 * of alternating rounds; requests and bytes are the last round's.
 *
 *   npx tsx bench/sparse-view.ts [--rounds 5] [--latency 20] [--cap 50]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadline, MB, photoDataset, startLink, startNginxBounded } from './link.js';
import { benchArgs, median, report, type BenchRow } from './report.js';
import { commitVersion, withChunks } from '../src/format/index.js';
import { Loader, query, type View } from '../src/index.js';
import { FolderSink, openDataset } from '../src/node.js';
import { openTransportNode } from '../src/source/open.node.js';
import type { Source } from '../src/source/source.js';

const { values } = benchArgs(import.meta.url, {
  options: { rounds: { type: 'string', default: '5' }, latency: { type: 'string', default: '20' }, cap: { type: 'string', default: '50' } },
});
const [rounds, latencyMs, bytesPerSecond] = [Number(values.rounds), Number(values.latency), Number(values.cap) * MB];
deadline(1800, 'bench/sparse-view');
const text = 'select * order by mean(thumbnail) desc limit 210';

// A copy of the set with a second ref: the same version but for the image tensor's header index.
const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-sparse-view-'));
cpSync(await photoDataset(), dir, { recursive: true });
const indexed = await openDataset(dir);
if (!indexed.tensor('image').headers) throw new Error('the photo set has no header index on its image tensor: build it again');
const { manifest } = indexed;
await commitVersion(new FolderSink(dir), { length: manifest.length, splits: manifest.splits, tensors: { ...manifest.tensors, image: withChunks(manifest.tensors.image, manifest.tensors.image.chunks) } }, {
  name: indexed.name, ref: 'unindexed', message: 'the same chunks, no header index', created: manifest.created,
});
const ids = (await query(indexed, text)).ids;

async function epoch(view: View): Promise<{ rate: number; requests: number; bytes: number }> {
  const { requests, bytes } = view.dataset.network;
  const started = performance.now();
  let n = 0;
  const transform = { image: { fit: { size: [64, 64] as [number, number], crop: 'center' as const }, scale: 1 / 255 } };
  for await (const b of new Loader(view, { batchSize: 256, tensors: ['image', 'label'], transform })) n += b.ids.length;
  return { rate: n / ((performance.now() - started) / 1000), requests: view.dataset.network.requests - requests, bytes: view.dataset.network.bytes - bytes };
}

/** The transport without readRanges: each range its own request. */
const oneRangeARequest = (root: string): Source => {
  const transport = openTransportNode(root);
  return { location: transport.location, read: transport.read.bind(transport), readRange: transport.readRange.bind(transport) };
};
const arms = {
  reader: { name: 'header index, several ranges a request', open: (url: string) => openDataset(url) },
  oneRange: { name: 'header index, one range a request', open: (url: string) => openDataset(url, { openTransport: oneRangeARequest }) },
  unindexed: { name: 'no header index, several ranges a request', open: (url: string) => openDataset(url, { ref: 'unindexed' }) },
};
type Arm = keyof typeof arms;

const rows: BenchRow[] = [];
const notes: string[] = [];
/** The arms over nginx on loopback, then behind the throttle proxy (started only then: it takes CPU of its own). */
const servers = [
  { where: 'loopback', start: () => startNginxBounded(dir, 900) },
  { where: `${2 * latencyMs} ms round trips, ${values.cap} MB/s`, start: () => startLink(dir, { latencyMs, bytesPerSecond, maxSeconds: 900 }) },
];
try {
  for (const { where, start } of servers) {
    const server = await start();
    const runs: Record<Arm, number[]> = { reader: [], oneRange: [], unindexed: [] };
    const last = {} as Record<Arm, { requests: number; bytes: number }>;
    try {
      for (let round = 0; round < rounds; round++) {
        const order = Object.keys(arms) as Arm[];
        for (const arm of [...order.slice(round % 3), ...order.slice(0, round % 3)]) {
          const ds = await arms[arm].open(server.url);
          const { rate, ...fetched } = await epoch(ds.view({ indices: ids }));
          runs[arm].push(rate);
          last[arm] = fetched;
        }
      }
    } finally {
      await server.stop();
    }
    for (const arm of Object.keys(arms) as Arm[]) {
      rows.push({ measure: `${where}: ${arms[arm].name}`, value: median(runs[arm]), unit: `samples/s (${last[arm].requests} requests, ${(last[arm].bytes / MB).toFixed(1)} MB)` });
    }
    rows.push({ measure: `${where}: several ranges / one range a request`, value: median(runs.reader) / median(runs.oneRange), unit: 'x' });
    rows.push({ measure: `${where}: with / without the header index`, value: median(runs.reader) / median(runs.unindexed), unit: 'x' });
    notes.push(`${where}, rounds (samples/s): ${(Object.keys(arms) as Arm[]).map((arm) => `${arm} ${runs[arm].map((r) => r.toFixed(0)).join(', ')}`).join('; ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
notes.unshift(`\`${text}\`: ${ids.length} of ${manifest.length} photos; loader on this thread, no workers, no cache; requests and bytes include the refs and the manifest`);
report('sparse-view', 'A sparse photo view read as the reader does, with one range a request, and without the header index, on loopback and over a link with latency', rows, notes);
