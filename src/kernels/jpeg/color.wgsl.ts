import { shaderHeader } from '../shader.js';
import { lastEntryWgsl } from './table.wgsl.js';

/**
 * Planes to pixels, the WGSL twin of color.ref.ts, for a batch of images: one invocation per
 * output pixel of the batch, in display orientation; it finds its image in a table (binary
 * search over each image's first output pixel), then the stored pixel, upsamples each component there (libjpeg's fancy
 * triangle filters or replication, edges repeated), converts YCbCr to RGB with jdcolor.c's
 * fixed-point constants (RGB and gray pass through) and writes one u32: R | G << 8 | B << 16 |
 * 255 << 24 (RGBA8, as a GPU texture or canvas takes it); gray as R = G = B, so a fit or a
 * canvas reads every image alike.
 */
export const jpegColorWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: [
    'counts: vec4u // x: images, y: output pixels of the batch',
  ],
  bindings: {
    0: ['read table: array<vec4u> // IMAGE vec4s per image, by first output pixel'],
    1: ['read planes: array<u32> // 4 samples per word, the leftmost in the low byte', 'read_write output: array<u32>'],
  },
})}
${lastEntryWgsl}
const IMAGE: u32 = 8u; // vec4s per image (COLOR_ENTRY in jpeg.ts):
// [0] width, height as stored, first output pixel, EXIF orientation 1..8
// [1] output pixels, colour (0 gray, 1 YCbCr, 2 RGB: COLOR_CODES in jpeg.ts), 0, 0
// [2 + c] component c: plane offset (words), row stride (words), sample width, sample height
// [5 + c] component c: upsampling (0 full, 1 h2v1, 2 h2v2, 3 h1v2, 4 replicate), across, down

// One component's entries, loaded once per invocation: plane [2 + c] and upsampling [5 + c].
struct Component {
  plane: vec4u,
  mode: vec4u,
}

fn texel(p: vec4u, x: u32, y: u32) -> i32 {
  return i32(extractBits(planes[p.x + y * p.y + (x >> 2u)], (x & 3u) * 8u, 8u));
}

// n / d for n < 2^27, d < 2^16: a float division, corrected by one (a CPU adapter divides integers lane by lane).
fn quotient(n: u32, d: u32) -> u32 {
  var q = u32(f32(n) / f32(d));
  if (q * d > n) {
    q -= 1u;
  } else if ((q + 1u) * d <= n) {
    q += 1u;
  }
  return q;
}

fn before(i: u32) -> u32 {
  return select(i - 1u, 0u, i == 0u);
}

fn after(i: u32, count: u32) -> u32 {
  return min(i + 1u, count - 1u);
}

// A component's sample at stored pixel (x, y), upsampled as jdsample.c does.
fn sample(k: Component, x: u32, y: u32) -> i32 {
  let p = k.plane;
  let odd = (y & 1u) == 1u;
  var value: i32;
  switch k.mode.x {
    case 0u: {
      value = texel(p, x, y);
    }
    case 1u: {
      // 3/4 of the nearer sample, 1/4 of the other; halves round down left, up right.
      let i = x >> 1u;
      let right = (x & 1u) == 1u;
      let far = select(before(i), after(i, p.z), right);
      value = (texel(p, i, y) * 3 + texel(p, far, y) + select(1, 2, right)) >> 2u;
    }
    case 2u: {
      // The vertical filter's column sums, then the horizontal filter; rounding 8 left, 7 right.
      let i = x >> 1u;
      let j = y >> 1u;
      let row = select(before(j), after(j, p.w), odd);
      let right = (x & 1u) == 1u;
      let m = select(before(i), after(i, p.z), right);
      let here = texel(p, i, j) * 3 + texel(p, i, row);
      let there = texel(p, m, j) * 3 + texel(p, m, row);
      value = (here * 3 + there + select(8, 7, right)) >> 4u;
    }
    case 3u: {
      let j = y >> 1u;
      value = (texel(p, x, j) * 3 + texel(p, x, select(before(j), after(j, p.w), odd)) + select(1, 2, odd)) >> 2u;
    }
    default: {
      value = texel(p, x / k.mode.y, y / k.mode.z);
    }
  }
  return value;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = invocationIndex(id, groups);
  if (index >= params.counts.y) {
    return;
  }
  let image = lastEntry(index, params.counts.x, IMAGE, 0u, 2u) * IMAGE; // by first output pixel
  let size = table[image];
  let color = table[image + 1u].y;
  let o = index - size.z;
  if (o >= table[image + 1u].x) {
    return; // between images: not ours to write
  }
  let w = size.x;
  let h = size.y;
  let across = select(w, h, size.w >= 5u);
  let v = quotient(o, across);
  let u = o - v * across;
  // The stored pixel shown at (u, v).
  var x = u;
  var y = v;
  switch size.w {
    case 2u: { x = w - 1u - u; }
    case 3u: { x = w - 1u - u; y = h - 1u - v; }
    case 4u: { y = h - 1u - v; }
    case 5u: { x = v; y = u; }
    case 6u: { x = v; y = h - 1u - u; }
    case 7u: { x = w - 1u - v; y = h - 1u - u; }
    case 8u: { x = w - 1u - v; y = u; }
    default: {}
  }
  let luma = sample(Component(table[image + 2u], table[image + 5u]), x, y);
  if (color == 0u) {
    output[index] = (u32(luma) * 0x010101u) | 0xff000000u;
    return;
  }
  var rgb = vec3i(luma, sample(Component(table[image + 3u], table[image + 6u]), x, y), sample(Component(table[image + 4u], table[image + 7u]), x, y));
  if (color == 1u) {
    let cb = rgb.y - 128;
    let cr = rgb.z - 128;
    let delta = vec3i(91881 * cr + 32768, -22554 * cb - 46802 * cr + 32768, 116130 * cb + 32768) >> vec3u(16u);
    rgb = clamp(luma + delta, vec3i(0), vec3i(255));
  }
  output[index] = u32(rgb.x) | (u32(rgb.y) << 8u) | (u32(rgb.z) << 16u) | 0xff000000u;
}
`;
