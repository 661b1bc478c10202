import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `run` (synchronous native code that writes to the process's stderr, fd 2) with fd 2
 * pointed at a file, then writes back to stderr every line it printed except those `drop`
 * matches. Linux only, where fd 2 can be reopened through /proc/self/fd; elsewhere, or when fd 2
 * cannot be reopened (a socket, no stderr), `run` runs as it is. No JavaScript runs meanwhile,
 * so nothing of ours is lost; only a native line that `drop` names.
 */
export function filterNativeStderr<T>(run: () => T, drop: RegExp): T {
  if (process.platform !== 'linux') return run();
  let saved: number;
  try {
    saved = openSync('/proc/self/fd/2', 'a');
  } catch {
    return run();
  }
  const dir = mkdtempSync(join(tmpdir(), 'edgelake-stderr-'));
  const file = join(dir, 'native.log');
  closeSync(2);
  const captured = openSync(file, 'w+', 0o600); // the lowest free descriptor: 2
  try {
    return run();
  } finally {
    closeSync(captured);
    openSync(`/proc/self/fd/${saved}`, 'a'); // fd 2 again, the stream it was
    closeSync(saved);
    const kept = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '' && !drop.test(line));
    rmSync(dir, { recursive: true, force: true });
    if (kept.length) process.stderr.write(kept.join('\n') + '\n');
  }
}
