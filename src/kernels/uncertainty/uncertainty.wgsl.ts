import { FLOAT_BITS, shaderHeader } from '../shader.js';

/**
 * Uncertainty scores over class probabilities, one invocation per sample (see uncertaintyRef for
 * the definitions). probs is passes x n x classes; p̄, the mean over passes, is summed in f32.
 *
 * variation-ratio keeps each pass's argmax in workgroup memory (VOTE_SLOTS = WORKGROUP_SIZE *
 * passes, each invocation using its own slice, so no barrier) and counts the modal vote in
 * O(passes^2): no per-class counters, so any number of classes works without private arrays.
 */
export const uncertaintyWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64,
  params: ['n: u32', 'classes: u32', 'passes: u32', 'stride: u32 // n * classes: floats from one pass to the next'],
  bindings: { 1: ['read probs: array<f32>', 'read_write scores: array<f32>'] },
})}
// 0 least-confidence, 1 margin, 2 entropy, 3 bald, 4 variation-ratio (MEASURE_CODES in uncertainty.ts).
override MEASURE: u32 = 0u;
override VOTE_SLOTS: u32 = 1u;

var<workgroup> votes: array<u32, VOTE_SLOTS>;

${FLOAT_BITS}

// 0 ln 0 = 0; log(0) is -inf and 0 * -inf would be NaN.
fn plogp(p: f32) -> f32 {
  return select(0.0, p * log(p), p > 0.0);
}

fn variationRatio(row: u32, slot: u32) -> f32 {
  for (var t = 0u; t < params.passes; t++) {
    let base = t * params.stride + row;
    var best = 0u;
    var bestP = probs[base];
    for (var c = 1u; c < params.classes; c++) {
      let p = probs[base + c];
      if (p > bestP) { // strict: ties go to the lowest class
        best = c;
        bestP = p;
      }
    }
    votes[slot + t] = best;
  }
  var modal = 0u;
  for (var t = 0u; t < params.passes; t++) {
    var count = 0u;
    for (var u = 0u; u < params.passes; u++) {
      count += select(0u, 1u, votes[slot + u] == votes[slot + t]);
    }
    modal = max(modal, count);
  }
  return 1.0 - f32(modal) / f32(params.passes);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(local_invocation_index) local: u32,
  @builtin(num_workgroups) groups: vec3u,
) {
  let i = invocationIndex(id, groups);
  if (i >= params.n) {
    return;
  }
  let row = i * params.classes;
  if (MEASURE == 4u) {
    scores[i] = variationRatio(row, local * params.passes);
    return;
  }
  let inverse = 1.0 / f32(params.passes);
  var top1 = -1.0;
  var top2 = -1.0;
  var entropy = 0.0;
  var information = 0.0;
  var diverged = false;
  for (var c = 0u; c < params.classes; c++) {
    var sum = 0.0;
    var sumPlogp = 0.0;
    for (var t = 0u; t < params.passes; t++) {
      let p = probs[t * params.stride + row + c];
      sum += p;
      if (MEASURE == 3u) {
        sumPlogp += plogp(p);
      }
    }
    let mean = sum * inverse;
    diverged = diverged || isNan(mean);
    if (MEASURE == 2u) {
      entropy -= plogp(mean);
    }
    if (MEASURE == 3u) {
      // Per class, mean_t p ln p - p̄ ln p̄ >= 0 (p ln p is convex): summing these small gaps
      // avoids the f32 cancellation of H(p̄) - mean_t H(p_t), two sums as large as ln C.
      information += sumPlogp * inverse - plogp(mean);
    }
    if (mean > top1) {
      top2 = top1;
      top1 = mean;
    } else if (mean > top2) {
      top2 = mean;
    }
  }
  var score: f32;
  switch MEASURE {
    case 0u: { score = 1.0 - top1; }
    case 1u: { score = 1.0 - (top1 - top2); }
    case 2u: { score = entropy; }
    default: { score = max(0.0, information); }
  }
  // NaN probabilities (a diverged model) score NaN, as the reference: selection ranks them last.
  // WGSL refuses a constant NaN, so its bits come through a runtime value.
  scores[i] = select(score, bitcast<f32>(0x7fc00000u | (params.n & 0u)), diverged);
}
`;
