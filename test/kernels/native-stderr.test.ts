// What native code prints to stderr while an adapter is requested: Dawn's limit notice goes, the rest stays.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'edgelake-native-stderr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

/**
 * Runs `code` (an ES module) in a fresh Node with tsx, its stderr a pipe as a shell makes one (a
 * terminal or a file work alike; a socket, which child_process gives, cannot be reopened and
 * passes unfiltered); its stderr as text.
 */
function run(code: string): { stderr: string; status: number | null } {
  const file = join(dir, `child-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, code);
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', '"$0" --import tsx "$1" 2>&1 >/dev/null | cat', process.execPath, file], {
    encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? dir },
  });
  return { stderr: r.stdout, status: r.status };
}

describe.skipIf(process.platform !== 'linux')('filterNativeStderr', () => {
  it('drops the lines it is told to from what fd 2 receives meanwhile, keeps the others, and gives fd 2 back', () => {
    const { stderr, status } = run(`
      import { writeSync } from 'node:fs';
      import { filterNativeStderr } from ${JSON.stringify(src('kernels/native-stderr.node.ts'))};
      console.error('before');
      const got = filterNativeStderr(() => {
        writeSync(2, 'Warning: noise 1\\nkept line\\nWarning: noise 2\\n'); // as native code writes: to the descriptor
        return 42;
      }, /^Warning: noise \\d$/);
      console.error('after', got);
    `);
    expect(status).toBe(0);
    expect(stderr).toBe('before\nkept line\nafter 42\n');
  });

  it("silences Dawn's limit notice when dawn-node opens an adapter (where there is one)", () => {
    const { stderr, status } = run(`
      import { getNodeDevice } from ${JSON.stringify(src('kernels/device.node.ts'))};
      const gpu = await getNodeDevice();
      console.error(gpu ? 'adapter' : 'no adapter');
    `);
    expect(status).toBe(0);
    expect(stderr).not.toMatch(/artificially reduced/);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/adapter$/);
  });
});
