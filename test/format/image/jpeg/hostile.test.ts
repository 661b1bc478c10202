// What readJpegCoefficients refuses, and how: an EdgelakeError whose message starts with the
// sample's name and says what is wrong; nothing else ever escapes, nothing loops, and a header
// that claims a huge frame is refused before anything that size is allocated.
import { describe, expect, it } from 'vitest';
import { isEdgelakeError } from '../../../../src/errors.js';
import { readJpegCoefficients } from '../../../../src/format/image/jpeg/index.js';
import { mulberry32 } from '../../../support/random.js';
import { cjpeg, markerSegment, noTools, segment, splice, syntheticPnm } from './tools.js';

/** "code: message" of the error decoding `bytes` throws; fails when it throws something else or nothing. */
function refusal(bytes: Uint8Array, options: { maxPixels?: number } = {}): string {
  try {
    readJpegCoefficients(bytes, { name: 'sample.jpg', ...options });
  } catch (e) {
    if (!isEdgelakeError(e)) throw e;
    expect(e.message.startsWith('sample.jpg: ')).toBe(true);
    return `${e.code}: ${e.message}`;
  }
  throw new Error('expected an error');
}

/** Decodes or refuses with an EdgelakeError naming the sample; anything else fails the test. */
function decodesOrRefuses(bytes: Uint8Array, name: string) {
  try {
    return readJpegCoefficients(bytes, { name });
  } catch (e) {
    if (!isEdgelakeError(e) || !e.message.startsWith(`${name}: `)) throw e;
    return undefined;
  }
}

