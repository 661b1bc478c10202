import { FLOAT_BITS, shaderHeader } from '../shader.js';

/**
 * Row-wise softmax and softmax cross-entropy, one workgroup per row (WORKGROUP_SIZE invocations,
 * lossWorkgroupSize(classes)). Each row first finds `top`, the lowest index of its maximum, then
 * `rest` = sum of exp(x_j - max) over j != top: the softmax denominator is 1 + rest, the
 * log-sum-exp is max + log(1 + rest), and 1 - p_top = rest / (1 + rest) needs no subtraction, so
 * confident rows keep their small losses and gradients (p_top - 1) accurate. Sums follow treeSum's order
 * (reduce.ref.ts), which loss.ref.ts replays.
 */
export const lossWgsl = /* wgsl */ `
${shaderHeader({
  workgroupSize: 64, // a power of two
  params: ['n: u32 // rows', 'classes: u32 // values per row', 'gradScale: f32 // multiplies the gradient', 'pad: u32'],
  bindings: {
    1: [
      'read logits: array<f32>',
      'read_write rows: array<f32> // probs (softmax) or gradLogits (crossEntropy)',
      'read_write loss: array<f32>',
      'read_write correct: array<f32>',
      'read labels: array<u32> // i32 indices or f32 rows, read as bits: one declaration serves both kinds',
      'read_write invalid: array<f32> // crossEntropy: 1 where an index label is outside [0, classes)',
    ],
  },
})}
override SOFT_LABELS: u32 = 0u; // crossEntropy: 1 when labels are rows of class probabilities

var<workgroup> scratchValue: array<f32, WORKGROUP_SIZE>;
var<workgroup> scratchIndex: array<u32, WORKGROUP_SIZE>;

const LOWEST = -3.4028234663852886e38f;
const NONE = 0xffffffffu;

// The index of the largest value offered, the lowest on ties; v, i: this invocation's best.
fn argmaxTree(t: u32, v: f32, i: u32) -> u32 {
  scratchValue[t] = v;
  scratchIndex[t] = i;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      let ov = scratchValue[t + stride];
      let oi = scratchIndex[t + stride];
      if (ov > scratchValue[t] || (ov == scratchValue[t] && oi < scratchIndex[t])) {
        scratchValue[t] = ov;
        scratchIndex[t] = oi;
      }
    }
    workgroupBarrier();
  }
  let best = scratchIndex[0];
  workgroupBarrier(); // all have read it before the arrays are reused
  return best;
}

fn sumTree(t: u32, v: f32) -> f32 {
  scratchValue[t] = v;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride >>= 1u) {
    if (t < stride) {
      scratchValue[t] += scratchValue[t + stride];
    }
    workgroupBarrier();
  }
  let sum = scratchValue[0];
  workgroupBarrier();
  return sum;
}

// log(1 + u), u >= 0: WGSL's log may be off by 2^-21 absolute near 1, too much for small losses.
fn logOnePlus(u: f32) -> f32 {
  if (u < 0.03125) {
    return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * 0.2))));
  }
  let w = 1.0 + u;
  return log(w) * (u / (w - 1.0)); // undoes the rounding of w: w - 1 is exact
}

${FLOAT_BITS}

struct Row { base: u32, top: u32, max: f32, rest: f32 }

fn rowStats(t: u32, row: u32) -> Row {
  let base = row * params.classes;
  var v = LOWEST;
  var i = NONE;
  for (var j = t; j < params.classes; j += WORKGROUP_SIZE) {
    let x = logits[base + j];
    if (x > v || i == NONE) {
      v = x;
      i = j;
    }
  }
  let top = argmaxTree(t, v, i);
  let m = logits[base + top];
  var acc = 0.0;
  for (var j = t; j < params.classes; j += WORKGROUP_SIZE) {
    if (j != top) {
      acc += exp(logits[base + j] - m);
    }
  }
  return Row(base, top, m, sumTree(t, acc));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax(
  @builtin(local_invocation_index) t: u32,
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = workgroupIndex(group, groups);
  if (row >= params.n) {
    return;
  }
  let r = rowStats(t, row);
  let denom = 1.0 + r.rest;
  for (var j = t; j < params.classes; j += WORKGROUP_SIZE) {
    rows[r.base + j] = select(exp(logits[r.base + j] - r.max), 1.0, j == r.top) / denom;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn crossEntropy(
  @builtin(local_invocation_index) t: u32,
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let row = workgroupIndex(group, groups);
  if (row >= params.n) {
    return;
  }
  let r = rowStats(t, row);
  let denom = 1.0 + r.rest;
  let lse = logOnePlus(r.rest); // log-sum-exp - max
  var labelIndex = NONE; // the index label; NONE for soft labels and labels out of range
  var outOfRange = false;
  if (SOFT_LABELS == 0u) {
    let label = bitcast<i32>(labels[row]);
    if (label >= 0 && u32(label) < params.classes) {
      labelIndex = u32(label);
    } else {
      outOfRange = true;
    }
  }
  var terms = 0.0;
  var labelValue = LOWEST;
  var labelTop = NONE;
  for (var j = t; j < params.classes; j += WORKGROUP_SIZE) {
    let at = r.base + j;
    let d = logits[at] - r.max;
    var y = select(0.0, 1.0, j == labelIndex);
    if (SOFT_LABELS == 1u) {
      y = bitcast<f32>(labels[at]);
      terms += y * (lse - d);
      if (y > labelValue || labelTop == NONE) {
        labelValue = y;
        labelTop = j;
      }
    }
    var g = exp(d) / denom - y;
    if (j == r.top) {
      // p_top - y; from y = 1/2 up, as (1 - y) - (1 - p_top): no cancellation when both near 1.
      g = select(1.0 / denom - y, (1.0 - y) - r.rest / denom, y >= 0.5);
    }
    rows[at] = g * params.gradScale;
  }
  var sampleLoss = 0.0;
  var hit = false;
  if (SOFT_LABELS == 1u) {
    sampleLoss = sumTree(t, terms);
    hit = argmaxTree(t, labelValue, labelTop) == r.top;
  } else if (labelIndex != NONE) {
    sampleLoss = lse - (logits[r.base + labelIndex] - r.max);
    hit = labelIndex == r.top;
  }
  if (t == 0u) {
    loss[row] = sampleLoss;
    correct[row] = select(0.0, 1.0, hit && isFinite(sampleLoss)); // a NaN row's argmax means nothing
    invalid[row] = select(0.0, 1.0, outOfRange);
  }
}
`;
