import { shaderHeader } from '../shader.js';

/**
 * Decodes raw sample bytes to float32: out = (x - a[c]) * b[c], with x the element as read
 * (integer, float16 or float32), c its channel (the last dimension) and the per-channel factors
 * a = zeroPoint + mean / (qscale * scale), b = qscale * scale / std precomputed in float32
 * (decode.ref.ts). A subtraction then a multiplication, each rounded once, leaves no multiply-add
 * for a compiler to fuse, so the result equals the CPU reference bit for bit.
 *
 * Elements are read from u32 words (little-endian, as WebGPU buffers are) at any byte offset, so
 * 1- and 2-byte dtypes need no alignment. Results are stored as bits (bitcast to u32), and
 * infinities and NaNs are produced from bits, because WGSL lets arithmetic on them give any value.
 */
export const decodeWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256,
  params: [
    'total: u32       // elements in the batch',
    'perSample: u32   // elements in one sample',
    'channels: u32    // the last dimension',
    'inner: u32       // perSample / channels',
    'toCHW: u32       // 1: write each sample channels-first',
    'inputOffset: u32 // bytes before the first sample',
  ],
  bindings: {
    0: ['read factors: array<vec2f> // per channel: (a, b) as above'],
    1: ['read input: array<u32>', 'read_write output: array<u32>'],
  },
})}
// 0 uint8, 1 int8, 2 uint16, 3 int16, 4 float16, 5 float32 (DTYPE_CODES in decode.ts).
override DTYPE: u32 = 0u;

fn itemBytes() -> u32 {
  return select(select(4u, 2u, DTYPE >= 2u && DTYPE <= 4u), 1u, DTYPE <= 1u);
}

// The element's bits, zero-extended to u32.
fn loadBits(e: u32) -> u32 {
  let size = itemBytes();
  let byte = params.inputOffset + e * size;
  let word = input[byte >> 2u];
  if (size == 4u) {
    return word;
  }
  return extractBits(word, (byte & 3u) * 8u, size * 8u);
}

// IEEE binary16 bits to binary32 bits, exactly: no shader-f16 needed.
fn halfToFloatBits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let exponent = (h >> 10u) & 0x1fu;
  let mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) {
    return sign | 0x7f800000u | (mantissa << 13u); // infinity, or NaN keeping its payload
  }
  if (exponent != 0u) {
    return sign | ((exponent + 112u) << 23u) | (mantissa << 13u); // rebias 15 -> 127
  }
  if (mantissa == 0u) {
    return sign; // +-0
  }
  // Subnormal: mantissa * 2^-24 = 2^(top - 24) * 1.rest, normal in binary32.
  let top = firstLeadingBit(mantissa);
  return sign | ((top + 103u) << 23u) | ((mantissa << (23u - top)) & 0x7fffffu);
}

fn signExtend(bits: u32, width: u32) -> f32 {
  return f32(bitcast<i32>(bits << (32u - width)) >> (32u - width));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let o = invocationIndex(id, groups);
  if (o >= params.total) {
    return;
  }
  // o indexes the output; e is the element it comes from, c that element's channel.
  var e = o;
  var c = o % params.channels;
  if (params.toCHW == 1u) {
    let s = o / params.perSample;
    let r = o - s * params.perSample;
    c = r / params.inner;
    e = s * params.perSample + (r - c * params.inner) * params.channels + c;
  }
  let bits = loadBits(e);
  var x: f32;
  switch DTYPE {
    case 1u: { x = signExtend(bits, 8u); }
    case 3u: { x = signExtend(bits, 16u); }
    case 4u, 5u: {
      let f = select(bits, halfToFloatBits(bits), DTYPE == 4u);
      let b = factors[c].y;
      if ((f & 0x7f800000u) == 0x7f800000u) {
        // +-inf - a = +-inf, times b keeps or flips the sign; NaN stays (a quiet) NaN.
        let nan = (f & 0x7fffffu) != 0u;
        output[o] = select(((f ^ bitcast<u32>(b)) & 0x80000000u) | 0x7f800000u, 0x7fc00000u, nan);
        return;
      }
      x = bitcast<f32>(f);
    }
    default: { x = f32(bits); }
  }
  let ab = factors[c];
  // Subtract, then multiply, each rounded once: nothing to fuse into an fma, so CPU == GPU bit for bit.
  output[o] = bitcast<u32>((x - ab.x) * ab.y);
}
`;
