// Saved views: a query's answer kept in the dataset by name, listed, reopened and materialized.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli } from '../../support/cli.js';
import { isEdgelakeError, saveView, type QueryAnswer } from '../../../src/index.js';
import { MemorySink } from '../../../src/format/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-views-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('saveView', () => {
  it('refuses a view whose ids would not fit a view file, which no reader (nor edgelake views) would open, and writes nothing', async () => {
    const sink = new MemorySink();
    const answer = { ids: new Uint32Array(8_000_000).map((_, i) => 10_000_000 + i), query: 'select * where label != 3', version: 'a'.repeat(64) } as QueryAnswer;
    const e = await saveView(sink, answer, 'most').catch((err: unknown) => err);
    expect(isEdgelakeError(e, 'limit') && (e as Error).message).toMatch(/view most: its 8000000 ids take \d+ bytes, over the 67108864 a view file may hold; materialize the query/);
    expect(sink.files.size).toBe(0);
  });
});

describe('edgelake query --save and materialize VIEW', () => {
  const dir = join(root, 'subset');
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64'))).code).toBe(0);
  }, 60_000);

  it('a view whose name starts with select is a view, not a query', async () => {
    expect((await cli('query', dir, "select * where label == 'Bag' limit 3", '--save', 'select-bags')).code).toBe(0);
    const made = await cli('materialize', dir, 'select-bags', '--ref', 'bags', '--json');
    expect([made.code, made.stderr]).toEqual([0, '']);
    expect(JSON.parse(made.stdout)).toMatchObject({ ref: 'bags', samples: 3 });
  });

  it('refuses a malformed or taken --save name before running the query, and says each command name once', async () => {
    expect((await cli('query', dir, 'select * limit 2', '--save', 'taken')).code).toBe(0);
    const before = readdirSync(join(dir, 'views')).length;
    for (const [name, message] of [['bad/name', 'view name "bad/name" must match'], ['taken', 'a view named taken is saved already']]) {
      // A query no dataset could answer: were it run first, its error would come first.
      const r = await cli('query', dir, 'select * where nope > 1', '--save', name);
      expect([r.code, r.stderr]).toEqual([expect.any(Number), expect.stringContaining(message)]);
    }
    expect(readdirSync(join(dir, 'views')).length).toBe(before);
    const empty = await cli('materialize', dir, 'select * where label == 99');
    expect(empty.stderr).toBe('edgelake materialize: the query selected no sample\n');
  });
});
