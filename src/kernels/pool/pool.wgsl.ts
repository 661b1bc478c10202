import { shaderHeader } from '../shader.js';

/** What the forward and backward kernels share: the header (with their `data` bindings) and the window constants. */
const poolCommon = (data: string[]) => /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: ['planes: u32', 'h: u32', 'w: u32', 'oh: u32', 'ow: u32', 'total: u32', 'unused0: u32', 'unused1: u32'],
  bindings: { 1: data },
})}
override SIZE: u32 = 2u;
override STRIDE: u32 = 2u;
`;

/**
 * Max pooling, one invocation per output element: the window's maximum and the flat input index
 * of its first occurrence in row-major window order (a strict > keeps the first of equal values).
 */
export const maxPoolWgsl = /* wgsl */ `
${poolCommon(['read input: array<f32>', 'read_write output: array<f32>', 'read_write argmax: array<u32>'])}
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let o = invocationIndex(id, groups);
  if (o >= params.total) {
    return;
  }
  let ox = o % params.ow;
  let rest = o / params.ow;
  let oy = rest % params.oh;
  let plane = rest / params.oh;
  let first = (plane * params.h + oy * STRIDE) * params.w + ox * STRIDE;
  var best = input[first];
  var at = first;
  for (var ky = 0u; ky < SIZE; ky++) {
    for (var kx = 0u; kx < SIZE; kx++) {
      let i = first + ky * params.w + kx;
      let v = input[i];
      if (v > best) {
        best = v;
        at = i;
      }
    }
  }
  output[o] = best;
  argmax[o] = at;
}
`;

/**
 * Gradient of max pooling, race-free without atomics: each invocation writes a disjoint part of
 * gradInput. `cells` (windows that do not overlap, STRIDE >= SIZE): an invocation per output
 * owns the STRIDE x STRIDE cell its window starts (the last row and column of cells reach the
 * edge) and writes the gradient at argmax, zeros elsewhere. `gather` (overlapping windows): an
 * invocation per input element adds the gradients of every window that picked it, in output order.
 */
export const maxPoolBackwardWgsl = /* wgsl */ `
${poolCommon(['read gradOutput: array<f32>', 'read argmax: array<u32>', 'read_write gradInput: array<f32>'])}
@compute @workgroup_size(WORKGROUP_SIZE)
fn cells(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let o = invocationIndex(id, groups);
  if (o >= params.total) { // total = outputs
    return;
  }
  let ox = o % params.ow;
  let rest = o / params.ow;
  let oy = rest % params.oh;
  let plane = rest / params.oh;
  let g = gradOutput[o];
  let at = argmax[o];
  let y0 = oy * STRIDE;
  let x0 = ox * STRIDE;
  let y1 = select(y0 + STRIDE, params.h, oy == params.oh - 1u);
  let x1 = select(x0 + STRIDE, params.w, ox == params.ow - 1u);
  for (var y = y0; y < y1; y++) {
    let row = (plane * params.h + y) * params.w;
    for (var x = x0; x < x1; x++) {
      gradInput[row + x] = select(0.0, g, row + x == at);
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn gather(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = invocationIndex(id, groups);
  if (i >= params.total) { // total = inputs
    return;
  }
  let x = i % params.w;
  let rest = i / params.w;
  let y = rest % params.h;
  let plane = rest / params.h;
  // Windows oy with oy * STRIDE <= y < oy * STRIDE + SIZE, within the output.
  let oy0 = select(0u, (y + 1u - SIZE + STRIDE - 1u) / STRIDE, y + 1u >= SIZE);
  let oy1 = min(y / STRIDE + 1u, params.oh);
  let ox0 = select(0u, (x + 1u - SIZE + STRIDE - 1u) / STRIDE, x + 1u >= SIZE);
  let ox1 = min(x / STRIDE + 1u, params.ow);
  var sum = 0.0;
  for (var oy = oy0; oy < oy1; oy++) {
    for (var ox = ox0; ox < ox1; ox++) {
      let o = (plane * params.oh + oy) * params.ow + ox;
      if (argmax[o] == i) {
        sum += gradOutput[o];
      }
    }
  }
  gradInput[i] = sum;
}
`;
