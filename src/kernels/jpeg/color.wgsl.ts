import { shaderHeader } from '../shader.js';
import { lastEntryWgsl } from './table.wgsl.js';

/**
 * Planes to pixels, the WGSL twin of color.ref.ts, for a batch of images: one invocation per run
 * of RUN stored pixels of a row (jpegColorRun), which finds its image once (binary search over
 * each image's first run, in a table) and makes them 4 at a time (one word of a full-size plane),
 * loading each plane sample it needs once for the 4. It upsamples each component (libjpeg's
 * fancy triangle filters or replication, edges repeated), converts YCbCr to RGB with jdcolor.c's
 * fixed-point constants (RGB and gray pass through; CMYK and YCCK as color.ref.ts's cmykRow) and writes each pixel, where EXIF
 * orientation puts it, as one u32: R | G << 8 | B << 16 | 255 << 24 (RGBA8, as a GPU texture or
 * canvas takes it); gray as R = G = B, so a fit or a canvas reads every image alike.
 */
export const jpegColorWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: [
    'counts: vec4u // x: images, y: runs of 4 stored pixels in the batch',
  ],
  bindings: {
    0: ['read table: array<vec4u> // IMAGE vec4s per image, by first run'],
    1: ['read planes: array<u32> // 4 samples per word, the leftmost in the low byte', 'read_write output: array<u32>'],
  },
})}
${lastEntryWgsl}
override RUN: u32 = 4u; // stored pixels per invocation, a multiple of 4 (jpegColorRun in jpeg.ts)
const IMAGE: u32 = 10u; // vec4s per image (COLOR_ENTRY in jpeg.ts):
// [0] width, height as stored, runs per row, colour (0 gray, 1 YCbCr, 2 RGB, 3 CMYK, 4 YCCK:
//     COLOR_CODES in jpeg.ts)
// [1] first run, output pixel of stored pixel (0, 0), then its steps per stored column and row
//     (i32 bits): EXIF orientation as orientationSteps in color.ref.ts gives it
// [2 + c] component c: plane offset (words), row stride (words), sample width, sample height
// [6 + c] component c: upsampling (0 full, 1 h2v1, 2 h2v2, 3 h1v2, 4 replicate), across, down

// One component's entries, loaded once per invocation: plane [2 + c] and upsampling [6 + c].
struct Component {
  plane: vec4u,
  mode: vec4u,
}

fn texel(p: vec4u, x: u32, y: u32) -> i32 {
  return i32(extractBits(planes[p.x + y * p.y + (x >> 2u)], (x & 3u) * 8u, 8u));
}

fn before(i: u32) -> u32 {
  return select(i - 1u, 0u, i == 0u);
}

fn after(i: u32, count: u32) -> u32 {
  return min(i + 1u, count - 1u);
}

// Four samples of plane row y from column x, x a multiple of 4: one word.
fn word4(p: vec4u, x: u32, y: u32) -> vec4i {
  let w = planes[p.x + y * p.y + (x >> 2u)];
  return vec4i(vec4u(w & 0xffu, (w >> 8u) & 0xffu, (w >> 16u) & 0xffu, w >> 24u));
}

// Plane row y at columns i - 1, i, i + 1, i + 2, each clamped to the row's samples (the edges
// repeated): what 2 horizontal samples and their neighbours need. They lie in 2 words at most.
fn neighbours4(p: vec4u, i: u32, y: u32) -> vec4u {
  let columns = min(vec4u(before(i), i, i + 1u, i + 2u), vec4u(p.z - 1u));
  let row = p.x + y * p.y;
  let first = columns.x >> 2u;
  let words = vec2u(planes[row + first], planes[row + first + 1u]);
  let w = select(vec4u(words.x), vec4u(words.y), (columns >> vec4u(2u)) != vec4u(first));
  return (w >> ((columns & vec4u(3u)) * 8u)) & vec4u(0xffu);
}

// The triangle filter across for stored pixels x..x+3 from columns s = (i - 1, i, i + 1, i + 2),
// i = x / 2, each column weighted by \`scale\` (1, or 4 after the vertical filter): 3/4 of the
// nearer sample, 1/4 of the other, the left pixel of a pair rounded down, the right one up.
fn across4(s: vec4i, left: i32, right: i32, shift: u32) -> vec4i {
  return (vec4i(s.y, s.y, s.z, s.z) * 3 + vec4i(s.x, s.z, s.y, s.w) + vec4i(left, right, left, right)) >> vec4u(shift);
}

