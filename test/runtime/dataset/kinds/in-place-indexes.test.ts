// Indexes beside files read in place: a pattern naming some of the files an index lists (train
// {000..089}, validation {090..099}) is served from it, renumbered in the pattern's order; labels
// and lengths kept in an index are not served once a file changed under it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../../support/cli.js';
import { hasCommand, missing } from '../../../support/system.js';
import type { Dataset } from '../../../../src/index.js';
import { openDataset } from '../../../../src/node.js';

/** Writes `dir/name`, a tar (by Python's tarfile, an independent writer) of samples `ids`: `<id>.cls` the id, `<id>.txt` "s<id>". */
function writeShard(dir: string, name: string, ids: number[]): void {
  execFileSync('python3', ['-c', `import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w') as t:
    for i in map(int, sys.argv[2:]):
        for ext, body in (('cls', str(i).encode()), ('txt', b's%d' % i)):
            m = tarfile.TarInfo('%05d.%s' % (i, ext)); m.size = len(body); t.addfile(m, io.BytesIO(body))`, join(dir, name), ...ids.map(String)]);
}

/** Writes `dir/name`, a Parquet file (hyparquet-writer) of rows `ids`: `label` the id (int64, kept in the index), `text` "s<id>" (read from pages). */
function writeParquet(dir: string, name: string, ids: number[]): void {
  const buffer = parquetWriteBuffer({ columnData: [{ name: 'label', data: ids.map(BigInt), type: 'INT64' }, { name: 'text', data: ids.map((i) => `s${i}`), type: 'STRING' }] });
  writeFileSync(join(dir, name), new Uint8Array(buffer));
}

/** Each sample's [label, text], in the dataset's order. */
async function samples(ds: Dataset, label: string, text: string): Promise<[number, string][]> {
  const view = ds.view();
  return Promise.all(Array.from({ length: ds.length }, async (_, id) => {
    const s = await view.get(id, [label, text]);
    return [new DataView(s[label].buffer, s[label].byteOffset).getInt32(0, true), new TextDecoder().decode(s[text])] as [number, string];
  }));
}
const expected = (ids: number[]) => ids.map((i) => [i, `s${i}`]);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

describe.skipIf(missing('python3', 'apt-get install python3', hasCommand('python3')))('a subset of indexed WebDataset shards', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-wds-subset-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const shardBytes = (names: string[]) => names.reduce((a, n) => a + statSync(join(dir, n)).size, 0);

  it('opens from the index of all of them, renumbered in the pattern\'s order', async () => {
    for (let s = 0; s < 4; s++) writeShard(dir, `shard-00${s}.tar`, range(3 * s, 3 * s + 3));
    expect((await cli('index', join(dir, 'shard-{000..003}.tar'))).code).toBe(0);
    const validation = await openDataset(join(dir, 'shard-{002..003}.tar'));
    expect(validation.network.bytes).toBe(shardBytes(['shard.edgelake-index.json.gz'])); // the index alone: no shard read whole
    expect(await samples(validation, 'cls', 'txt')).toEqual(expected(range(6, 12)));
    expect(await samples(await openDataset(join(dir, 'shard-{003,000}.tar')), 'cls', 'txt')).toEqual(expected([9, 10, 11, 0, 1, 2]));
  });

  it('one shard named without braces opens from the index of its family (shard-{000..003}), renumbered from 0', async () => {
    const one = await openDataset(join(dir, 'shard-002.tar'));
    // The index alone: two indexes it might have had of its own (404s) count nothing, and no shard is read whole.
    expect(one.network.bytes).toBe(shardBytes(['shard.edgelake-index.json.gz']));
    expect(await samples(one, 'cls', 'txt')).toEqual(expected(range(6, 9)));
  });

  it('a pattern naming shards the index lacks names them', async () => {
    writeShard(dir, 'shard-004.tar', [12]);
    const pattern = join(dir, 'shard-{003..005}.tar');
    await expect(openDataset(pattern)).rejects.toThrow(`${pattern}: the index shard.edgelake-index.json.gz lacks shard-004.tar, shard-005.tar; run edgelake index ${pattern}`);
  });

  it('indexing another range keeps the index of the first: each opens from its own', async () => {
    expect((await cli('index', join(dir, 'shard-{004..004}.tar'))).code).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.edgelake-index.json.gz'))).toHaveLength(2);
    const all = await openDataset(join(dir, 'shard-{000..003}.tar'));
    expect([all.length, all.network.bytes]).toEqual([12, shardBytes(['shard.edgelake-index.json.gz'])]); // the index, not the shards read whole
    const last = await openDataset(join(dir, 'shard-{004..004}.tar'));
    expect(last.network.bytes).toBe(shardBytes(readdirSync(dir).filter((f) => f.endsWith('.edgelake-index.json.gz')))); // the one that lacks it, then its own
    expect(await samples(last, 'cls', 'txt')).toEqual(expected([12]));
  });
});

describe('a subset of indexed Parquet files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-parquet-subset-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens from the index of all of them, number columns kept in the index renumbered too', async () => {
    for (let f = 0; f < 3; f++) writeParquet(dir, `part-0000${f}.parquet`, range(4 * f, 4 * f + 4));
    expect((await cli('index', join(dir, 'part-{00000..00002}.parquet'))).code).toBe(0);
    expect(await samples(await openDataset(join(dir, 'part-{00002,00001}.parquet')), 'label', 'text')).toEqual(expected([...range(8, 12), ...range(4, 8)]));
    expect(existsSync(join(dir, 'part.edgelake-index.json.gz'))).toBe(true);
  });
});

// Labels and lengths kept in an index are not served once a file changed under it: the file is named.
describe.skipIf(missing('python3', 'apt-get install python3', hasCommand('python3')))('files changed since they were indexed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-changed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a shard rewritten at the same size (other labels) is named on opening, by its validator', async () => {
    writeShard(dir, 'lab-000.tar', [1, 2]);
    expect((await cli('index', join(dir, 'lab-000.tar'))).code).toBe(0);
    expect((await openDataset(join(dir, 'lab-000.tar'))).length).toBe(2);
    writeShard(dir, 'lab-000.tar', [3, 4]); // the same size: labels live in the index, so no range read would see it
    await expect(openDataset(join(dir, 'lab-000.tar'))).rejects.toThrow(`${join(dir, 'lab-000.tar')}: lab-000.tar changed since it was indexed`);
  });

  it('a Parquet file rewritten is named on opening, before its number column (kept in the index) is served', async () => {
    writeParquet(dir, 'nums-00000.parquet', [1, 2, 3]);
    expect((await cli('index', join(dir, 'nums-00000.parquet'))).code).toBe(0);
    writeParquet(dir, 'nums-00000.parquet', [4, 5, 6]);
    await expect(openDataset(join(dir, 'nums-00000.parquet'))).rejects.toThrow('nums-00000.parquet changed since it was indexed');
  });

  it('read from elsewhere than where it was indexed (no validator of that place), a shard cut short is named by its size', async () => {
    writeShard(dir, 'cut-000.tar', range(0, 8));
    expect((await cli('index', join(dir, 'cut-000.tar'))).code).toBe(0);
    const link = join(dir, 'link');
    symlinkSync(dir, link);
    expect((await openDataset(join(link, 'cut-000.tar'))).length).toBe(8);
    writeShard(dir, 'cut-000.tar', [0]);
    await expect(openDataset(join(link, 'cut-000.tar'))).rejects.toThrow(/cut-000\.tar changed since it was indexed \(it is shorter than the \d+ bytes indexed\); run edgelake index again/);
  });
});

