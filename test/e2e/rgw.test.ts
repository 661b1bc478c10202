// Labels committed into a bucket of Ceph's S3 gateway (radosgw), a real S3 server that arbitrates
// conditional PUTs: writers racing on one version, exactly one commit lands each time.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCeph, startRgw, type RunningRgw } from '../support/ceph.js';
import { buildSubsetArgs, cli } from '../support/cli.js';
import { missing } from '../support/system.js';
import { ActiveLearner, isEdgelakeError, MemoryLabelStore, mlp, openDataset, openSink, openSource } from '../../src/index.js';

const noCeph = missing('Ceph (radosgw, ceph-mon, ceph-osd)', 'apt-get install --no-install-recommends radosgw ceph-mon ceph-osd', hasCeph());
const bucket = 'edgelake-labels';

/** A gate two callers pass together. */
function both(): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => (++arrived === 2 && open(), opened);
}

describe.skipIf(noCeph)('labels committed into a Ceph radosgw bucket', () => {
  let rgw: RunningRgw;
  let root: string;
  const s3 = () => ({ endpoint: rgw.url, region: 'us-east-1', ...rgw.credentials });
  /** What radosgw answered each conditional PUT of the ref file, in order. */
  const refPuts: string[] = [];
  /** A sink whose HEAD of the ref file (radosgw 16's path: see HttpSink.swap) waits at `gate`. */
  const sink = (gate?: () => Promise<void>) => openSink(root, {
    s3: s3(),
    http: {
      fetch: async (request) => {
        if (request.method === 'HEAD' && request.url.endsWith('/edgelake.json')) await gate?.();
        const response = await fetch(request);
        const condition = request.headers.get('if-match') ?? request.headers.get('if-none-match');
        if (request.method === 'PUT' && request.url.endsWith('/edgelake.json')) refPuts.push(`${condition?.startsWith('"') ? 'quoted' : 'bare'} ${response.status}`);
        return response;
      },
    },
  });

  beforeAll(async () => {
    const folder = mkdtempSync(join(tmpdir(), 'edgelake-rgw-'));
    try {
      // The cluster starts (mostly waiting) while the dataset builds.
      const [started, built] = await Promise.all([startRgw(), cli(...buildSubsetArgs(folder, '--chunk-kib', '64', '--embedding-dims', '8'))]);
      rgw = started;
      expect(built.code).toBe(0);
      await rgw.createBucket(bucket);
      const files = readdirSync(folder, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
      for (let i = 0; i < files.length; i += 16) {
        await Promise.all(files.slice(i, i + 16).map((file) => rgw.put(bucket, `ds/${file.slice(folder.length + 1)}`, readFileSync(file))));
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    root = `s3://${bucket}/ds`;
  }, 120_000);
  afterAll(() => rgw?.stop());

  /** A learner on the bucket's current version whose labels come from teach alone. */
  async function learnerOn() {
    const dataset = await openDataset(root, { s3: s3() });
    const learner = mlp({ layers: [784, 8, 10], seed: 1 });
    const al = new ActiveLearner({ dataset, strategy: 'random', roundSize: 10, maxLabels: 100, learner, epochs: 1, seed: 1, target: 'person', labels: new MemoryLabelStore() });
    return { al, dataset, learner };
  }

  it('signs every read as radosgw checks it: a wrong secret key is refused (403) without showing it; the right one revalidates edgelake.json with a 304', async () => {
    const stranger = openSource(root, { s3: { ...s3(), secretAccessKey: 'not-the-secret' } });
    const error = (await stranger.read('edgelake.json').catch((e: Error) => e)) as Error;
    expect(error).toMatchObject({ code: 'source' });
    expect(error.message).toMatch(/edgelake\.json: HTTP 403 Forbidden \(SignatureDoesNotMatch\)$/);
    expect(error.message).not.toContain('not-the-secret');
    const statuses: number[] = [];
    const source = openSource(root, { s3: { ...s3(), fetch: async (request: Request, init?: RequestInit) => {
      const response = await fetch(request, init);
      statuses.push(response.status);
      return response;
    } } });
    const first = await source.read('edgelake.json');
    expect(await source.read('edgelake.json')).toEqual(first);
    expect(statuses).toEqual([200, 304]);
  });

  it('two writers on one version, 5 times over: exactly one commit lands, the other gets a conflict and keeps its labels, which land on the next version', { timeout: 120_000 }, async () => {
    for (let race = 0; race < 5; race++) {
      const [a, b] = [await learnerOn(), await learnerOn()];
      const before = a.dataset.version;
      await a.al.teach([10 * race], [race]);
      await b.al.teach([10 * race + 1], [race + 1]);
      // Both writers see the ref unchanged and PUT it at once: radosgw, not timing, picks the winner.
      const gate = both();
      const results = await Promise.allSettled([a.al.commit({ sink: sink(gate) }), b.al.commit({ sink: sink(gate) })]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect([won.length, lost.length], `race ${race}`).toEqual([1, 1]);
      expect(isEdgelakeError(lost[0].reason, 'conflict'), String(lost[0].reason)).toBe(true);
      expect(String(lost[0].reason.message)).toMatch(`ref main moved on since version ${before} was read`);
      const now = await openDataset(root, { s3: s3() });
      expect([now.version, now.manifest.parent]).toEqual([won[0].value.versionId, before]);
      // The loser, on the winner's version, commits its labels: both writers' labels are there.
      const loser = results[0].status === 'rejected' ? a : b;
      const again = new ActiveLearner({ dataset: now, strategy: 'random', roundSize: 10, maxLabels: 100, learner: loser.learner, target: 'person', pool: loser.al.pool });
      await again.commit({ sink: sink() });
      const view = (await openDataset(root, { s3: s3() })).view();
      for (const [id, label] of [[10 * race, race], [10 * race + 1, race + 1]]) {
        expect(await view.get(id, ['person', 'person_mask'])).toEqual({ person: Int32Array.of(label), person_mask: Uint8Array.of(1) });
      }
      a.learner.dispose();
      b.learner.dispose();
    }
    console.info(`radosgw's answers to conditional PUTs of edgelake.json: ${refPuts.join(', ')}`);
    // Each race: both quoted PUTs refused, both bare ones sent, radosgw took one (then the loser's retry on the new version).
    expect(refPuts.filter((p) => p === 'bare 200')).toHaveLength(10);
    expect(refPuts.filter((p) => /^bare (412|500)$/.test(p))).toHaveLength(5);
  });
});
