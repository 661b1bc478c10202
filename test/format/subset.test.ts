import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSubset, SUBSET_FILES } from '../../scripts/make-subset.js';
import { SUBSET } from '../support/cli.js';
import { FASHION_MNIST_DIR, missing } from '../support/system.js';
import { existsSync } from 'node:fs';
import { parseIdx } from '../../src/format/index.js';

describe('the bundled Fashion-MNIST subset', () => {
  it('holds 500 train and 100 test images of each class', () => {
    for (const [file, perClass] of [['train-labels-idx1-ubyte.gz', 500], ['t10k-labels-idx1-ubyte.gz', 100]] as const) {
      const labels = parseIdx(readFileSync(join(SUBSET, file)), file).data;
      const counts = new Array(10).fill(0);
      labels.forEach((l) => counts[l]++);
      expect(counts).toEqual(new Array(10).fill(perClass));
    }
  });

  it.skipIf(missing('the Fashion-MNIST dataset', 'apt-get install dataset-fashion-mnist', existsSync(FASHION_MNIST_DIR)))(
    'is byte-identical to what scripts/make-subset.ts derives from the Debian package',
    () => {
      const made = makeSubset(FASHION_MNIST_DIR);
      for (const name of SUBSET_FILES) expect(Buffer.compare(made.get(name)!, readFileSync(join(SUBSET, name))), name).toBe(0);
    },
  );
});
