// decodeImage without a device: the CPU path a README user gets, for JPEG and PNG.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng } from './png-encoder.js';
import { decodeJpeg } from '../../../src/format/index.js';
import { decodeImage } from '../../../src/index.js';
import { missing } from '../../support/system.js';

const DUNE = '/usr/share/backgrounds/mate/nature/Dune.jpg';

describe('decodeImage', () => {
  it.skipIf(missing('JPEG photos', 'apt-get install mate-backgrounds', existsSync(DUNE)))('resolves a JPEG to RGB samples, at full size or 1/N', async () => {
    const bytes = readFileSync(DUNE);
    const img = await decodeImage(bytes);
    expect({ width: img.width, height: img.height, channels: img.channels }).toEqual({ width: 1680, height: 1050, channels: 3 });
    expect(Buffer.compare(img.data, decodeJpeg(bytes).data)).toBe(0); // toEqual is slow on megabytes
    const eighth = await decodeImage(bytes, { scale: 8 });
    expect([eighth.width, eighth.height]).toEqual([210, 132]);
  });

  it('drops a PNG\'s alpha: gray+alpha to 1 channel, RGBA to 3', async () => {
    const rgba = await decodeImage(encodePng({ width: 2, height: 1, colorType: 6, bitDepth: 8, samples: Uint16Array.of(10, 20, 30, 0, 40, 50, 60, 255) }));
    expect(rgba).toEqual({ width: 2, height: 1, channels: 3, data: Uint8Array.of(10, 20, 30, 40, 50, 60) });
    const grayAlpha = await decodeImage(encodePng({ width: 2, height: 1, colorType: 4, bitDepth: 8, samples: Uint16Array.of(7, 0, 9, 255) }));
    expect(grayAlpha).toEqual({ width: 2, height: 1, channels: 1, data: Uint8Array.of(7, 9) });
  });

  it('rejects what is neither JPEG nor PNG, naming it', async () => {
    await expect(decodeImage(Uint8Array.of(1, 2, 3), { name: 'notes.txt' })).rejects.toThrow(/^notes\.txt: neither JPEG nor PNG/);
  });
});
