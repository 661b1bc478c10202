import { describe, expect, test } from 'vitest';
import { boxScale, centerBox, fitBox, fitRandom, fitRef, packImages, randomResizedBox, scaleBox, type FitBox, type FitCrop, type FitOptions, type FitSample } from '../../src/kernels/index.js';
import { resizeArea } from '../../src/format/image/image.js';
import { mulberry32 } from '../support/random.js';

// A new seed each run; EDGELAKE_SEED=<n> replays a failure.
const seed = Number(process.env.EDGELAKE_SEED ?? Date.now() % 2 ** 32);

/** One image's fit, as a plain array. */
function fit1(data: number[] | Uint8Array, width: number, height: number, box: FitBox, out: [number, number], channels = 1): number[] {
  const samples = [{ offset: 0, width, height, box }];
  return [...fitRef(Uint8Array.from(data), { channels, width: out[0], height: out[1], samples })];
}
const full = (w: number, h: number): FitBox => ({ x: 0, y: 0, w, h });
const randomImage = (random: () => number, n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));

/**
 * The GPU's order, written from the filter's definition: per output byte, a walk over its whole
 * footprint, each row value recomputed. fitRef's two passes must give the same bytes.
 */
function footprintWalk(bytes: Uint8Array, o: FitOptions): Uint8Array {
  const c = o.channels;
  const out = new Uint8Array(o.samples.length * o.width * o.height * c);
  const taps = (i: number, box: number, len: number): [number, number][] => {
    if (box >= len) {
      const [lo, hi] = [i * box, (i + 1) * box];
      const list: [number, number][] = [];
      for (let j = 0; j < box; j++) {
        const overlap = Math.min(hi, (j + 1) * len) - Math.max(lo, j * len);
        if (overlap > 0) list.push([j, overlap]);
      }
      return list;
    }
    const den = 2 * len;
    if (box === 1) return [[0, den]];
    const num = Math.min(Math.max((2 * i + 1) * box - len, 0), (box - 1) * den);
    const j = Math.min(Math.floor(num / den), box - 2);
    return [[j, den - (num - j * den)], [j + 1, num - j * den]];
  };
  let b = 0;
  for (const { offset, width, box } of o.samples) {
    const [dx, dy] = [box.w >= o.width ? box.w : 2 * o.width, box.h >= o.height ? box.h : 2 * o.height];
    for (let oy = 0; oy < o.height; oy++) {
      for (let ox = 0; ox < o.width; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (const [j, wy] of taps(oy, box.h, o.height)) {
            let sum = 0;
            for (const [i, wx] of taps(ox, box.w, o.width)) sum += wx * bytes[offset + ((box.y + j) * width + box.x + i) * c + ch];
            acc += wy * Math.floor((sum * 256 + Math.floor(dx / 2)) / dx);
          }
          out[b++] = Math.floor((acc + dy * 128) / (dy * 256));
        }
      }
    }
  }
  return out;
}

