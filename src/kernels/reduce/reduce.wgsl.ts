import { shaderHeader } from '../shader.js';

/**
 * Sums float32 values, one level of a tree reduction per dispatch (no float atomics in WGSL):
 * workgroup g sums values [g * CHUNK, (g + 1) * CHUNK) of the input, CHUNK = WORKGROUP_SIZE *
 * PER_THREAD, and writes output[outputIndex + g], adding to it when `accumulate` is 1. Invocation
 * t adds its values t, t + WORKGROUP_SIZE... in sequence, then a halving tree adds the partial
 * sums: the order treeSum (reduce.ref.ts) replays.
 */
export const sumWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 256, // a power of two
  params: [
    'count: u32       // values in the input',
    'groups: u32      // workgroups of this level; a 2-D grid may launch a few more',
    'outputIndex: u32 // where workgroup 0 writes',
    'accumulate: u32  // 1: add to the output instead of overwriting it',
  ],
  bindings: { 1: ['read input: array<f32>', 'read_write output: array<f32>'] },
})}
override PER_THREAD: u32 = 16u;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(local_invocation_index) t: u32,
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let g = workgroupIndex(group, groups);
  if (g >= params.groups) {
    return;
  }
  let start = g * WORKGROUP_SIZE * PER_THREAD;
  var acc = 0.0;
  for (var k = 0u; k < PER_THREAD; k++) {
    let i = start + t + k * WORKGROUP_SIZE;
    if (i < params.count) {
      acc += input[i];
    }
  }
  partial[t] = acc;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      partial[t] += partial[t + stride];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    let at = params.outputIndex + g;
    output[at] = select(partial[0], output[at] + partial[0], params.accumulate == 1u);
  }
}
`;
