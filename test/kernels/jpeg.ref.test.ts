import { describe, expect, test } from 'vitest';
import { colorRef, idctRef, jpegPlan, reconstructJpegRef, unpackJpegPixels, type JpegCoefficients, type JpegComponentPlan, type JpegScale } from '../../src/kernels/index.js';
import { upsampleRow } from '../../src/kernels/jpeg/color.ref.js';
import { idct1, idct2, idct4, idct8 } from '../../src/kernels/jpeg/idct.ref.js';
import { mulberry32 } from '../support/random.js';
import { SAMPLINGS, syntheticCoefficients } from './jpeg.synthetic.js';

const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);
const scales: JpegScale[] = [1, 2, 4, 8];
const clamp = (x: number) => Math.min(255, Math.max(0, x));

/** A JpegCoefficients whose blocks are DC only: component c's every block holds dc[c] with quantization q. */
function flat(width: number, height: number, sampling: [number, number][], dc: number[], q = 4, color?: JpegCoefficients['color']) {
  const coef = syntheticCoefficients(mulberry32(1), { width, height, sampling, color });
  coef.coefficients.fill(0);
  coef.quantTables.fill(q);
  coef.components.forEach((c, i) => {
    for (let b = 0; b < c.blocksWide * c.blocksHigh; b++) coef.coefficients[(c.firstBlock + b) * 64] = dc[i];
  });
  return coef;
}

describe('the IDCT reference', () => {
  test.each(scales)('DC-only blocks give flat planes of round(DC * q / 8) + 128 at 1/%i, libjpeg\'s 10-bit wrap included', (scale) => {
    // 2068 * 4 / 8 = 1034 is past the range limit's 10 bits: libjpeg's table wraps it to 1034 - 1024 + 128.
    for (const [dc, expected] of [[0, 128], [-3, 127], [-4, 126], [250, 253], [300, 255], [-300, 0], [7, 132], [2068, 138]]) {
      const coef = flat(19, 13, [[1, 1]], [dc]);
      const plan = jpegPlan(coef, scale);
      const planes = idctRef(coef, plan);
      const p = plan.components[0];
      const samples = [];
      for (let y = 0; y < p.planeHeight; y++) samples.push(...planes.subarray(p.offset + y * p.stride, p.offset + y * p.stride + p.planeWidth));
      expect(new Set(samples), `DC ${dc}`).toEqual(new Set([expected]));
      expect(samples.length).toBe(3 * 2 * (8 / scale) ** 2);
    }
  });

  // The true IDCT at every pixel, then the mean of each (8 / size)^2 group: what libjpeg's reduced sizes compute.
  function floatIdct(block: Float64Array, size: number): number[] {
    const c = (u: number) => (u === 0 ? Math.SQRT1_2 : 1);
    const full = new Float64Array(64);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      let sum = 0;
      for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) {
        sum += c(u) * c(v) * block[v * 8 + u] * Math.cos(((2 * x + 1) * u * Math.PI) / 16) * Math.cos(((2 * y + 1) * v * Math.PI) / 16);
      }
      full[y * 8 + x] = sum / 4;
    }
    const group = 8 / size;
    const out: number[] = [];
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      let sum = 0;
      for (let dy = 0; dy < group; dy++) for (let dx = 0; dx < group; dx++) sum += full[(y * group + dy) * 8 + x * group + dx];
      out.push(clamp(Math.round(sum / group ** 2 + 128)));
    }
    return out;
  }

  test.each([[8, idct8], [4, idct4], [2, idct2], [1, idct1]] as const)('size %i output is within 1 of the float IDCT (means of pixel groups when scaled) on random blocks', (size, transform) => {
    const random = mulberry32(seed);
    const coefficients = new Int16Array(64);
    const quant = new Uint16Array(64);
    const out = new Uint8Array(64);
    let worst = 0;
    for (let n = 0; n < 300; n++) {
      const dequantized = new Float64Array(64);
      for (let k = 0; k < 64; k++) {
        quant[k] = 1 + Math.floor(random() * 12);
        const sparse = random() < 0.4 + 0.5 * Math.floor(random() * 2); // half the blocks mostly zero
        coefficients[k] = sparse && k > 0 ? 0 : Math.round(((random() - 0.5) * (k === 0 ? 1600 : 500)) / (quant[k] * (1 + (k % 8) + (k >> 3))));
        dequantized[k] = coefficients[k] * quant[k];
      }
      transform(coefficients, 0, quant, 0, out, 0, size);
      const expected = floatIdct(dequantized, size);
      for (let i = 0; i < size * size; i++) worst = Math.max(worst, Math.abs(out[i] - expected[i]));
    }
    expect(worst, `seed ${seed}`).toBeLessThanOrEqual(1);
  });
});

