// Every benchmark answers --help with what it measures and its command line, and runs nothing.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const benches = readdirSync('bench').filter((f) => f.endsWith('.ts') && readFileSync(`bench/${f}`, 'utf8').includes('benchArgs(import.meta.url'));

it(`${benches.length} benchmarks print their description for --help`, async () => {
  expect(benches.length).toBeGreaterThan(15);
  const run = promisify(execFile);
  for (let i = 0; i < benches.length; i += 4) {
    await Promise.all(benches.slice(i, i + 4).map(async (file) => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', `bench/${file}`, '--help'], { timeout: 60_000 });
      expect(stdout, file).toMatch(/npx tsx bench\//); // its command line, from the comment at the head of the file
    }));
  }
}, 300_000);
