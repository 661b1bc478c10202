import { shaderHeader } from '../shader.js';

/**
 * Fits each sample's crop box to one output size (plan.ts has the filter and its u32 bounds).
 * One invocation per output u32 word: each of its bytes walks its own footprint, recomputing the
 * row value `mid` of every (source row, output column) it reads exactly as fitRef's row pass
 * does, so the bytes equal the CPU reference's. Bytes of the last word past the batch keep what
 * the buffer held: nothing past `total` is written.
 */
export const fitWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: [
    'total: u32    // output bytes of the batch',
    'width: u32    // output width',
    'height: u32   // output height',
    'channels: u32 // 1 or 3',
    'stride: u32   // bytes per input pixel, channels..4',
  ],
  bindings: {
    0: ['read table: array<u32> // per sample: offset, width, height, x, y, w, h, 0 (FIT_ROW)'],
    1: ['read input: array<u32>', 'read_write output: array<u32>'],
  },
})}
// The taps of output i on one axis; axisTaps in plan.ts builds the same list.
struct Axis {
  first: u32,  // source index of the first tap, from the box's start
  count: u32,
  lo: u32,     // shrinking: where output i starts, in units of 1 / (box * out)
  frac: u32,   // enlarging: the second tap's weight
  den: u32,    // the weights' sum
  shrink: bool,
}

fn axis(i: u32, boxLen: u32, outLen: u32) -> Axis {
  if (boxLen >= outLen) {
    let lo = i * boxLen;
    let first = lo / outLen;
    return Axis(first, (lo + boxLen - 1u) / outLen - first + 1u, lo, 0u, boxLen, true);
  }
  let den = 2u * outLen;
  if (boxLen == 1u) {
    return Axis(0u, 1u, 0u, 0u, den, false);
  }
  let a = (2u * i + 1u) * boxLen;
  let num = min(select(a - outLen, 0u, a < outLen), (boxLen - 1u) * den);
  let first = min(num / den, boxLen - 2u);
  return Axis(first, 2u, 0u, num - first * den, den, false);
}

fn weight(a: Axis, k: u32, boxLen: u32, outLen: u32) -> u32 {
  if (a.shrink) {
    let j = a.first + k;
    return min(a.lo + boxLen, (j + 1u) * outLen) - max(a.lo, j * outLen);
  }
  if (a.count == 1u) {
    return a.den;
  }
  return select(a.den - a.frac, a.frac, k == 1u);
}

fn sourceByte(i: u32) -> u32 {
  return extractBits(input[i >> 2u], (i & 3u) * 8u, 8u);
}

// Output byte b of the batch.
fn fitByte(b: u32) -> u32 {
  let c = params.channels;
  let perSample = params.width * params.height * c;
  let s = b / perSample;
  let p = (b - s * perSample) / c;
  let channel = b - s * perSample - p * c;
  let oy = p / params.width;
  let ox = p - oy * params.width;
  let row = s * 8u;
  let imageWidth = table[row + 1u];
  let bw = table[row + 5u];
  let bh = table[row + 6u];
  let ax = axis(ox, bw, params.width);
  let ay = axis(oy, bh, params.height);
  let left = table[row + 3u] + ax.first;
  var acc = ay.den * 128u;
  for (var k = 0u; k < ay.count; k++) {
    let line = table[row] + ((table[row + 4u] + ay.first + k) * imageWidth + left) * params.stride + channel;
    var sum = 0u;
    for (var m = 0u; m < ax.count; m++) {
      sum += weight(ax, m, bw, params.width) * sourceByte(line + m * params.stride);
    }
    acc += weight(ay, k, bh, params.height) * ((sum * 256u + ax.den / 2u) / ax.den);
  }
  return acc / (ay.den * 256u);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let word = invocationIndex(id, groups);
  let first = word * 4u;
  if (first >= params.total) {
    return;
  }
  let n = min(4u, params.total - first);
  var value = 0u;
  if (n < 4u) {
    value = output[word] & (0xffffffffu << (n * 8u)); // bytes past the batch keep their value
  }
  for (var k = 0u; k < n; k++) {
    value |= fitByte(first + k) << (k * 8u);
  }
  output[word] = value;
}
`;