// A component's samples at stored pixels x..x+3 (x a multiple of 4) of row y, upsampled as jdsample.c does.
fn sample4(k: Component, x: u32, y: u32) -> vec4i {
  let p = k.plane;
  let odd = (y & 1u) == 1u;
  switch k.mode.x {
    case 0u: {
      return word4(p, x, y);
    }
    case 1u: {
      return across4(vec4i(neighbours4(p, x >> 1u, y)), 1, 2, 2u);
    }
    case 2u: {
      // The vertical filter's column sums, then the horizontal filter; rounding 8 left, 7 right.
      let j = y >> 1u;
      let other = select(before(j), after(j, p.w), odd);
      return across4(vec4i(neighbours4(p, x >> 1u, j) * 3u + neighbours4(p, x >> 1u, other)), 8, 7, 4u);
    }
    case 3u: {
      let j = y >> 1u;
      return (word4(p, x, j) * 3 + word4(p, x, select(before(j), after(j, p.w), odd)) + select(1, 2, odd)) >> vec4u(2u);
    }
    default: {
      let row = y / k.mode.z;
      return vec4i(texel(p, x / k.mode.y, row), texel(p, (x + 1u) / k.mode.y, row), texel(p, (x + 2u) / k.mode.y, row), texel(p, (x + 3u) / k.mode.y, row));
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let index = invocationIndex(id, groups);
  if (index >= params.counts.y) {
    return;
  }
  let image = lastEntry(index, params.counts.x, IMAGE, 1u, 0u) * IMAGE; // by first run
  let size = table[image];
  let place = table[image + 1u];
  let run = index - place.x;
  let y = quotient(run, size.z);
  let dx = bitcast<i32>(place.z);
  let rowStart = bitcast<i32>(place.y) + i32(y) * bitcast<i32>(place.w);
  let components = array<Component, 4>(
    Component(table[image + 2u], table[image + 6u]),
    Component(table[image + 3u], table[image + 7u]),
    Component(table[image + 4u], table[image + 8u]),
    Component(table[image + 5u], table[image + 9u]),
  );
  let start = (run - y * size.z) * RUN;
  for (var x = start; x < min(start + RUN, size.x); x += 4u) {
    let luma = sample4(components[0], x, y);
    var rgb = array<vec4i, 3>(luma, luma, luma);
    if (size.w != 0u) {
      rgb[1] = sample4(components[1], x, y);
      rgb[2] = sample4(components[2], x, y);
    }
    if (size.w == 1u || size.w == 4u) {
      let cb = rgb[1] - 128;
      let cr = rgb[2] - 128;
      rgb[0] = clamp(luma + ((91881 * cr + 32768) >> vec4u(16u)), vec4i(0), vec4i(255));
      rgb[1] = clamp(luma + ((-22554 * cb - 46802 * cr + 32768) >> vec4u(16u)), vec4i(0), vec4i(255));
      rgb[2] = clamp(luma + ((116130 * cb + 32768) >> vec4u(16u)), vec4i(0), vec4i(255));
    }
    if (size.w == 4u) {
      // YCCK: the YCbCr made RGB is Adobe's C, M, Y inverted (jdcolor.c ycck_cmyk_convert).
      rgb = array<vec4i, 3>(255 - rgb[0], 255 - rgb[1], 255 - rgb[2]);
    }
    if (size.w >= 3u) {
      // R = C * K / 255 rounded, on Adobe's values (cmyk.h cmyk_to_rgb): (2CK + 255) / 510.
      let k = sample4(components[3], x, y);
      rgb[0] = (2 * rgb[0] * k + 255) / 510;
      rgb[1] = (2 * rgb[1] * k + 255) / 510;
      rgb[2] = (2 * rgb[2] * k + 255) / 510;
    }
    let pixels = vec4u(rgb[0]) | (vec4u(rgb[1]) << vec4u(8u)) | (vec4u(rgb[2]) << vec4u(16u)) | vec4u(0xff000000u);
    let first = rowStart + i32(x) * dx;
    for (var k = 0u; k < min(4u, size.x - x); k++) {
      output[u32(first + i32(k) * dx)] = pixels[k];
    }
  }
}
`;
