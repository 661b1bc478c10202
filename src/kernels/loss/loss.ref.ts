import { EdgelakeError } from '../../errors.js';
import { treeSum } from '../reduce/reduce.ref.js';

export type LabelKind = 'index' | 'soft';

/** probs = softmax(logits), row by row: n rows of `classes` float32 values. */
export interface SoftmaxArgs<B> {
  logits: B;
  probs: B;
  n: number;
  classes: number;
}

export interface SoftmaxCrossEntropyArgs<B, L> {
  /** n x classes float32, finite. */
  logits: B;
  n: number;
  classes: number;
  /**
   * 'index': n class indices (i32 on the GPU, Int32Array on the CPU); an index outside
   * [0, classes) means no target: loss 0, gradLogits = softmax * gradScale, correct 0.
   * 'soft': n x classes float32 rows summing to 1 (mixup).
   */
  labels: L;
  labelKind: LabelKind;
  /** n x classes: (softmax - onehot_or_soft) * gradScale. */
  gradLogits: B;
  /** Usually 1 / batchSize: the gradient of the mean loss. */
  gradScale: number;
  /** n: per-sample -sum_j y_j log softmax_j, from the log-sum-exp. */
  loss: B;
  /** n float32: 1 where argmax(logits) == the label (soft: argmax of its row) and the loss is finite, else 0; ties -> lowest index. */
  correct: B;
  /** n float32: 1 where an index label is outside [0, classes), else 0: a caller refuses those after the fact without reading labels back. */
  invalid?: B;
}

/** Invocations per row: part of the summation order the references replay (a power of two, at most 64). */
export function lossWorkgroupSize(classes: number): number {
  return Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(1, classes))));
}

