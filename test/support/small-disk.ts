import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A real, small disk to fill: a tmpfs mounted at `path` (needs root, as CI and the dev container run). */
export interface SmallDisk {
  path: string;
  /** False where it could not be mounted (not root): the tests that need it skip, naming why. */
  mounted: boolean;
  /** Fills the disk with one file, leaving `spare` bytes free; returns a function that deletes it. */
  fill(spare?: number): () => void;
  unmount(): void;
}

export function smallDisk(path: string, size: string): SmallDisk {
  mkdirSync(path);
  let mounted = true;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    mounted = false;
  }
  return {
    path,
    mounted,
    fill(spare = 0) {
      const filler = join(path, 'filler');
      const fd = openSync(filler, 'w');
      const block = Buffer.alloc(4096, 1);
      try {
        for (;;) {
          const { bavail, bsize } = statfsSync(path);
          if (bavail * bsize <= spare) break;
          writeSync(fd, block);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        closeSync(fd);
      }
      return () => rmSync(filler);
    },
    unmount() {
      if (mounted) execFileSync('umount', ['--lazy', path]); // lazy: a file a failed test left open does not keep it mounted
    },
  };
}
