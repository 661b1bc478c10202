/**
 * What a request costs this process in Node, side by side in one run: HttpSource sending with
 * fetch (undici, every body a WHATWG stream) and with nodeFetch (node:http, what the Node entry
 * uses), against nginx on 127.0.0.1. Three reads, each of 100 files of 1 MiB four times over, 8
 * in flight: a 50 KB range, two 50 KB ranges in one request (multipart/byteranges) and the whole
 * file. Process CPU (user + system) a request, median of alternating rounds after one round to
 * warm up; nginx runs in its own process.
 *
 *   npx tsx bench/http-transport.ts [--rounds 9]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadline, startNginxBounded } from './link.js';
import { benchArgs, median, report, type BenchRow } from './report.js';
import { HttpSource } from '../src/index.js';
import { nodeFetch } from '../src/source/fetch.node.js';

const { values } = benchArgs(import.meta.url, { options: { rounds: { type: 'string', default: '9' } } });
deadline(600, 'bench/http-transport');

const FILES = 100;
const PASSES = 4;
const dir = mkdtempSync(join(tmpdir(), 'edgelake-bench-http-'));
for (let i = 0; i < FILES; i++) writeFileSync(join(dir, `f${i}`), new Uint8Array(1 << 20).fill(i));
const nginx = await startNginxBounded(dir, 600);
const transports = { fetch: new HttpSource(nginx.url), nodeFetch: new HttpSource(nginx.url, { fetch: nodeFetch }) };
const reads = {
  'a 50 KB range': (source: HttpSource, i: number) => source.readRange(`f${i}`, 1000, 50_000),
  'two 50 KB ranges in one request': (source: HttpSource, i: number) => source.readRanges(`f${i}`, [{ offset: 1000, length: 50_000 }, { offset: 600_000, length: 50_000 }]),
  'a 1 MiB file': (source: HttpSource, i: number) => source.read(`f${i}`),
};
type Transport = keyof typeof transports;
type Read = keyof typeof reads;

/** Process CPU ms a request over PASSES passes of the FILES files, 8 reads in flight. */
async function cpuPerRequest(read: (i: number) => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < FILES * PASSES) await read(next++ % FILES);
  }));
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000 / (FILES * PASSES);
}

const runs = new Map<string, number[]>();
try {
  for (let round = -1; round < Number(values.rounds); round++) {
    const order = Object.keys(transports) as Transport[];
    for (const transport of round % 2 ? order.reverse() : order) {
      for (const read of Object.keys(reads) as Read[]) {
        const cpu = await cpuPerRequest((i) => reads[read](transports[transport], i));
        const key = `${transport}: ${read}`;
        if (round >= 0) runs.set(key, [...(runs.get(key) ?? []), cpu]); // round -1 warms up
      }
    }
  }
} finally {
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
}

const rows: BenchRow[] = [];
for (const read of Object.keys(reads) as Read[]) {
  const [viaFetch, viaNode] = [median(runs.get(`fetch: ${read}`)!), median(runs.get(`nodeFetch: ${read}`)!)];
  rows.push(
    { measure: `${read}: fetch`, value: viaFetch, unit: 'ms CPU a request' },
    { measure: `${read}: nodeFetch`, value: viaNode, unit: 'ms CPU a request' },
    { measure: `${read}: nodeFetch / fetch`, value: viaNode / viaFetch, unit: 'x' },
  );
}
report('http-transport', 'Process CPU a request: HttpSource over fetch and over nodeFetch (node:http), nginx on 127.0.0.1', rows,
  [...runs].map(([key, values]) => `${key}, rounds: ${values.map((v) => v.toFixed(3)).join(', ')}`));
