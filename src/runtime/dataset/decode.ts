import { EdgelakeError, isEdgelakeError } from '../../errors.js';
import { decodeChunk, decodeSamplePayload, wantedChunk } from '../../format/chunk.js';
import { concatBytes } from '../../format/inflate.js';
import { checkClassLabels } from '../../format/labels.js';
import { decodeJpegBanded, decodePng, packJpegCoefficients, readJpegCoefficients, sniffImageType, toRgb, type JpegFrameSize } from '../../format/image/index.js';
import { packJpegBatchPixels } from '../../format/image/jpeg-packed.js';
import { boxScale, fitBox, scaleBox, type FitCrop } from '../../kernels/fit/box.js';
import type { FitBox } from '../../kernels/fit/plan.js';
import type { JpegScale } from '../../kernels/jpeg/coefficients.js';
import { jpegPlan } from '../../kernels/jpeg/plan.js';
import { DEFAULT_MAX_PIXELS, describeWhere, type ReadLimits, type Where } from '../../format/limits.js';
import type { ChunkRef, TensorMeta } from '../../format/manifest.js';

/** One chunk's CPU work: what a decode worker receives. Plain data, so it crosses postMessage. */
export interface DecodeTask {
  stored: Uint8Array;
  ref: ChunkRef;
  tensor: TensorMeta;
  limits: ReadLimits;
  where: Where;
  /** The stored bytes were already checked against ref.hash (by the cache): skip that SHA-256. */
  verified?: boolean;
  images?: ImageDecoding;
  /**
   * Chunk-local indices of the samples the reader uses, ascending: the others decode to nothing,
   * so a sparse view does not decode the JPEGs it skips. Absent: every sample.
   */
  wanted?: Uint32Array;
  /** `stored` is a compact body read sample by sample (readWantedSamples): only the wanted samples are there, already checked. */
  ranged?: boolean;
}

/** How image samples decode, when a loader's transform says more than "to RGB at full size". */
export interface ImageDecoding {
  /**
   * The loader's fit: sample i's box is fitBox(crop, its size, firstId + i), and a JPEG decodes at
   * the largest libjpeg scale at which that box still covers the output (boxScale), as DALI
   * decodes a random crop's region: most of a photo's pixels are never made.
   */
  crop?: FitCrop & { firstId: number };
  /** JPEGs stop after entropy decoding, as packJpegCoefficients buffers, for a device to reconstruct (any PNG among them as packJpegBatchPixels). */
  coefficients?: boolean;
}

/** A chunk's samples, decoded, in one buffer that transfers as a whole. */
export interface DecodedSamples {
  /** Samples back to back. */
  data: Uint8Array;
  /** n+1 entries; sample i is data[offsets[i], offsets[i+1]). */
  offsets: Uint32Array;
  /** For decoded jpeg/png: [h, w, c] per sample (c is always 3, RGB), as decoded or, for coefficients, as they will reconstruct. */
  shapes?: Uint32Array;
  /** With ImageDecoding.crop: x, y, w, h per sample, its box on the image as decoded. */
  boxes?: Uint32Array;
}

/**
 * Verifies a chunk (decodeChunk) and decodes its samples: sample DEFLATE is inflated, jpeg and
 * png are decoded to RGB. The decoded samples of one chunk together stay within
 * `limits.maxInflatedBytes`, so a chunk of many small bombs is refused like one big one.
 */
export async function decodeSamples(task: DecodeTask): Promise<DecodedSamples> {
  const { stored, ref, tensor, limits, where, wanted } = task;
  const chunk = task.ranged && wanted ? wantedChunk(stored, ref, tensor, where, wanted) : await decodeChunk(stored, ref, tensor, limits, where, { verified: task.verified, wanted });
  const { offsets, payloadStart: P, samples: n } = chunk.header;
  if (tensor.sampleCompression === 'none') return { data: chunk.body.subarray(P), offsets };
  const skip = wanted && new Uint8Array(n).fill(1);
  if (skip) for (const i of wanted) skip[i] = 0;

  const parts: Uint8Array[] = [];
  const out = new Uint32Array(n + 1);
  const images = tensor.sampleCompression === 'jpeg' || tensor.sampleCompression === 'png';
  const shapes = images ? new Uint32Array(3 * n) : undefined;
  const boxes = images && task.images?.crop ? new Uint32Array(4 * n) : undefined;
  let budget = limits.maxInflatedBytes;
  for (let i = 0; i < n; i++) {
    if (skip?.[i]) {
      out[i + 1] = out[i];
      continue;
    }
    const sample = decodeSample(chunk.payload(i), tensor, { ...limits, maxInflatedBytes: budget }, where, i, task.images);
    budget -= sample.data.length;
    parts.push(sample.data);
    if (sample.shape) shapes!.set(sample.shape, 3 * i);
    if (sample.box) boxes!.set([sample.box.x, sample.box.y, sample.box.w, sample.box.h], 4 * i);
    out[i + 1] = out[i] + sample.data.length;
  }
  return { data: concatBytes(parts, out[n]), offsets: out, ...(shapes ? { shapes } : {}), ...(boxes ? { boxes } : {}) };
}

