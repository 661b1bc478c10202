import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Tests that need a system component call this to decide whether to skip. On a bare machine
 * they skip with a line naming what is missing; under EDGELAKE_REQUIRE_SYSTEM=1 (CI) a missing
 * component is a failure instead.
 *
 *   describe.skipIf(missing('nginx', 'apt-get install nginx', hasCommand('nginx')))(...)
 */
export function missing(component: string, howToInstall: string, available: boolean): boolean {
  if (available) return false;
  const line = `${component} is missing (${howToInstall}; or run scripts/setup-debian.sh)`;
  if (process.env.EDGELAKE_REQUIRE_SYSTEM === '1') {
    throw new Error(`EDGELAKE_REQUIRE_SYSTEM=1 but ${line}`);
  }
  console.warn(`skipping: ${line}`);
  return true;
}

export function hasCommand(name: string): boolean {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin']) {
    if (existsSync(`${dir}/${name}`)) return true;
  }
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