describe('the plan', () => {
  test('scaled IDCT sizes take over chroma upsampling where the ratio allows, as libjpeg chooses them', () => {
    const choices = (name: string, width: number, height: number) =>
      scales.map((scale) => {
        const plan = jpegPlan(syntheticCoefficients(mulberry32(1), { ...SAMPLINGS[name], width, height }), scale);
        return [`${plan.width}x${plan.height}`, ...plan.components.map((p) => `${p.size} ${p.upsample}${p.upsample === 'replicate' ? ` ${p.hExpand}x${p.vExpand}` : ''}`)].join(', ');
      });
    expect(choices('4:2:0', 101, 75)).toEqual([
      '101x75, 8 full, 8 h2v2, 8 h2v2', '51x38, 4 full, 8 full, 8 full', '26x19, 2 full, 4 full, 4 full', '13x10, 1 full, 2 full, 2 full',
    ]);
    expect(choices('4:2:2', 101, 75)).toEqual([
      '101x75, 8 full, 8 h2v1, 8 h2v1', '51x38, 4 full, 4 h2v1, 4 h2v1', '26x19, 2 full, 2 h2v1, 2 h2v1', '13x10, 1 full, 1 replicate 2x1, 1 replicate 2x1',
    ]);
    expect(choices('4:4:0', 101, 75)).toEqual([
      '101x75, 8 full, 8 h1v2, 8 h1v2', '51x38, 4 full, 4 h1v2, 4 h1v2', '26x19, 2 full, 2 h1v2, 2 h1v2', '13x10, 1 full, 1 replicate 1x2, 1 replicate 1x2',
    ]);
    expect(choices('4:1:1', 101, 75)[0]).toBe('101x75, 8 full, 8 replicate 4x1, 8 replicate 4x1');
    // Two chroma samples across or fewer: h2 filters fall back to replication.
    expect(choices('4:2:0', 4, 20)[0]).toBe('4x20, 8 full, 8 replicate 2x2, 8 replicate 2x2');
    expect(choices('4:2:0', 4, 20)[1]).toBe('2x10, 4 full, 8 full, 8 full');
  });

  test('planes cover the valid blocks only; samples are libjpeg\'s downsampled_width and _height', () => {
    const plan = jpegPlan(syntheticCoefficients(mulberry32(1), { ...SAMPLINGS['4:2:0'], width: 33, height: 17 }), 1);
    expect(plan.components.map((p) => [p.validBlocksWide, p.validBlocksHigh, p.planeWidth, p.stride, p.sampleWidth, p.sampleHeight])).toEqual([
      [5, 3, 40, 40, 33, 17],
      [3, 2, 24, 24, 17, 9],
      [3, 2, 24, 24, 17, 9],
    ]);
    expect(plan.components[0].blocksWide).toBe(6); // 3 MCUs of 2 blocks: the last block column is padding
  });

  test('bad layouts are EdgelakeErrors that name the image', () => {
    const good = syntheticCoefficients(mulberry32(1), { ...SAMPLINGS['4:2:0'], width: 20, height: 20 });
    const fractional = syntheticCoefficients(mulberry32(1), { width: 20, height: 20, sampling: [[3, 1], [2, 1], [1, 1]] });
    const bad: [Partial<JpegCoefficients>, JpegScale, RegExp][] = [
      [{}, 3 as JpegScale, /scale must be 1, 2, 4 or 8/],
      [{ orientation: 0 }, 1, /orientation must be 1..8/],
      [{ width: 0 }, 1, /width must be an integer/],
      [{ color: 'gray' }, 1, /gray needs 1 component/],
      [{ maxH: 1 }, 1, /not the largest sampling factors/],
      [{ components: good.components.map((c) => ({ ...c, blocksWide: c.blocksWide - 1 })) }, 1, /the MCU grid needs/],
      [{ coefficients: good.coefficients.subarray(64) }, 1, /the array holds/],
      [{ quantTables: good.quantTables.subarray(0, 64) }, 1, /192 quantization values/],
      [fractional, 1, /component 1: sampling 2x1 of 3x1 is a fractional ratio/],
    ];
    for (const [change, scale, message] of bad) {
      const call = () => reconstructJpegRef({ ...good, ...change }, scale, 'photo.jpg');
      expect(call, JSON.stringify(Object.keys(change))).toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(/^photo\.jpg: /) }));
      expect(call).toThrow(message);
    }
  });
});

