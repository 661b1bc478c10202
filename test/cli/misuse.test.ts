// Misuse gets a message that says what was wrong and what to do, and changes nothing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { mlp } from '../../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-misuse-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the edgelake command, misused', () => {
  it('names the mistake', async () => {
    const cases: [string[], string][] = [
      [['learn', root, '--plot', 'curves.png'], '--plot draws SVG: name the file .svg, not curves.png'],
      [['cache', 'stats', '--cache', join(root, 'nope')], `no cache folder at ${join(root, 'nope')} (edgelake fetch --cache ${join(root, 'nope')}, or --budget SIZE, makes one)`],
      [['inspect', '127.0.0.1:18080/fashion-mnist'], '"127.0.0.1:18080/fashion-mnist" is not a folder; a URL needs its scheme: http://127.0.0.1:18080/fashion-mnist'],
      [['inspect', root], `no dataset at ${root}: it has no edgelake.json (a dataset's root folder or URL prefix holds edgelake.json;`],
      [['fetch', root], 'fetch fills a cache folder: give it with --cache DIR (edgelake fetch --help)'],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.stderr, argv.join(' ')).toContain(message);
    }
    expect(existsSync(join(root, 'nope'))).toBe(false); // looking did not make one
  });

  it('bald on a model without dropout is refused, not ~0 for every sample', async () => {
    const model = mlp({ layers: [4, 8, 3], seed: 1 });
    await expect(model.uncertainty(new Float32Array(8), 2, 'bald')).rejects.toThrow('bald with 10 passes is MC dropout, and this model has no dropout layer');
    const dropout = mlp({ layers: [4, 8, 3], seed: 1, dropout: 0.5 });
    expect((await dropout.uncertainty(Float32Array.from({ length: 8 }, (_, i) => i), 2, 'bald')).length).toBe(2);
    model.dispose();
    dropout.dispose();
  });
});