/** Throws EdgelakeError 'invalid-input' unless n >= 0 and classes >= 1 are integers. */
export function checkRows(kernel: string, n: number, classes: number): void {
  if (!Number.isInteger(n) || n < 0) throw new EdgelakeError('invalid-input', `${kernel}: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(classes) || classes < 1) {
    throw new EdgelakeError('invalid-input', `${kernel}: classes must be a positive integer, got ${classes}`);
  }
}

/** Throws EdgelakeError 'invalid-input' unless gradScale is finite and labelKind known. */
export function checkCrossEntropy(a: { labelKind: LabelKind; gradScale: number }): void {
  if (a.labelKind !== 'index' && a.labelKind !== 'soft') {
    throw new EdgelakeError('invalid-input', `softmaxCrossEntropy: labelKind must be 'index' or 'soft', got '${String(a.labelKind)}'`);
  }
  if (!Number.isFinite(a.gradScale)) throw new EdgelakeError('invalid-input', `softmaxCrossEntropy: gradScale must be finite, got ${a.gradScale}`);
}

const f = Math.fround;
const fexp = (x: number) => f(Math.exp(x));

/**
 * log(1 + u) for u >= 0, as the shader computes it: a series below 2^-5, where WGSL's log may
 * be off by 2^-21 absolute near 1 (too much for small losses); above, log(w) u / (w - 1) with
 * w = 1 + u, which undoes the rounding of w (w - 1 is exact).
 */
export function logOnePlus(u: number): number {
  if (u < 0.03125) {
    const inner = f(f(0.25) - f(u * f(0.2)));
    return f(u * f(1 - f(u * f(0.5 - f(u * f(f(1 / 3) - f(u * inner)))))));
  }
  const w = f(1 + u);
  return f(f(Math.log(w)) * f(u / (w - 1)));
}

/**
 * One row's statistics as the shaders compute them: `top`, the lowest index of the maximum;
 * `rest`, the sum of exp(x_j - max) over j != top in treeSum order (so 1 + rest is the softmax
 * denominator, and 1 - p_top = rest / (1 + rest) has no cancellation); `lse` = log(1 + rest).
 */
function rowStats(x: Float32Array, base: number, classes: number) {
  let top = 0;
  for (let j = 1; j < classes; j++) if (x[base + j] > x[base + top]) top = j;
  const max = x[base + top];
  const rest = treeSum(classes, (j) => (j === top ? 0 : fexp(f(x[base + j] - max))), lossWorkgroupSize(classes));
  return { top, max, rest, denom: f(1 + rest), lse: logOnePlus(rest) };
}

function checkLength(kernel: string, name: string, array: ArrayLike<number>, length: number): void {
  if (array.length < length) throw new EdgelakeError('invalid-input', `${kernel}: ${name} holds ${array.length} values, ${length} needed`);
}

/** CPU reference of encodeSoftmax: p_j = exp(x_j - max) / (1 + rest), p_top = 1 / (1 + rest). */
export function softmaxRef(a: SoftmaxArgs<Float32Array>): void {
  const { n, classes, logits, probs } = a;
  checkRows('softmax', n, classes);
  checkLength('softmax', 'logits', logits, n * classes);
  checkLength('softmax', 'probs', probs, n * classes);
  for (let row = 0; row < n; row++) {
    const base = row * classes;
    const r = rowStats(logits, base, classes);
    for (let j = 0; j < classes; j++) probs[base + j] = (j === r.top ? 1 : fexp(f(logits[base + j] - r.max))) / r.denom;
  }
}

/**
 * CPU reference of encodeSoftmaxCrossEntropy, operation for operation in float32 (exp, log and
 * division as Math's, rounded once: the GPU's may differ by a few ulps). With d_j = x_j - max:
 *   loss  = lse - d_label (index), or sum_j y_j (lse - d_j) in treeSum order (soft);
 *   grad_j = (exp(d_j) / (1 + rest) - y_j) * gradScale; for j = top (1 / (1 + rest) - y_j) * gradScale,
 *   or where y_j >= 1/2 ((1 - y_j) - rest / (1 + rest)) * gradScale, exact in the difference of two near-1 values.
 */
export function softmaxCrossEntropyRef(a: SoftmaxCrossEntropyArgs<Float32Array, Int32Array | Float32Array>): void {
  const { n, classes, logits, labels, gradLogits, loss, correct, invalid } = a;
  const kernel = 'softmaxCrossEntropy';
  checkRows(kernel, n, classes);
  checkCrossEntropy(a);
  const soft = a.labelKind === 'soft';
  if (!(labels instanceof (soft ? Float32Array : Int32Array))) {
    throw new EdgelakeError('invalid-input', `${kernel}: '${a.labelKind}' labels must be ${soft ? 'a Float32Array' : 'an Int32Array'}`);
  }
  checkLength(kernel, 'logits', logits, n * classes);
  checkLength(kernel, 'labels', labels, soft ? n * classes : n);
  checkLength(kernel, 'gradLogits', gradLogits, n * classes);
  checkLength(kernel, 'loss', loss, n);
  checkLength(kernel, 'correct', correct, n);
  if (invalid) checkLength(kernel, 'invalid', invalid, n);
  const scale = f(a.gradScale);
  const width = lossWorkgroupSize(classes);
  for (let row = 0; row < n; row++) {
    const base = row * classes;
    const r = rowStats(logits, base, classes);
    const target = !soft && labels[row] >= 0 && labels[row] < classes ? labels[row] : -1;
    const y = (j: number) => (soft ? labels[base + j] : j === target ? 1 : 0);
    for (let j = 0; j < classes; j++) {
      const yj = y(j);
      let g = f(f(fexp(f(logits[base + j] - r.max)) / r.denom) - yj);
      if (j === r.top) g = yj >= 0.5 ? f(f(1 - yj) - f(r.rest / r.denom)) : f(f(1 / r.denom) - yj);
      gradLogits[base + j] = g * scale;
    }
    if (soft) {
      loss[row] = treeSum(classes, (j) => f(y(j) * f(r.lse - f(logits[base + j] - r.max))), width);
      let labelTop = 0;
      for (let j = 1; j < classes; j++) if (labels[base + j] > labels[base + labelTop]) labelTop = j;
      correct[row] = labelTop === r.top && Number.isFinite(loss[row]) ? 1 : 0;
    } else {
      loss[row] = target < 0 ? 0 : r.lse - f(logits[base + target] - r.max);
      correct[row] = target === r.top && Number.isFinite(loss[row]) ? 1 : 0;
    }
    if (invalid) invalid[row] = !soft && target < 0 ? 1 : 0;
  }
}