describe('upsampling equals a transcription of libjpeg-turbo jdsample.c', () => {
  // The C loops as written, on one component's rows; rows[-1] and rows[n] are the first and last
  // rows repeated, as jdmainct.c's context pointers make them.
  const h2v1 = (inp: number[], width: number) => {
    const out: number[] = [];
    let p = 0;
    let invalue = inp[p++];
    out.push(invalue, (invalue * 3 + inp[p] + 2) >> 2);
    for (let colctr = width - 2; colctr > 0; colctr--) {
      invalue = inp[p++] * 3;
      out.push((invalue + inp[p - 2] + 1) >> 2, (invalue + inp[p] + 2) >> 2);
    }
    invalue = inp[p];
    out.push((invalue * 3 + inp[p - 1] + 1) >> 2, invalue);
    return out;
  };
  const h2v2 = (inptr0: number[], inptr1: number[], width: number) => {
    const out: number[] = [];
    let p = 0;
    let thiscolsum = inptr0[p] * 3 + inptr1[p++];
    let nextcolsum = inptr0[p] * 3 + inptr1[p++];
    out.push((thiscolsum * 4 + 8) >> 4, (thiscolsum * 3 + nextcolsum + 7) >> 4);
    let lastcolsum = thiscolsum;
    thiscolsum = nextcolsum;
    for (let colctr = width - 2; colctr > 0; colctr--) {
      nextcolsum = inptr0[p] * 3 + inptr1[p++];
      out.push((thiscolsum * 3 + lastcolsum + 8) >> 4, (thiscolsum * 3 + nextcolsum + 7) >> 4);
      lastcolsum = thiscolsum;
      thiscolsum = nextcolsum;
    }
    out.push((thiscolsum * 3 + lastcolsum + 8) >> 4, (thiscolsum * 4 + 7) >> 4);
    return out;
  };
  const h1v2 = (inptr0: number[], inptr1: number[], bias: number) => inptr0.map((s, x) => (s * 3 + inptr1[x] + bias) >> 2);

  /** Every output row libjpeg makes from `rows` (sampleHeight rows of sampleWidth). */
  function libjpeg(kind: string, rows: number[][], hExpand: number, vExpand: number): number[][] {
    const n = rows.length;
    const at = (j: number) => rows[Math.min(Math.max(j, 0), n - 1)];
    const out: number[][] = [];
    for (let j = 0; j < n; j++) {
      if (kind === 'h2v1') out.push(h2v1(rows[j], rows[j].length));
      if (kind === 'h2v2') out.push(h2v2(rows[j], at(j - 1), rows[j].length), h2v2(rows[j], at(j + 1), rows[j].length));
      if (kind === 'h1v2') out.push(h1v2(rows[j], at(j - 1), 1), h1v2(rows[j], at(j + 1), 2));
      if (kind === 'replicate') for (let v = 0; v < vExpand; v++) out.push(rows[j].flatMap((s) => Array<number>(hExpand).fill(s)));
    }
    return out;
  }

  const cases = [
    ['h2v1', 1, 3, 1], ['h2v1', 7, 5, 1], ['h2v2', 1, 3, 2], ['h2v2', 8, 6, 2], ['h2v2', 5, 7, 2],
    ['h1v2', 1, 1, 1], ['h1v2', 6, 4, 1], ['replicate', 4, 3, 1], ['replicate', 5, 2, 3],
  ] as const;
  test.each(cases)('%s on %i rows of %i samples (replicate: %i across)', (kind, rowsHigh, across, expand) => {
    const random = mulberry32(seed + rowsHigh * 7 + across);
    const hExpand = kind === 'h1v2' ? 1 : kind === 'replicate' ? expand : 2;
    const vExpand = kind === 'h2v1' ? 1 : kind === 'replicate' ? 4 - expand : 2;
    const rows = Array.from({ length: rowsHigh }, () => Array.from({ length: across }, () => Math.floor(random() * 256)));
    const stride = Math.ceil(across / 4) * 4 + 4;
    const planes = new Uint8Array(stride * rowsHigh).fill(77); // padding the filters must not read
    rows.forEach((r, y) => planes.set(r, y * stride));
    const p = { offset: 0, stride, sampleWidth: across, sampleHeight: rowsHigh, upsample: kind, hExpand, vExpand } as JpegComponentPlan;
    const expected = libjpeg(kind, rows, hExpand, vExpand);
    const width = across * hExpand;
    const row = new Uint8Array(width + 8);
    const ours = expected.map((_, y) => {
      upsampleRow(p, planes, y, width, row);
      return [...row.subarray(0, width)];
    });
    expect(ours).toEqual(expected);
  });
});