describe.skipIf(noTools())('readJpegCoefficients refuses what it does not decode', () => {
  const baseline = cjpeg(syntheticPnm(40, 24, 3), ['-quality', '80']);
  const progressive = cjpeg(syntheticPnm(40, 24, 3), ['-quality', '80', '-progressive']);
  const sof = segment(baseline, 0xc0);
  const sos = segment(baseline, 0xda);
  /** `baseline` with bytes of its frame header replaced, at offsets from the segment's 0xFF. */
  const withSof = (offset: number, values: number[]) => splice(baseline, sof.start + offset, values.length, values);

  it('kinds of JPEG it does not support, named', () => {
    expect(refusal(withSof(1, [0xc3]))).toMatch(/^invalid-input: sample\.jpg: lossless JPEG .*not supported/);
    expect(refusal(withSof(1, [0xc5]))).toMatch(/hierarchical JPEG .*not supported/);
    expect(refusal(cjpeg(syntheticPnm(16, 16, 1), ['-arithmetic']))).toMatch(/arithmetic-coded JPEG \(SOF9\) is not supported/);
    expect(refusal(cjpeg(syntheticPnm(16, 16, 1), ['-arithmetic', '-progressive']))).toMatch(/arithmetic-coded JPEG \(SOF10\)/);
    expect(refusal(withSof(4, [12]))).toMatch(/^invalid-input: sample\.jpg: 12-bit JPEG samples are not supported/);
  });

  it('two or five components (one, three and four are gray, colour and CMYK)', () => {
    const two = markerSegment(0xc0, [8, 0, 16, 0, 16, 2, 1, 0x11, 0, 2, 0x11, 1]);
    expect(refusal(splice(baseline, sof.start, sof.end - sof.start, two))).toBe('invalid-input: sample.jpg: 2 colour components (expected 1, 3 or 4)');
    const five = markerSegment(0xc0, [8, 0, 16, 0, 16, 5, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1, 4, 0x11, 0, 5, 0x11, 0]);
    expect(refusal(splice(baseline, sof.start, sof.end - sof.start, five))).toMatch(/5 colour components/);
  });

  it('sizes: zero, over maxPixels (code limit), and MCU padding beyond bounds', () => {
    expect(refusal(withSof(5, [0, 0]))).toMatch(/height 0/);
    expect(refusal(withSof(7, [0, 0]))).toMatch(/width 0/);
    expect(refusal(baseline, { maxPixels: 40 * 24 - 1 })).toBe('limit: sample.jpg: 40x24 is 960 pixels, over the limit of 959');
    expect(readJpegCoefficients(baseline, { maxPixels: 40 * 24 }).width).toBe(40);
    // 1 x 65535 pixels at 4x4 sampling: each pixel row pads to 32 samples, 3 components to 36 blocks an MCU.
    const thin = splice(withSof(5, [0xff, 0xff, 0, 1]), sof.start + 11, 1, [0x44]);
    expect(refusal(thin, { maxPixels: 65535 })).toMatch(/^limit: sample\.jpg: 1x65535 padded to whole MCUs is 2359296 coefficients, over the limit of 262140/);
  });

  it('a 65535x65535 frame in a file of a kilobyte: refused at once, nothing allocated', () => {
    expect(baseline.length).toBeLessThan(2048);
    const huge = withSof(5, [0xff, 0xff, 0xff, 0xff]);
    const before = process.memoryUsage().arrayBuffers;
    const start = performance.now();
    expect(refusal(huge)).toMatch(/^limit: sample\.jpg: 65535x65535 is 4294836225 pixels, over the limit of 64000000/);
    expect(performance.now() - start).toBeLessThan(1000); // no decoding, no zeroing of gigabytes
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it('broken headers', () => {
    expect(refusal(new TextEncoder().encode('\x89PNG\r\n\x1a\n'))).toBe('invalid-input: sample.jpg: not a JPEG (no SOI marker)');
    expect(refusal(splice(baseline, sof.start, sof.end - sof.start))).toMatch(/a scan \(SOS\) before the frame header \(SOF\)/);
    expect(refusal(splice(baseline, sof.start, 0, baseline.subarray(sof.start, sof.end)))).toMatch(/a second frame header/);
    expect(refusal(withSof(12, [4]))).toMatch(/component 1 uses quantization table 4 \(tables are 0..3\)/);
    expect(refusal(withSof(12, [2]))).toMatch(/quantization table 2 of component 1 is not defined/);
    expect(refusal(withSof(11, [0x51]))).toMatch(/sampling factors 5x1/);
    expect(refusal(splice(baseline, sos.start + 5, 1, [9]))).toMatch(/scan \(SOS\) names component 9, which the frame does not have \(1, 2, 3\)/);
    expect(refusal(splice(baseline, sos.start + 6, 1, [0x44]))).toMatch(/Huffman tables 4 and 4/);
    expect(refusal(splice(baseline, sos.start, 0, [0xff, 0xdc, 0, 4, 0, 24]))).toMatch(/DNL marker .* not supported/);
    expect(refusal(splice(baseline, sos.start, 0, [0xff, 0xc8, 0, 2]))).toMatch(/unknown marker 0xc8/);
  });

  it('more than 1000 scans (code limit): tiny scans over a large frame would each walk all its MCUs', () => {
    const first = segment(progressive, 0xda);
    // A DC refinement scan (Ss=0, Se=0, Ah=1, Al=0) of the first scan's components: a zero bit a block.
    const header = progressive.slice(first.start, first.end);
    header.set([0, 0, 0x10], header.length - 3);
    const scan = Uint8Array.from([...header, ...new Uint8Array(readJpegCoefficients(progressive).coefficients.length / 64 / 8 + 2)]);
    const scans = (n: number) => {
      const many = new Uint8Array(scan.length * n);
      for (let i = 0; i < n; i++) many.set(scan, i * scan.length);
      return splice(progressive, progressive.length - 2, 0, many); // before EOI
    };
    expect(refusal(scans(1001))).toBe('limit: sample.jpg: more than 1000 scans');
    expect(readJpegCoefficients(scans(900)).width).toBe(40);
  });

  it('corrupt Huffman tables', () => {
    const dht = segment(baseline, 0xc4);
    const counts = dht.start + 5; // after 0xFF 0xC4, the length and the class/id byte
    // The standard DC table has codes of lengths 0, 1, 5 for 1, 2, 3 bits; 2, 0, 4 leave no room for the 3-bit ones.
    expect(refusal(splice(baseline, counts, 3, [2, 0, 4]))).toMatch(/DC Huffman table 0 has more codes of 3 bits than fit \(over-subscribed/);
    expect(refusal(splice(baseline, counts + 15, 1, [255]))).toMatch(/has \d+ symbols \(at most 256\)/);
    expect(refusal(splice(baseline, dht.start + 4, 1, [0x24]))).toMatch(/DHT defines table class 2 id 4/);
    const progressiveDht = segment(progressive, 0xc4);
    expect(refusal(splice(progressive, progressiveDht.start, progressiveDht.end - progressiveDht.start))).toMatch(/DC Huffman table 0 is used by a scan but not defined/);
    // A code of sixteen ones is in no table libjpeg writes: the scan's first code then is not found.
    expect(refusal(splice(baseline, sos.end, 4, [0xff, 0x00, 0xff, 0x00]))).toMatch(/a Huffman code in the scan is not in its table/);
  });

  it('a sequential scan without DHT gets the standard tables, as Motion-JPEG frames need (libjpeg-turbo does this too)', () => {
    let bare = baseline;
    for (let dht = segment(bare, 0xc4); ; ) {
      bare = splice(bare, dht.start, dht.end - dht.start);
      try {
        dht = segment(bare, 0xc4);
      } catch {
        break;
      }
    }
    expect(bare.length).toBeLessThan(baseline.length - 400);
    expect(readJpegCoefficients(bare).coefficients).toEqual(readJpegCoefficients(baseline).coefficients);
  });

  it('progressive scans with a spectral selection or approximation out of range', () => {
    const first = segment(progressive, 0xda);
    const edit = (offset: number, value: number) => splice(progressive, first.end - offset, 1, [value]);
    expect(refusal(edit(2, 5))).toMatch(/progressive scan with Ss=0, Se=5, Ah=0, Al=\d is not valid/); // a DC scan with Se > 0
    expect(refusal(edit(1, 0x0e))).toMatch(/Al=14 is not valid/);
  });

  // libjpeg fills a cut scan with gray and warns; a half-gray photo would be a wrong training sample.
  it('a file cut anywhere before its end-of-image marker is an error naming it', () => {
    for (const [kind, bytes] of [['baseline', baseline], ['progressive', progressive]] as const) {
      for (let cut = 0; cut < bytes.length - 1; cut++) {
        const what = cut < 2 ? /not a JPEG/ : /(file ends .*, before the end-of-image marker \(truncated\)|entropy-coded data ends before the last block of its scan)/;
        expect(refusal(bytes.subarray(0, cut)), `${kind} cut at ${cut}`).toMatch(new RegExp(`^invalid-input: sample\\.jpg: ${what.source}`));
      }
    }
  });

  it('random damage: decodes or refuses with an EdgelakeError, never anything else, never hangs', () => {
    const random = mulberry32(17);
    const files = [baseline, progressive, cjpeg(syntheticPnm(40, 24, 5), ['-restart', '1', '-sample', '2x2'])];
    for (let i = 0; i < 600; i++) {
      const damaged = files[i % files.length].slice();
      const edits = 1 + Math.floor(random() * 4);
      for (let k = 0; k < edits; k++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
      decodesOrRefuses(damaged, `damaged ${i}`);
    }
  });
});
