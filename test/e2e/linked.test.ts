// Linked files served by nginx and s3rver as they are: read once cold, revalidated warm, re-read when changed.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPhotoDataset, MATE_DIR, STAMPS_DIR, type PhotoEntry } from '../../scripts/photo-dataset.js';
import { batchArray, decodeImage, Loader, type Dataset } from '../../src/index.js';
import { buildLinked } from '../../src/format/index.js';
import { FolderSink, openDataset } from '../../src/node.js';
import { cli } from '../support/cli.js';
import { startNginx, type RunningNginx } from '../support/nginx.js';
import { hasCommand, missing } from '../support/system.js';
import { S3RVER_CREDENTIALS, startS3rver } from './servers.js';

const PER_CLASS = 20; // 120 photos; bench/linked.ts streams 1,002
const noPackages =
  missing('nginx', 'apt-get install nginx', hasCommand('nginx')) ||
  missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(MATE_DIR)) ||
  missing('Tux Paint stamps', 'apt-get install tuxpaint-stamps-default', existsSync(STAMPS_DIR));

/** One epoch of every photo, fitted to 64x64 on decode workers; each id's pixels. */
async function epoch(ds: Dataset): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  const loader = new Loader(ds.view(), { batchSize: 16, workers: 2, tensors: ['image'], transform: { image: { fit: { size: [64, 64] } } } });
  const size = 64 * 64 * 3;
  for await (const b of loader) {
    const images = batchArray(b, 'image', Float32Array); // fitted: one [n, 64, 64, 3] array
    b.ids.forEach((id, i) => out.set(id, images.slice(i * size, (i + 1) * size)));
  }
  return out;
}

/** Responses nginx logged for photo files since `from` lines: path -> statuses. */
function photoStatuses(log: string, from: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of log.split('\n').slice(from)) {
    const m = /"GET \/(images\/[^ ]+) HTTP\/[\d.]+" (\d+)/.exec(line);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), Number(m[2])]);
  }
  return out;
}