describe('fit CPU reference, against values computed by hand', () => {
  test('a box the size of the output is copied: the whole image, or a window of it', () => {
    const image = randomImage(mulberry32(seed), 5 * 4 * 3);
    expect(fit1(image, 5, 4, full(5, 4), [5, 4], 3)).toEqual([...image]);
    const window = [1, 2].flatMap((y) => [...image.subarray((y * 5 + 2) * 3, (y * 5 + 5) * 3)]);
    expect(fit1(image, 5, 4, { x: 2, y: 1, w: 3, h: 2 }, [3, 2], 3)).toEqual(window);
  });

  test('2x2 -> 1x1 is the mean, halves rounded up', () => {
    // Rows: (10 + 20) / 2 = 15 and (30 + 42) / 2 = 36 as mids 3840, 9216 (x 256); (3840 + 9216) / 512 = 25.5 -> 26.
    expect(fit1([10, 20, 30, 42], 2, 2, full(2, 2), [1, 1])).toEqual([26]);
    expect(fit1([10, 20, 30, 41], 2, 2, full(2, 2), [1, 1])).toEqual([25]); // 25.25
    expect(fit1([0, 0, 0, 1], 2, 2, full(2, 2), [1, 1])).toEqual([0]); // 0.25
    expect(fit1([255, 255, 255, 255], 2, 2, full(2, 2), [1, 1])).toEqual([255]);
  });

  test('3 -> 2 weighs the middle pixel half to each side', () => {
    // Output 0 covers [0, 3) in units of 1/2 pixel: 2 of pixel 0, 1 of pixel 1; D = 3.
    expect(fit1([30, 60, 90], 3, 1, full(3, 1), [2, 1])).toEqual([40, 80]);
  });

  test('enlarging 1 -> n repeats the pixel; 2 -> 4 is bilinear between the centres', () => {
    expect(fit1([77], 1, 1, full(1, 1), [3, 2])).toEqual(Array(6).fill(77));
    // x = (2i + 1) / 4 - 1/2 = -1/4, 1/4, 3/4, 5/4, clamped to [0, 1].
    expect(fit1([0, 100], 2, 1, full(2, 1), [4, 1])).toEqual([0, 25, 75, 100]);
    expect(fit1([0, 100], 1, 2, full(1, 2), [1, 4])).toEqual([0, 25, 75, 100]);
  });

  test('shrinking across, enlarging down, in one fit', () => {
    // 4x2 -> 2x3: rows average pairs (10, 30 -> 20; 50, 70 -> 60 and 110, 130 -> 120; 150, 170 -> 160),
    // then columns go 2 -> 3: y = -1/6, 1/2, 7/6 -> row 0, the mean, row 1.
    const image = [10, 30, 50, 70, 110, 130, 150, 170];
    expect(fit1(image, 4, 2, full(4, 2), [2, 3])).toEqual([20, 60, 70, 110, 120, 160]);
  });

  test('boxes at the edges read only inside the box', () => {
    const random = mulberry32(seed + 1);
    const image = randomImage(random, 7 * 5 * 3);
    const corner = { x: 4, y: 2, w: 3, h: 3 };
    const cropped = [2, 3, 4].flatMap((y) => [...image.subarray((y * 7 + 4) * 3, (y * 7 + 7) * 3)]);
    expect(fit1(image, 7, 5, corner, [2, 5], 3)).toEqual(fit1(cropped, 3, 3, full(3, 3), [2, 5], 3));
    const last = [...image.subarray(image.length - 3)];
    expect(fit1(image, 7, 5, { x: 6, y: 4, w: 1, h: 1 }, [2, 2], 3)).toEqual([...last, ...last, ...last, ...last]);
    const column = [0, 1, 2, 3, 4].flatMap((y) => [...image.subarray(y * 7 * 3, y * 7 * 3 + 3)]);
    expect(fit1(image, 7, 5, { x: 0, y: 0, w: 1, h: 5 }, [3, 2], 3)).toEqual(fit1(column, 1, 5, full(1, 5), [3, 2], 3));
  });

  test('a batch: each sample from its own offset, packed back to back', () => {
    const random = mulberry32(seed + 2);
    const images = [[9, 7], [1, 1], [30, 2], [4, 13]].map(([w, h]) => ({ w, h, data: randomImage(random, w * h * 3) }));
    const { bytes, offsets } = packImages(images.map((i) => i.data));
    expect(offsets.every((o) => o % 4 === 0)).toBe(true);
    const samples: FitSample[] = images.map((im, i) => ({ offset: offsets[i], width: im.w, height: im.h, box: full(im.w, im.h) }));
    const batch = fitRef(bytes, { channels: 3, width: 3, height: 2, samples });
    const one = images.flatMap((im) => fit1(im.data, im.w, im.h, full(im.w, im.h), [3, 2], 3));
    expect([...batch]).toEqual(one);
  });

  test('pixels in RGBA words (pixelStride 4) fit as the same pixels packed: the 4th byte is skipped', () => {
    const random = mulberry32(seed + 4);
    const [w, h] = [11, 6];
    const rgba = randomImage(random, w * h * 4);
    const rgb = rgba.filter((_, i) => i % 4 !== 3);
    const box = { x: 1, y: 2, w: 9, h: 4 };
    for (const channels of [1, 3]) {
      const packed = channels === 3 ? rgb : rgba.filter((_, i) => i % 4 === 0);
      const wordy = fitRef(rgba, { channels, pixelStride: 4, width: 5, height: 3, samples: [{ offset: 0, width: w, height: h, box }] });
      expect([...wordy]).toEqual(fit1(packed, w, h, box, [5, 3], channels));
    }
    expect(() => fitRef(rgba, { channels: 3, pixelStride: 2, width: 1, height: 1, samples: [] })).toThrow(/pixelStride must be an integer in 3\.\.4, got 2/);
  });

  test('two passes give the bytes of a walk over each output\'s footprint (the GPU\'s order)', () => {
    const random = mulberry32(seed + 3);
    for (let trial = 0; trial < 30; trial++) {
      const c = random() < 0.5 ? 1 : 3;
      const [width, height] = [1 + Math.floor(random() * 40), 1 + Math.floor(random() * 40)];
      const [w, h] = [1 + Math.floor(random() * 60), 1 + Math.floor(random() * 60)];
      const box = { x: Math.floor(random() * (w + 1)), y: Math.floor(random() * (h + 1)), w, h };
      const image = { width: box.x + w + Math.floor(random() * 3), height: box.y + h };
      const bytes = randomImage(random, 5 + image.width * image.height * c);
      const o = { channels: c, width, height, samples: [{ offset: 5, ...image, box }] };
      expect(fitRef(bytes, o), `seed ${seed}, ${JSON.stringify(o)}`).toEqual(footprintWalk(bytes, o));
    }
  });
});

