import { execFileSync } from 'node:child_process';
import type { DecodeTask } from '../../../../src/runtime/dataset/decode.js';
import { hasCommand, missing } from '../../../support/system.js';
import { encodePng, random } from '../../../format/image/png-encoder.js';
import { type TensorMeta } from '../../../../src/index.js';
import { DEFAULT_LIMITS, deflate, encodeChunk } from '../../../../src/format/index.js';

/** Seeded test data shared by the decode, pool and browser tests; expected values are built from it, not from our decoder. */
export const noCjpeg = missing('cjpeg and djpeg', 'apt-get install libjpeg-turbo-progs', hasCommand('cjpeg') && hasCommand('djpeg'));

export const meta = (over: Partial<TensorMeta> = {}): TensorMeta => ({
  htype: 'generic', dtype: 'uint8', shape: [null], sampleCompression: 'none', chunkCompression: 'none', chunks: [], ...over,
});

export const bytes = (seed: number, n: number): Uint8Array => {
  const rand = random(seed);
  return Uint8Array.from({ length: n }, () => rand(256));
};

/** An RGB image (seeded smooth gradient plus noise, so JPEG keeps it close). */
export function rgbImage(seed: number, width: number, height: number): Uint8Array {
  const rand = random(seed);
  return Uint8Array.from({ length: width * height * 3 }, (_, i) => {
    const p = Math.floor(i / 3);
    return ((p % width) * 7 + Math.floor(p / width) * 5 + (i % 3) * 60 + rand(8)) & 255;
  });
}

export const png = (width: number, height: number, rgb: Uint8Array): Uint8Array =>
  encodePng({ width, height, colorType: 2, bitDepth: 8, samples: Uint16Array.from(rgb) });

/** A JPEG made by cjpeg (libjpeg-turbo) from a binary PPM. */
export function jpeg(width: number, height: number, rgb: Uint8Array, gray = false): Uint8Array {
  const ppm = Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), rgb]);
  return new Uint8Array(execFileSync('cjpeg', ['-quality', '95', ...(gray ? ['-grayscale'] : [])], { input: ppm }));
}

/** What libjpeg-turbo decodes `file` to by default, as RGB: our decoder gives the same samples. */
export function djpegRgb(file: Uint8Array): Uint8Array {
  const out = execFileSync('djpeg', ['-pnm'], { input: file });
  const header = /^(P[56])\s+\d+\s+\d+\s+255\s/.exec(out.toString('latin1', 0, 32))!;
  const pixels = out.subarray(header[0].length);
  return header[1] === 'P6' ? new Uint8Array(pixels) : Uint8Array.from({ length: pixels.length * 3 }, (_, i) => pixels[Math.floor(i / 3)]);
}

export interface Case {
  name: string;
  task: DecodeTask;
  /** Decoded samples as an independent computation gives them (undefined for lossy jpeg). */
  expected?: Uint8Array[];
}

export async function chunkCase(name: string, payloads: Uint8Array[], tensor: TensorMeta, expected?: Uint8Array[]): Promise<Case> {
  const { stored, ref } = await encodeChunk(payloads, tensor.chunkCompression);
  return { name, task: { stored, ref, tensor, limits: DEFAULT_LIMITS, where: { dataset: 'test', tensor: name, chunk: 0 } }, expected };
}

/** One chunk per kind of decoding work: raw, chunk DEFLATE, sample DEFLATE (fixed and variable), png, jpeg. */
export async function cases(): Promise<Case[]> {
  const raw = [0, 1, 2, 3].map((i) => bytes(i, 12));
  const varied = [5, 0, 300, 17].map((n, i) => bytes(10 + i, n * 4));
  const images = [[6, 4], [3, 5], [8, 8]].map(([w, h], i) => ({ w, h, rgb: rgbImage(20 + i, w, h) }));
  const out = [
    await chunkCase('raw', raw, meta({ shape: [12] }), raw),
    await chunkCase('chunk-deflate', raw, meta({ shape: [12], chunkCompression: 'deflate' }), raw),
    await chunkCase('sample-deflate', raw.map((r) => deflate(r)), meta({ shape: [3, 4], sampleCompression: 'deflate' }), raw),
    await chunkCase('sample-deflate-varied', varied.map((r) => deflate(r)), meta({ dtype: 'float32', shape: [null], sampleCompression: 'deflate' }), varied),
    await chunkCase('png', images.map((m) => png(m.w, m.h, m.rgb)), meta({ htype: 'image', shape: [null, null, 3], sampleCompression: 'png' }), images.map((m) => m.rgb)),
  ];
  if (!noCjpeg) out.push(await chunkCase('jpeg', images.map((m) => jpeg(m.w, m.h, m.rgb)), meta({ htype: 'image', shape: [null, null, 3], sampleCompression: 'jpeg' })));
  return out;
}

/** A task with its own copy of the stored bytes: a pool transfers (and so detaches) them. */
export const fresh = (t: DecodeTask): DecodeTask => ({ ...t, stored: t.stored.slice() });

/** The samples of a decode result, as separate arrays. */
export const split = (d: { data: Uint8Array; offsets: Uint32Array }): Uint8Array[] =>
  Array.from({ length: d.offsets.length - 1 }, (_, i) => d.data.slice(d.offsets[i], d.offsets[i + 1]));
