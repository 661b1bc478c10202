// decodeJpegBanded, decodeJpeg's path: a baseline file goes from bytes to pixels one MCU row at a
// time. Its pixels must be the whole-image path's (readJpegCoefficients, then idctRef's planes and
// colorRef) for every sampling, restart interval, scale and EXIF orientation, and what it refuses,
// readJpegCoefficients refuses too, naming the sample.
import { describe, expect, it } from 'vitest';
import { isEdgelakeError } from '../../../src/errors.js';
import { decodeJpegBanded, type JpegFrameSize, readJpegCoefficients } from '../../../src/format/image/index.js';
import { colorRef, idctRef, jpegPlan, reconstructJpegRef, type JpegScale } from '../../../src/kernels/index.js';
import { mulberry32 } from '../../support/random.js';
import { cjpeg, djpeg, exif, noTools, photoPnm, segment, splice, syntheticPnm } from './jpeg/tools.js';

const SCALES: JpegScale[] = [1, 2, 4, 8];
const VARIANTS: [string, string[]][] = [
  ['4:4:4', ['-sample', '1x1']],
  ['4:2:2', ['-sample', '2x1']],
  ['4:2:0', ['-sample', '2x2']],
  ['4:4:0', ['-sample', '1x2']],
  ['4:1:1', ['-sample', '4x1']],
  ['2x2 1x2 1x2', ['-sample', '2x2,1x2,1x2']],
  ['4:2:0, a restart every MCU row', ['-sample', '2x2', '-restart', '1']],
  ['4:4:4, a restart every 5 MCUs', ['-sample', '1x1', '-restart', '5B']],
  ['gray', ['-grayscale']],
  ['gray sampled 2x2 (its scan codes a row of blocks at a time)', ['-grayscale', '-sample', '2x2']],
  ['RGB', ['-rgb']],
  ['progressive 4:2:0 (band by band, every scan resumed)', ['-sample', '2x2', '-progressive']],
  ['progressive 4:4:4, a restart every 3 MCUs', ['-sample', '1x1', '-progressive', '-restart', '3B']],
  ['progressive 4:2:2, a restart every MCU row', ['-sample', '2x1', '-progressive', '-restart', '1']],
  ['progressive gray sampled 2x2', ['-grayscale', '-sample', '2x2', '-progressive']],
];

/** The whole-image path: all coefficients, all planes, then colour. */
function whole(bytes: Uint8Array, scale: JpegScale): Uint8Array {
  const coef = readJpegCoefficients(bytes);
  const plan = jpegPlan(coef, scale);
  return colorRef(plan, idctRef(coef, plan));
}