/**
 * One sample's payload as raw elements: inflated (sample DEFLATE), or decoded to RGB (jpeg/png),
 * else as it is; class labels checked against their classNames.
 */
export function decodeSample(payload: Uint8Array, tensor: TensorMeta, limits: ReadLimits, where: Where, i: number, images: ImageDecoding = {}): { data: Uint8Array; shape?: number[]; box?: FitBox } {
  if (tensor.sampleCompression === 'jpeg' || tensor.sampleCompression === 'png') return decodeRgb(payload, tensor, limits, where, i, images);
  if (tensor.sampleCompression === 'deflate') return { data: decodeSamplePayload(payload, tensor, limits, where, i) };
  // A payload read alone (a range read) passed no decodeChunk, which checks whole chunks' labels.
  checkClassLabels(payload, tensor, where, () => i);
  return { data: payload };
}

/**
 * Decodes sample i's jpeg/png to RGB (or a JPEG to its coefficients), within
 * `limits.maxInflatedBytes`, and checks it against the tensor's shape.
 */
function decodeRgb(payload: Uint8Array, tensor: TensorMeta, limits: ReadLimits, where: Where, i: number, images: ImageDecoding): { data: Uint8Array; shape: number[]; box?: FitBox } {
  const name = `${describeWhere(where)}: sample ${i}`;
  const maxPixels = Math.min(DEFAULT_MAX_PIXELS, Math.floor(limits.maxInflatedBytes / 3));
  const crop = images.crop;
  let [box, scale]: [FitBox | undefined, JpegScale] = [undefined, 1];
  let badCrop: unknown; // a bad crop option, thrown through the decoder: the caller's error, not the sample's
  // Once the frame's size is known: the sample's box on the image as shown, and the scale it allows.
  const scaleFor = (frame: JpegFrameSize): JpegScale => {
    if (!crop) return 1;
    const [width, height] = frame.orientation >= 5 ? [frame.height, frame.width] : [frame.width, frame.height];
    try {
      box = fitBox(crop, width, height, crop.firstId + i);
    } catch (e) {
      throw (badCrop = e);
    }
    return (scale = boxScale(box, crop.size));
  };
  let img: { width: number; height: number; data: Uint8Array };
  // Each file as its signature says (FORMAT.md): a photo collection's odd PNG named .jpg is a PNG.
  const kind = sniffImageType(payload) ?? tensor.sampleCompression;
  try {
    if (kind === 'jpeg' && images.coefficients) {
      const coef = readJpegCoefficients(payload, { name, maxPixels, scale: scaleFor });
      const out = jpegPlan(coef, scaleFor(coef), name);
      img = { width: out.outWidth, height: out.outHeight, data: packJpegCoefficients(coef, scale, name) };
    } else if (kind === 'jpeg') {
      // Row by row from bytes to pixels: a baseline photo's coefficients never exist whole.
      img = toRgb(decodeJpegBanded(payload, { name, maxPixels, scale: scaleFor }));
    } else {
      img = toRgb(decodePng(payload, { name, maxPixels }));
      // Among JPEGs bound for the device, its pixels go beside their coefficients.
      if (images.coefficients) img = { ...img, data: packJpegBatchPixels({ ...img, channels: 3 }) };
    }
  } catch (e) {
    // The decoders say 'invalid-input' (a builder's word); here the bad file is part of a chunk.
    if (e !== badCrop && isEdgelakeError(e, 'invalid-input')) throw new EdgelakeError('invalid-chunk', e.message, { cause: e });
    throw e;
  }
  if (crop && kind === 'png') box = fitBox(crop, img.width, img.height, crop.firstId + i);
  const got = [img.height, img.width, 3];
  if (tensor.shape.length === 3 && tensor.shape.some((d, k) => d !== null && d !== got[k])) {
    const want = tensor.shape.map((d) => d ?? 'any').join('x');
    throw new EdgelakeError('invalid-chunk', `${name} decodes to ${got.join('x')}, but the tensor's shape says ${want}`);
  }
  return { data: img.data, shape: got, ...(box && { box: scaleBox(box, scale, img.width, img.height) }) };
}

/** A view's bytes in a buffer of their own: transferring then ships and detaches nothing else. */
function owned<T extends Uint8Array | Uint32Array>(a: T, moving: readonly ArrayBufferLike[]): T {
  const whole = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
  return whole || moving.includes(a.buffer) ? a : (a.slice() as T);
}

/**
 * The buffers to transfer for `d`. Views into a larger (or shared) buffer are first copied into
 * buffers of their own, in place on `d`, so `d` must be what is then posted; a view into one of
 * `moving` (buffers this thread owns whole and gives away anyway, like a chunk's stored bytes)
 * keeps its place and that buffer goes with it.
 */
export function transferables(d: DecodedSamples, moving: readonly ArrayBufferLike[] = []): ArrayBuffer[] {
  d.data = owned(d.data, moving);
  d.offsets = owned(d.offsets, moving);
  if (d.shapes) d.shapes = owned(d.shapes, moving);
  if (d.boxes) d.boxes = owned(d.boxes, moving);
  return [...new Set([d.data, d.offsets, ...(d.shapes ? [d.shapes] : []), ...(d.boxes ? [d.boxes] : [])].map((a) => a.buffer as ArrayBuffer))];
}