describe('fit against resizeArea (float, src/format/image)', () => {
  test('random images, boxes and sizes: within 1 level everywhere', () => {
    const random = mulberry32(seed + 4);
    let [differ, total] = [0, 0];
    for (let trial = 0; trial < 40; trial++) {
      const channels = random() < 0.5 ? 1 : 3;
      const [width, height] = [1 + Math.floor(random() * 120), 1 + Math.floor(random() * 120)];
      const data = randomImage(random, width * height * channels);
      const [bw, bh] = [1 + Math.floor(random() * width), 1 + Math.floor(random() * height)];
      const box = { x: Math.floor(random() * (width - bw + 1)), y: Math.floor(random() * (height - bh + 1)), w: bw, h: bh };
      const [ow, oh] = [1 + Math.floor(random() * 64), 1 + Math.floor(random() * 64)];
      const ours = fit1(data, width, height, box, [ow, oh], channels);
      const theirs = resizeArea({ width, height, channels, data }, ow, oh, { x: box.x, y: box.y, width: bw, height: bh }).data;
      ours.forEach((v, i) => {
        total++;
        if (v !== theirs[i]) differ++;
        if (Math.abs(v - theirs[i]) > 1) expect.fail(`seed ${seed}, trial ${trial}, byte ${i}: ${v} vs ${theirs[i]}`);
      });
    }
    console.log(`fit vs resizeArea: ${differ} of ${total} bytes differ by 1 (seed ${seed})`);
  });
});

describe('fit tables are checked, errors name the sample', () => {
  const bytes = new Uint8Array(64);
  const good: FitSample = { offset: 0, width: 4, height: 4, box: full(4, 4) };
  const run = (change: Partial<FitSample> | Partial<FitOptions>, where: 'sample' | 'options') => () =>
    fitRef(bytes, where === 'options'
      ? { channels: 1, width: 2, height: 2, samples: [good, good], ...(change as Partial<FitOptions>) }
      : { channels: 1, width: 2, height: 2, samples: [good, { ...good, ...(change as Partial<FitSample>) }] });

  test.each([
    [{ offset: 60 }, /sample 1: the 4x4x1 image at byte 60 ends at 76, past the 64 input bytes/],
    [{ offset: -4 }, /sample 1: offset must be a non-negative integer/],
    [{ offset: 1.5 }, /sample 1: offset/],
    [{ width: 0 }, /sample 1: image size 0x4/],
    [{ box: { x: 1, y: 0, w: 4, h: 4 } }, /sample 1: box 4x4 at \(1, 0\) is outside the 4x4 image/],
    [{ box: { x: 0, y: 0, w: 0, h: 4 } }, /sample 1: box .* w, h >= 1/],
    [{ box: { x: 0, y: -1, w: 1, h: 1 } }, /sample 1: box/],
    [{ width: 40000, height: 1, box: full(40000, 1) }, /sample 1: .*past the 64 input bytes/],
  ])('%j', (change, message) => {
    expect(run(change, 'sample')).toThrow(expect.objectContaining({ code: 'invalid-input', message: expect.stringMatching(message) }));
  });

  test('a box side over 32768 is refused, naming the sample', () => {
    const big = new Uint8Array(40000);
    const samples = [{ offset: 0, width: 1, height: 1, box: full(1, 1) }, { offset: 0, width: 40000, height: 1, box: full(40000, 1) }];
    expect(() => fitRef(big, { channels: 1, width: 8, height: 1, samples })).toThrow(/sample 1: box 40000x1 has a side over 32768/);
  });

  test.each([
    [{ channels: 2 }, /channels must be 1 or 3/],
    [{ width: 0 }, /output sides/],
    [{ height: 16385 }, /output sides/],
  ])('options %j', (change, message) => {
    expect(run(change, 'options')).toThrow(message);
  });
});