/** The error decoding throws, as "code: message"; undefined when it decodes. */
function refusal(decode: () => unknown): string | undefined {
  try {
    decode();
    return undefined;
  } catch (e) {
    if (!isEdgelakeError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
}

describe.skipIf(noTools(['nature/Dune.jpg']))('decodeJpegBanded', () => {
  // A photo at 1/8 (210x132) and a small odd size: MCU rows and columns cut by the image's edges.
  const pictures = [photoPnm('nature/Dune.jpg', '1/8'), syntheticPnm(45, 37, 3)];

  it('gives the whole-image path\'s pixels for every sampling and restart interval, at every scale and EXIF orientation', () => {
    for (const [what, args] of VARIANTS) {
      for (const picture of pictures) {
        const stored = cjpeg(picture, ['-quality', '85', ...args]);
        for (let orientation = 1; orientation <= 8; orientation++) {
          const bytes = splice(stored, 2, 0, exif(orientation % 2 ? 'II' : 'MM', orientation));
          for (const scale of SCALES) {
            const image = decodeJpegBanded(bytes, { scale });
            const reference = whole(bytes, scale);
            const at = `${what}, ${image.width}x${image.height}, orientation ${orientation}, 1/${scale}`;
            expect(image.data.length, at).toBe(reference.length);
            expect(Buffer.compare(image.data, reference), at).toBe(0);
          }
        }
        // And djpeg's pixels, as stored (djpeg does not turn them).
        const ours = decodeJpegBanded(stored, { scale: 2 });
        expect(Buffer.compare(ours.data, djpeg(stored, ['-scale', '1/2']).data), `${what} against djpeg`).toBe(0);
      }
    }
  });

  it('picks its scale from the frame\'s size and orientation when asked', () => {
    const bytes = splice(cjpeg(pictures[0], []), 2, 0, exif('II', 6));
    const seen: JpegFrameSize[] = [];
    const image = decodeJpegBanded(bytes, { scale: ({ width, height, orientation }) => (seen.push({ width, height, orientation }), 4) });
    expect(seen).toEqual([{ width: 210, height: 132, orientation: 6 }]);
    expect([image.width, image.height]).toEqual([33, 53]); // 1/4, turned
    expect(Buffer.compare(image.data, whole(bytes, 4))).toBe(0);
  });

  // libjpeg fills a cut scan with gray and warns; a half-gray photo would be a wrong training sample.
  it('refuses a baseline file cut anywhere, mid-band included, as readJpegCoefficients does, naming it', () => {
    const bytes = cjpeg(pictures[0], ['-sample', '2x2', '-restart', '3B']);
    for (let cut = 0; cut < bytes.length - 1; cut += cut < 700 ? 1 : 37) {
      const part = bytes.subarray(0, cut);
      const expected = refusal(() => readJpegCoefficients(part, { name: 'cut.jpg' }));
      expect(expected, `cut at ${cut}`).toMatch(/^invalid-input: cut\.jpg: /);
      expect(refusal(() => decodeJpegBanded(part, { name: 'cut.jpg' })), `cut at ${cut}`).toBe(expected);
    }
  });

  it('refuses a progressive file cut anywhere, naming it, as readJpegCoefficients refuses it', () => {
    const bytes = cjpeg(pictures[0], ['-sample', '2x2', '-progressive', '-restart', '2B']);
    for (let cut = 0; cut < bytes.length - 1; cut += cut < 900 ? 3 : 41) {
      const part = bytes.subarray(0, cut);
      expect(refusal(() => readJpegCoefficients(part, { name: 'cut.jpg' })), `cut at ${cut}`).toMatch(/^invalid-input: cut\.jpg: /);
      expect(refusal(() => decodeJpegBanded(part, { name: 'cut.jpg' })), `cut at ${cut}`).toMatch(/^invalid-input: cut\.jpg: /);
    }
  });

  it('damaged data: decodes to the whole-image path\'s pixels, or is refused by both, naming the sample', () => {
    const random = mulberry32(29);
    const files = [cjpeg(pictures[1], ['-sample', '2x2']), cjpeg(pictures[1], ['-sample', '1x1', '-restart', '1']), cjpeg(pictures[1], ['-sample', '2x2', '-progressive'])];
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const damaged = files[i % files.length].slice();
      for (let k = 0; k < 1 + (i % 3); k++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
      const name = `damaged ${i}`;
      let expected: Uint8Array | undefined;
      const wholeRefusal = refusal(() => (expected = reconstructJpegRef(readJpegCoefficients(damaged, { name }), 1, name).data));
      let got: Uint8Array | undefined;
      const refusalHere = refusal(() => (got = decodeJpegBanded(damaged, { name }).data));
      if (wholeRefusal === undefined) {
        expect(refusalHere, name).toBeUndefined();
        expect(Buffer.compare(got!, expected!), name).toBe(0);
      } else {
        refused++;
        expect(refusalHere, name).toMatch(new RegExp(`^[a-z-]+: ${name}: `));
      }
    }
    expect(refused).toBeGreaterThan(30);
  });

  it('refuses a scan after a sequential scan of every component, as libjpeg does', () => {
    const bytes = cjpeg(pictures[1], []);
    const sos = segment(bytes, 0xda).start;
    const twice = splice(bytes, bytes.length - 2, 0, bytes.subarray(sos, bytes.length - 2));
    const message = "invalid-input: twice.jpg: a scan after a sequential scan of every component (libjpeg: Didn't expect more than one scan)";
    expect(refusal(() => decodeJpegBanded(twice, { name: 'twice.jpg' }))).toBe(message);
    expect(refusal(() => readJpegCoefficients(twice, { name: 'twice.jpg' }))).toBe(message);
  });
});
