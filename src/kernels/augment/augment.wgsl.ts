import { randomWgsl } from '../random/random.wgsl.js';
import { shaderHeader, type ShaderHeader } from '../shader.js';

/**
 * Shared by the mean and the fused pass: the uniforms, and `fence`, which makes GPU and CPU
 * results agree bit for bit. WGSL rounds +, -, * correctly, but a compiler may fuse a * b + c into
 * one FMA, or rewrite a + t * (b - a) into another lerp formula (Mesa's NIR does both for
 * instructions not marked exact). XOR with a uniform that is always 0 is opaque to every
 * compiler, so each fenced product is rounded to float32 on its own, as Math.fround does in the
 * CPU reference (augment.ref.ts). It costs one integer op per product.
 */
const common = (header: Pick<ShaderHeader, 'workgroupSize' | 'bindings'>) => /* wgsl */ `
${shaderHeader({
  ...header,
  params: [
    'n: u32', 'inH: u32', 'inW: u32', 'outH: u32',
    'outW: u32', 'seed: u32', 'epoch: u32', 'zero: u32',
    'inHf: f32', 'inWf: f32', 'fill: f32', 'noiseScale: f32',
    'cutoutValue: f32', 'invArea: f32', 'pad0: f32', 'pad1: f32',
    'gray: vec4f // rgb weights of the gray level',
    'mean: vec4f // per channel, subtracted last',
    'invStd: vec4f // per channel, 1 / std, multiplied last',
  ],
  paramsName: 'g', // params is the per-sample table
})}
override CHANNELS: u32 = 3u;

fn fence(x: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ g.zero);
}

fn fence3(x: vec3f) -> vec3f {
  return bitcast<vec3f>(bitcast<vec3u>(x) ^ vec3u(g.zero));
}

fn grayOf(v: vec3f) -> f32 {
  return (fence(v.x * g.gray.x) + fence(v.y * g.gray.y)) + fence(v.z * g.gray.z);
}
`;

/**
 * Pass 1 (only when contrast is jittered): each sample's mean gray level, one workgroup per
 * sample. Thread t sums values t, t + W, t + 2W... in order, then a halving tree adds the
 * partial sums: a fixed order that meanGrayRef replays, so the sums agree exactly.
 */
export const augmentMeanWgsl = /* wgsl */ `${common({ bindings: { 0: ['read input: array<f32>', 'read_write means: array<f32>'] } })}
override MEAN_WORKGROUP: u32 = 64u; // a power of two

var<workgroup> partial: array<vec3f, MEAN_WORKGROUP>;

@compute @workgroup_size(MEAN_WORKGROUP)
fn main(
  @builtin(local_invocation_index) t: u32,
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let s = workgroupIndex(group, groups);
  if (s >= g.n) {
    return;
  }
  let plane = g.inH * g.inW;
  let base = s * CHANNELS * plane;
  var acc = vec3f(0.0);
  for (var i = t; i < plane; i += MEAN_WORKGROUP) {
    acc.x += input[base + i];
    if (CHANNELS == 3u) {
      acc.y += input[base + plane + i];
      acc.z += input[base + 2u * plane + i];
    }
  }
  partial[t] = acc;
  workgroupBarrier();
  for (var stride = MEAN_WORKGROUP / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      partial[t] += partial[t + stride];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    let mean = fence3(partial[0] * g.invArea);
    means[s] = select(mean.x, grayOf(mean), CHANNELS == 3u);
  }
}
`;

/**
 * Pass 2, fused: one invocation per output pixel computes every channel: the inverse affine map
 * (all geometric ops) sampled bilinearly, then brightness, contrast, saturation, noise, cutout,
 * and mixup, which recomputes the partner's augmented pixel instead of reading a second buffer;
 * last the per-channel normalization, so every op (fill values and noise included) works in the
 * input's units, as torchvision's Normalize after its augmentations. Stages absent from the plan
 * are compiled out (override constants).
 *
 * Sampling: a source point inside the image rectangle interpolates its four nearest pixel
 * centres with taps clamped to the edge (torch's bilinear resize, align_corners=False); a point
 * outside takes g.fill (torchvision's rotate fills with 0).
 * Noise: the sum of four 16-bit uniforms (Irwin-Hall, n = 4) from two hash4 draws, centred and
 * scaled to unit variance by sqrt(3): integer arithmetic and one multiplication, so it is exact
 * on both sides, with no log or cos per pixel. Its tails end at +-3.46 std.
 */