describe('pixels', () => {
  // FIX() as jdcolor.c computes it, from the JFIF constants.
  const fix = (x: number) => Math.floor(x * 65536 + 0.5);
  const yccToRgb = (y: number, cb: number, cr: number) => [
    clamp(y + ((fix(1.402) * (cr - 128) + 32768) >> 16)),
    clamp(y + ((-fix(0.34414) * (cb - 128) + 32768 - fix(0.71414) * (cr - 128)) >> 16)),
    clamp(y + ((fix(1.772) * (cb - 128) + 32768) >> 16)),
  ];

  // cmyk.h's rounding of C * K / 255 on Adobe's inverted values; YCCK's YCbCr is Adobe's C, M, Y inverted.
  const cmykToRgb = (color: string, [c, m, y, k]: number[]) => {
    const cmy = color === 'ycck' ? yccToRgb(c, m, y).map((v) => 255 - v) : [c, m, y];
    return cmy.map((v) => Math.floor((v * k) / 255 + 0.5));
  };

  test('odd sizes of every sampling and scale: the oriented size, and flat blocks stay one flat colour', () => {
    const random = mulberry32(seed);
    const sizes = [1, 2, 3, 7, 9, 15, 16, 17, 31, 33];
    for (const [name, { sampling, color }] of Object.entries(SAMPLINGS)) {
      for (const scale of scales) {
        const [width, height] = [sizes[Math.floor(random() * sizes.length)], sizes[Math.floor(random() * sizes.length)]];
        const dc = sampling.map(() => Math.floor(random() * 200) - 100);
        const coef = { ...flat(width, height, sampling, dc, 5, color), orientation: 1 + Math.floor(random() * 8) };
        const image = reconstructJpegRef(coef, scale);
        const [w, h] = [Math.ceil(width / scale), Math.ceil(height / scale)];
        const what = `${name} ${width}x${height} 1/${scale} orientation ${coef.orientation}`;
        expect([image.width, image.height], what).toEqual(coef.orientation >= 5 ? [h, w] : [w, h]);
        const samples = dc.map((d) => Math.floor((d * 5 + 4) / 8) + 128);
        const pixel = color === 'gray' || color === 'rgb' ? samples : color === 'ycbcr' ? yccToRgb(samples[0], samples[1], samples[2]) : cmykToRgb(color, samples);
        expect(new Set(Array.from(image.data, (v, i) => `${i % image.channels}:${v}`)), what).toEqual(new Set(pixel.map((v, c) => `${c}:${v}`)));
      }
    }
  });

  test('EXIF orientations 1..8 turn a 3x2 image as the EXIF specification draws them', () => {
    // At 1/8 each block is one pixel: a b c / d e f, gray and RGB.
    const values = [10, 20, 30, 40, 50, 60];
    const [a, b, c, d, e, f] = values; // DC v - 128 at quantization 8 is sample v
    const turned: Record<number, number[][]> = {
      1: [[a, b, c], [d, e, f]],
      2: [[c, b, a], [f, e, d]],
      3: [[f, e, d], [c, b, a]],
      4: [[d, e, f], [a, b, c]],
      5: [[a, d], [b, e], [c, f]],
      6: [[d, a], [e, b], [f, c]],
      7: [[f, c], [e, b], [d, a]],
      8: [[c, f], [b, e], [a, d]],
    };
    for (let orientation = 1; orientation <= 8; orientation++) {
      const gray = { ...flat(24, 16, [[1, 1]], [0], 8), orientation };
      values.forEach((v, i) => (gray.coefficients[i * 64] = v - 128));
      const image = reconstructJpegRef(gray, 8);
      const rows = Array.from({ length: image.height }, (_, y) => [...image.data.subarray(y * image.width, (y + 1) * image.width)]);
      expect(rows, `orientation ${orientation}`).toEqual(turned[orientation]);
      // RGB: the channels stay together; G and B are R plus 1 and 2 DC steps.
      const rgb = { ...flat(24, 16, [[1, 1], [1, 1], [1, 1]], [0, 0, 0], 8, 'rgb'), orientation };
      for (const [k, comp] of rgb.components.entries()) values.forEach((v, i) => (rgb.coefficients[(comp.firstBlock + i) * 64] = v - 128 + k));
      const colour = reconstructJpegRef(rgb, 8);
      expect([...colour.data].filter((_, i) => i % 3 === 0), `RGB orientation ${orientation}`).toEqual(turned[orientation].flat());
      expect([...colour.data].filter((_, i) => i % 3 === 2), `RGB orientation ${orientation}`).toEqual(turned[orientation].flat().map((v) => v + 2));
    }
  });

  test('row by row (reconstructJpegRef) equals whole planes (idctRef, colorRef): every sampling, scale and orientation', () => {
    const random = mulberry32(seed);
    for (const [name, spec] of Object.entries(SAMPLINGS)) {
      for (const [width, height] of [[1, 1], [17, 9], [33, 47], [61, 75]]) {
        const orientation = 1 + Math.floor(random() * 8);
        const coef = syntheticCoefficients(random, { ...spec, width, height, orientation });
        for (const scale of scales) {
          const plan = jpegPlan(coef, scale);
          const whole = colorRef(plan, idctRef(coef, plan));
          expect(Buffer.compare(reconstructJpegRef(coef, scale).data, whole), `${name} ${width}x${height} 1/${scale} orientation ${orientation}, seed ${seed}`).toBe(0);
        }
      }
    }
    // Every orientation of one image, and libjpeg's odd sampling 2x2 / 1x2 / 1x2, at each scale.
    for (let orientation = 1; orientation <= 8; orientation++) {
      const coef = syntheticCoefficients(random, { ...SAMPLINGS['2x2 1x2'], width: 45, height: 70, orientation });
      for (const scale of scales) {
        const plan = jpegPlan(coef, scale);
        expect(Buffer.compare(reconstructJpegRef(coef, scale).data, colorRef(plan, idctRef(coef, plan))), `orientation ${orientation} 1/${scale}`).toBe(0);
      }
    }
  });

  test('bands of MCU rows and of output rows give the whole image', () => {
    const coef = { ...syntheticCoefficients(mulberry32(seed), { ...SAMPLINGS['4:2:0'], width: 61, height: 75 }), orientation: 6 };
    for (const scale of scales) {
      const plan = jpegPlan(coef, scale);
      const whole = reconstructJpegRef(coef, scale).data;
      const planes = new Uint8Array(plan.planeBytes);
      for (const [from, to] of [[2, plan.mcuRows], [0, 1], [1, 2]]) idctRef(coef, plan, planes, from, to);
      expect(planes, `planes at 1/${scale}`).toEqual(idctRef(coef, plan));
      const out = new Uint8Array(whole.length);
      const middle = Math.floor(plan.height / 2) + 1;
      colorRef(plan, planes, out, middle, plan.height);
      colorRef(plan, planes, out, 0, middle);
      expect(out, `pixels at 1/${scale}`).toEqual(whole);
    }
  });
});

describe('unpackJpegPixels', () => {
  test('the GPU\'s RGBA words to RGB or gray samples: every pixel count, from any offset of the words', () => {
    const random = mulberry32(seed);
    for (const [width, height] of [[1, 1], [2, 1], [3, 1], [4, 1], [5, 3], [7, 7], [64, 33]]) {
      const words = Uint32Array.from({ length: width * height + 1 }, () => Math.floor(random() * 2 ** 32));
      for (const channels of [1, 3] as const) {
        const image = unpackJpegPixels(words.subarray(1), width, height, channels);
        const expected = Uint8Array.from({ length: width * height * channels }, (_, i) => (words[1 + Math.floor(i / channels)] >>> (8 * (i % channels))) & 255);
        expect({ ...image, data: [...image.data] }, `${width}x${height}, ${channels} channel(s)`).toEqual({ width, height, channels, data: [...expected] });
      }
    }
  });
});