describe('crop boxes', () => {
  test('centerBox: the largest centred box of the output\'s aspect ratio', () => {
    expect(centerBox(640, 480, 224, 224)).toEqual({ x: 80, y: 0, w: 480, h: 480 });
    expect(centerBox(480, 640, 224, 224)).toEqual({ x: 0, y: 80, w: 480, h: 480 });
    expect(centerBox(641, 480, 1, 1)).toEqual({ x: 80, y: 0, w: 480, h: 480 }); // the odd pixel goes right
    expect(centerBox(100, 100, 16, 9)).toEqual({ x: 0, y: 22, w: 100, h: 56 }); // 56.25 -> 56
    expect(centerBox(1000, 10, 1, 1000)).toEqual({ x: 499, y: 0, w: 1, h: 10 }); // never below 1
    expect(() => centerBox(0, 10, 1, 1)).toThrow(/width must be a positive integer/);
  });

  const script = (values: number[]) => () => values.shift() ?? expect.fail('too many draws');

  test('randomResizedBox follows get_params: area, ratio, then top and left', () => {
    // area 10000 (0.08 + 0.5 * 0.92) = 5400, ratio exp(0) = 1: 73x73, top 0, left floor(0.999 * 28).
    expect(randomResizedBox(100, 100, script([0.5, 0.5, 0, 0.999]))).toEqual({ x: 27, y: 0, w: 73, h: 73 });
    // sqrt(6.25) = 2.5 rounds half to even as Python's round: 2.
    expect(randomResizedBox(5, 5, script([0, 0, 0, 0]), [0.25, 0.25], [1, 1])).toEqual({ x: 0, y: 0, w: 2, h: 2 });
  });

  test('after 10 failed tries: the centre crop, clamped to the ratio range', () => {
    const always = (u: number) => () => u;
    expect(randomResizedBox(100, 10, always(0.999), [1, 1])).toEqual({ x: 43, y: 0, w: 13, h: 10 }); // 10 * 4/3
    expect(randomResizedBox(10, 100, always(0), [1, 1])).toEqual({ x: 0, y: 43, w: 10, h: 13 }); // 10 / (3/4)
    expect(randomResizedBox(100, 100, always(0.999), [1, 1])).toEqual(full(100, 100));
    expect(() => randomResizedBox(10, 10, always(0), [0.5, 0.1])).toThrow(/scale must be \[lo, hi\]/);
  });

  test('boxScale: the largest 1/N at which the box still covers the output; scaleBox: the box at 1/N', () => {
    expect(boxScale({ x: 0, y: 0, w: 1800, h: 1000 }, [224, 224])).toBe(4); // 450x250
    expect(boxScale({ x: 0, y: 0, w: 1800, h: 1800 }, [224, 224])).toBe(8); // 225x225
    expect(boxScale({ x: 0, y: 0, w: 447, h: 900 }, [224, 224])).toBe(1); // 223 across at 1/2
    expect(boxScale({ x: 5, y: 5, w: 20, h: 20 }, [64, 64])).toBe(1); // enlarging
    // A 1001x801 image decodes at 1/4 to 251x201; the box's pixels there, inside it.
    expect(scaleBox({ x: 10, y: 3, w: 990, h: 798 }, 4, 251, 201)).toEqual({ x: 2, y: 0, w: 248, h: 200 });
    expect(scaleBox({ x: 1000, y: 800, w: 1, h: 1 }, 8, 126, 101)).toEqual({ x: 125, y: 100, w: 1, h: 1 });
    const crop: FitCrop = { size: [9, 4], crop: 'random', seed, epoch: 2 };
    expect(fitBox(crop, 1000, 800, 7)).toEqual(randomResizedBox(1000, 800, fitRandom(seed, 2, 7)));
    expect(fitBox({ ...crop, crop: 'center' }, 1000, 800, 7)).toEqual(centerBox(1000, 800, 4, 9));
  });

  test('keyed by (seed, epoch, id): the same box every time, new ones each epoch', () => {
    const box = (epoch: number, id: number) => randomResizedBox(1000, 800, fitRandom(seed, epoch, id));
    const ids = Array.from({ length: 500 }, (_, i) => i * 7919);
    const first = ids.map((id) => box(3, id));
    expect(ids.map((id) => box(3, id))).toEqual(first);
    expect(ids.filter((id, i) => JSON.stringify(box(4, id)) !== JSON.stringify(first[i])).length).toBeGreaterThan(490);
    for (const b of first) {
      expect(b.x + b.w <= 1000 && b.y + b.h <= 800 && b.w >= 1 && b.h >= 1).toBe(true);
      expect((b.w * b.h) / 800000).toBeGreaterThan(0.079);
    }
    // Scale [0.08, 0.5] of a 1000x1000 image: no box is too wide or tall, so the area is uniform (mean 0.29, sd 0.12).
    const boxes = ids.map((id) => randomResizedBox(1000, 1000, fitRandom(seed, 0, id), [0.08, 0.5]));
    const meanArea = boxes.reduce((s, b) => s + (b.w * b.h) / 1e6, 0) / boxes.length;
    expect(Math.abs(meanArea - 0.29), `seed ${seed}`).toBeLessThan(0.03); // 5.5 standard errors
    const aspects = boxes.map((b) => b.w / b.h);
    expect(Math.min(...aspects)).toBeGreaterThan(0.74); // 3/4 and 4/3, give or take a rounded pixel
    expect(Math.max(...aspects)).toBeLessThan(1.35);
    expect(() => fitRandom(-1, 0, 0)).toThrow(/seed must be an integer/);
  });
});