describe.skipIf(noPackages)('linked photos', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-linked-e2e-'));
  let photos: PhotoEntry[];
  let nginx: RunningNginx;
  beforeAll(async () => {
    photos = await buildPhotoDataset(join(dir, 'served'), PER_CLASS);
    nginx = await startNginx(join(dir, 'served'));
    const csv = ['url,label', ...photos.map((p) => `${nginx.url}${p.file},${p.className}`)].join('\n');
    writeFileSync(join(dir, 'photos.csv'), csv);
    expect((await cli('build', 'linked', join(dir, 'photos.csv'), '--out', join(dir, 'ds'), '--name', 'photos')).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('served by nginx: every file read once a cold epoch, none a warm one, a changed one read again', { timeout: 120_000 }, async () => {
    const cacheDir = join(dir, 'cache');
    const lines = async () => (await nginx.accessLog()).split('\n').length - 1;

    const cold = await openDataset(join(dir, 'ds'), { cacheDir });
    expect(cold.tensor('image').chunks.length).toBe(Math.ceil(photos.length / 32));
    const first = await epoch(cold);
    let statuses = photoStatuses(await nginx.accessLog(), 0);
    expect(statuses.size).toBe(photos.length);
    for (const [path, s] of statuses) expect(s, path).toEqual([200]);
    // The labels came from the CSV, in its order.
    const labels = cold.tensor('label').classNames!;
    expect(labels[Number((await cold.view().get(7, ['label'])).label[0])]).toBe(photos[7].className);

    let mark = await lines();
    const warm = await openDataset(join(dir, 'ds'), { cacheDir });
    expect(await epoch(warm)).toEqual(first);
    statuses = photoStatuses(await nginx.accessLog(), mark);
    for (const [path, s] of statuses) expect(s, path).toEqual([304]);
    expect(statuses.size).toBe(photos.length);
    expect(warm.links.network).toMatchObject({ requests: 0, bytes: 0, unchanged: photos.length });

    // Photo 5 is replaced on the server by photo 6's bytes: read again, whole, and decoded as the new file.
    copyFileSync(join(dir, 'served', photos[6].file), join(dir, 'served', photos[5].file));
    mark = await lines();
    const changed = await openDataset(join(dir, 'ds'), { cacheDir });
    const after = await epoch(changed);
    statuses = photoStatuses(await nginx.accessLog(), mark);
    expect(statuses.get(photos[5].file)).toEqual([200]);
    expect([...statuses].filter(([, s]) => s[0] !== 304).map(([p]) => p)).toEqual([photos[5].file]);
    expect(after.get(5)).not.toEqual(first.get(5));
    const full = (await changed.view().get(5, ['image'])).image;
    expect(full).toEqual((await decodeImage(readFileSync(join(dir, 'served', photos[6].file)))).data);
  });

  it('served by nginx under two roots sharing a cache: the same relative link, each root its own file', { timeout: 60_000 }, async () => {
    // Two photos of one size and mtime (unpacked from archives, rsync -a): nginx gives them one ETag.
    const bytes = new Uint8Array(readFileSync(join(dir, 'served', photos[0].file)));
    const other = bytes.slice(); // a copy (a Buffer's slice would share the bytes)
    other[other.length >> 1] ^= 0xff;
    const when = new Date('2025-06-01T12:00:00Z');
    for (const [name, file] of [['cats', bytes], ['dogs', other]] as const) {
      mkdirSync(join(dir, 'served', name, 'images'), { recursive: true });
      writeFileSync(join(dir, 'served', name, 'images', '0.jpg'), file);
      utimesSync(join(dir, 'served', name, 'images', '0.jpg'), when, when);
      await buildLinked(new FolderSink(join(dir, 'served', name, 'ds')), [{ link: '../images/0.jpg' }], { created: '2026-01-01T00:00:00Z' });
    }
    const cacheDir = join(dir, 'two-roots-cache');
    const cats = await openDataset(`${nginx.url}cats/ds`, { cacheDir });
    expect(await cats.readLinked('image', 0)).toEqual([bytes]);
    const dogs = await openDataset(`${nginx.url}dogs/ds`, { cacheDir });
    expect(dogs.tensor('image').chunks[0].hash).toBe(cats.tensor('image').chunks[0].hash);
    expect(await dogs.readLinked('image', 0)).toEqual([other]);
  });

  it('in an S3 bucket (s3rver): the same, through If-None-Match on signed requests', { timeout: 120_000 }, async () => {
    const bucket = 'edgelake-linked';
    const s3 = await startS3rver(bucket);
    try {
      const some = photos.slice(0, 12);
      for (const p of some) await s3.put(p.file, readFileSync(join(dir, 'served', p.file)));
      writeFileSync(join(dir, 's3.txt'), some.map((p) => `s3://${bucket}/${p.file}`).join('\n'));
      expect((await cli('build', 'linked', join(dir, 's3.txt'), '--out', join(dir, 's3-ds'), '--chunk-samples', '5')).code).toBe(0);
      const s3Options = { endpoint: s3.url, region: 'us-east-1', ...S3RVER_CREDENTIALS };
      const open = () => openDataset(join(dir, 's3-ds'), { cacheDir: join(dir, 's3-cache'), s3: s3Options });
      const cold = await open();
      const first = await epoch(cold);
      expect(cold.links.network).toMatchObject({ requests: some.length, unchanged: 0 });
      const warm = await open();
      expect(await epoch(warm)).toEqual(first);
      expect(warm.links.network).toMatchObject({ requests: 0, unchanged: some.length });
      await s3.put(some[3].file, readFileSync(join(dir, 'served', photos[40].file)));
      const changed = await open();
      const after = await epoch(changed);
      expect(changed.links.network).toMatchObject({ requests: 1, unchanged: some.length - 1 });
      expect(after.get(3)).not.toEqual(first.get(3));
    } finally {
      await s3.stop();
    }
  });

  it('stored in an S3 bucket itself: a relative link names the key as written, spaces and accents too', { timeout: 60_000 }, async () => {
    const bucket = 'edgelake-relative';
    const s3 = await startS3rver(bucket);
    try {
      const photo = new Uint8Array(readFileSync(join(dir, 'served', photos[0].file)));
      await s3.put('photos/a b été.jpg', photo);
      const local = join(dir, 'relative-ds');
      await buildLinked(new FolderSink(local), [{ link: '../photos/a b été.jpg' }, { link: '../photos/a%20b%20%C3%A9t%C3%A9.jpg' }], { created: '2026-12-07T00:00:00Z' });
      for (const file of readdirSync(local, { recursive: true, withFileTypes: true }).filter((f) => f.isFile())) {
        await s3.put(`ds/${relative(local, join(file.parentPath, file.name))}`, readFileSync(join(file.parentPath, file.name)));
      }
      const ds = await openDataset(`s3://${bucket}/ds`, { s3: { endpoint: s3.url, region: 'us-east-1', ...S3RVER_CREDENTIALS } });
      expect(await ds.readLinked('image', 0)).toEqual([photo, photo]);
    } finally {
      await s3.stop();
    }
  });
});
