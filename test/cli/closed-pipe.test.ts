// `edgelake ... | head -c 20`: the reader closes the pipe early; the command stops quietly, as git does.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';

it('exits quietly, without an EPIPE stack trace, when stdout is closed early', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // closed before the first write: every write fails with EPIPE
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect([code, stderr]).toEqual([0, '']);
}, 30_000);
