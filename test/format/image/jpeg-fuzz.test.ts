// Mutated real JPEGs (test/support/jpeg-mutate.ts) through the CPU decode path: each one decodes
// or fails with an EdgelakeError naming the sample, quickly; nothing else escapes. A new seed
// each run; EDGELAKE_SEED=<n> replays one. bench/jpeg-fuzz.ts runs 100,000 or more with a watchdog.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MATE_DIR } from '../../../scripts/jpeg-testset.js';
import { decodeJpeg } from '../../../src/format/index.js';
import { isEdgelakeError } from '../../../src/index.js';
import { fuzzCorpus } from '../../support/jpeg-corpus.js';
import { mutateJpeg } from '../../support/jpeg-mutate.js';
import { hasCommand, missing } from '../../support/system.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const INPUTS = 3000;

const noPackages =
  missing('djpeg and cjpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('djpeg') && hasCommand('cjpeg')) ||
  missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(MATE_DIR));

describe.skipIf(noPackages)(`decoding mutated JPEGs (EDGELAKE_SEED=${seed})`, () => {
  let corpus: Uint8Array[];
  beforeAll(() => {
    corpus = fuzzCorpus();
  });

  it(`decodes or refuses each of ${INPUTS} inputs, naming it, each in under a second`, () => {
    let decoded = 0;
    let slowest = 0;
    for (let i = 0; i < INPUTS; i++) {
      const { bytes, mutations } = mutateJpeg(corpus, seed, i);
      const name = `fuzz input ${i}`;
      const started = performance.now();
      try {
        const img = decodeJpeg(bytes, { name });
        expect(img.data.length, name).toBe(img.width * img.height * img.channels);
        decoded++;
      } catch (e) {
        if (!isEdgelakeError(e) || !e.message.startsWith(`${name}: `)) {
          throw new Error(`input ${i} (${mutations.join(', ')}; EDGELAKE_SEED=${seed}) threw ${String(e)}`, { cause: e });
        }
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    expect(slowest).toBeLessThan(1000);
    // Mutations that hit only entropy data decode (with damage); headers refuse. Both must happen.
    expect(decoded).toBeGreaterThan(INPUTS * 0.05);
    expect(decoded).toBeLessThan(INPUTS * 0.95);
  }, 120_000);

  it('refuses a 65535x65535 frame on a 1 kB file at once, allocating nothing of its size', () => {
    const bytes = corpus[1].slice(0, 1024);
    for (let pos = 2; pos + 9 < bytes.length; pos += 2 + ((bytes[pos + 2] << 8) | bytes[pos + 3])) {
      if (bytes[pos + 1] >= 0xc0 && bytes[pos + 1] <= 0xc2) bytes.set([0xff, 0xff, 0xff, 0xff], pos + 5);
    }
    const started = performance.now();
    expect(() => decodeJpeg(bytes, { name: 'huge.jpg' })).toThrow(/^huge\.jpg: .*65535x65535/);
    expect(performance.now() - started).toBeLessThan(1000); // decoding it would take minutes: a loaded CI machine still passes
  });
});