export const augmentWgsl = /* wgsl */ `${common({
  workgroupSize: 256,
  bindings: {
    0: ['read input: array<f32>', 'read params: array<f32>', 'read ids: array<u32>', 'read means: array<f32>', 'read_write output: array<f32>'],
  },
})}
${randomWgsl}
override BRIGHTNESS: bool = false;
override CONTRAST: bool = false;
override SATURATION: bool = false;
override NOISE: bool = false;
override CUTOUT: bool = false;
override MIXUP: bool = false;
override NORMALIZE: bool = false;
override CHANNELS_LAST: bool = false;
const STRIDE = 16u; // PARAM_STRIDE in params.ts

fn tap(s: u32, x: i32, y: i32) -> vec3f {
  let plane = g.inH * g.inW;
  let at = s * CHANNELS * plane + u32(y) * g.inW + u32(x);
  if (CHANNELS == 3u) {
    return vec3f(input[at], input[at + plane], input[at + 2u * plane]);
  }
  return vec3f(input[at], 0.0, 0.0);
}

fn lerp(a: vec3f, b: vec3f, t: f32) -> vec3f {
  return a + fence3((b - a) * t);
}

fn resample(s: u32, p: u32, X: f32, Y: f32) -> vec3f {
  let sx = (fence(params[p] * X) + fence(params[p + 1u] * Y)) + params[p + 2u];
  let sy = (fence(params[p + 3u] * X) + fence(params[p + 4u] * Y)) + params[p + 5u];
  if (!(sx >= 0.0 && sx <= g.inWf && sy >= 0.0 && sy <= g.inHf)) {
    return vec3f(g.fill);
  }
  let u = sx - 0.5;
  let v = sy - 0.5;
  let fu = floor(u);
  let fv = floor(v);
  let hi = vec2i(i32(g.inW) - 1, i32(g.inH) - 1);
  let p0 = clamp(vec2i(i32(fu), i32(fv)), vec2i(0), hi);
  let p1 = clamp(vec2i(i32(fu) + 1, i32(fv) + 1), vec2i(0), hi);
  let top = lerp(tap(s, p0.x, p0.y), tap(s, p1.x, p0.y), u - fu);
  let bottom = lerp(tap(s, p0.x, p1.y), tap(s, p1.x, p1.y), u - fu);
  return lerp(top, bottom, v - fv);
}

fn noise(s: u32, value: u32) -> f32 {
  let h0 = hash4(g.seed, g.epoch, ids[s], 0x80000000u + 2u * value);
  let h1 = hash4(g.seed, g.epoch, ids[s], 0x80000000u + 2u * value + 1u);
  let sum = (h0 >> 16u) + (h0 & 0xffffu) + (h1 >> 16u) + (h1 & 0xffffu);
  return fence(f32(i32(sum) - 131070) * g.noiseScale);
}

// Sample s's augmented pixel (x, y), every channel.
fn augment(s: u32, x: u32, y: u32) -> vec3f {
  let p = s * STRIDE;
  let X = f32(x) + 0.5;
  let Y = f32(y) + 0.5;
  var v = resample(s, p, X, Y);
  var pivot = 0.0;
  if (CONTRAST) {
    pivot = means[s];
  }
  if (BRIGHTNESS) {
    v = fence3(v * params[p + 6u]);
    pivot = fence(pivot * params[p + 6u]);
  }
  if (CONTRAST) {
    v = fence3((v - vec3f(pivot)) * params[p + 7u]) + vec3f(pivot);
  }
  if (SATURATION) {
    let gray = vec3f(grayOf(v));
    v = gray + fence3((v - gray) * params[p + 8u]);
  }
  if (NOISE) {
    for (var c = 0u; c < CHANNELS; c++) {
      v[c] = v[c] + noise(s, (c * g.outH + y) * g.outW + x);
    }
  }
  if (CUTOUT) {
    let fx = f32(x);
    let fy = f32(y);
    if (fx >= params[p + 9u] && fy >= params[p + 10u] && fx < params[p + 11u] && fy < params[p + 12u]) {
      v = vec3f(g.cutoutValue);
    }
  }
  return v;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  let plane = g.outH * g.outW;
  if (i >= g.n * plane) {
    return;
  }
  let s = i / plane;
  let r = i - s * plane;
  let y = r / g.outW;
  let x = r - y * g.outW;
  var v = augment(s, x, y);
  if (MIXUP) {
    let p = s * STRIDE;
    let other = augment(u32(params[p + 13u]), x, y);
    v = fence3(v * params[p + 14u]) + fence3(other * params[p + 15u]);
  }
  if (NORMALIZE) {
    v = fence3(v - g.mean.xyz) * g.invStd.xyz;
  }
  // [C, H, W] planes, or with CHANNELS_LAST [H, W, C] pixels: channel k of this pixel is at + k * step.
  var at = s * CHANNELS * plane + r;
  var step = plane;
  if (CHANNELS_LAST) {
    at = (s * plane + r) * CHANNELS;
    step = 1u;
  }
  output[at] = v.x;
  if (CHANNELS == 3u) {
    output[at + step] = v.y;
    output[at + 2u * step] = v.z;
  }
}
`;

/** Soft labels of a mixed batch: out[s, k] = l [label s = k] + (1 - l) [label partner = k]. */
export const mixLabelsWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: ['count: u32', 'classes: u32'],
  bindings: {
    0: ['read labels: array<i32>', 'read mix: array<vec4f> // per sample: partner, lambda, 1 - lambda, unused', 'read_write output: array<f32>'],
  },
})}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i >= params.count) {
    return;
  }
  let s = i / params.classes;
  let k = i32(i - s * params.classes);
  let m = mix[s];
  var v = 0.0;
  if (labels[s] == k) {
    v = m.y;
  }
  if (labels[u32(m.x)] == k) {
    v = v + m.z;
  }
  output[i] = v;
}
`;
