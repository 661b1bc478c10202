import { EdgelakeError } from '../../errors.js';

/** Every measure scores "higher = more uncertain", so an active-learning sampler takes the top k. */
export type UncertaintyMeasure = 'least-confidence' | 'margin' | 'entropy' | 'bald' | 'variation-ratio';

export const UNCERTAINTY_MEASURES: readonly UncertaintyMeasure[] = ['least-confidence', 'margin', 'entropy', 'bald', 'variation-ratio'];

export interface UncertaintyArgs<B> {
  /** passes x n x classes float32 probabilities: T MC-dropout passes, or 1 for a single-pass measure. */
  probs: B;
  /** n float32 scores are written from offset 0. */
  scores: B;
  n: number;
  classes: number;
  passes: number;
  measure: UncertaintyMeasure;
}

/** The shape of a scoring, without the buffers. */
export type UncertaintyShape = Omit<UncertaintyArgs<unknown>, 'probs' | 'scores'>;

/** Throws EdgelakeError 'invalid-input' naming what is wrong; returns the float count of `probs`. */
export function checkUncertainty(a: UncertaintyShape): number {
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `uncertainty ${a.measure} (n ${a.n}, classes ${a.classes}, passes ${a.passes}): ${why}`);
  };
  if (!UNCERTAINTY_MEASURES.includes(a.measure)) fail(`measure must be one of ${UNCERTAINTY_MEASURES.join(', ')}`);
  if (!Number.isInteger(a.n) || a.n < 0) fail('n must be a non-negative integer');
  if (!Number.isInteger(a.classes) || a.classes < 2) fail('classes must be an integer >= 2');
  if (!Number.isInteger(a.passes) || a.passes < 1) fail('passes must be an integer >= 1');
  if ((a.measure === 'bald' || a.measure === 'variation-ratio') && a.passes < 2) {
    fail(`${a.measure} compares MC-dropout passes, so it needs passes >= 2`);
  }
  const floats = a.passes * a.n * a.classes;
  if (floats >= 2 ** 32) fail('passes * n * classes must stay below 2^32; split the batch');
  return floats;
}

/**
 * CPU reference of the uncertainty kernel (uncertainty.wgsl.ts), in double precision, with
 * p̄ the mean over passes of each class probability:
 * least-confidence 1 - max p̄; margin 1 - (p̄ 1st - p̄ 2nd); entropy H(p̄) = -Σ p̄ ln p̄ (0 ln 0 = 0);
 * bald H(p̄) - mean_t H(p_t), clamped at 0; variation-ratio 1 - (votes of the modal argmax) / passes,
 * each pass voting for its argmax (ties to the lowest class).
 */
export function uncertaintyRef(a: UncertaintyArgs<Float32Array>): void {
  const floats = checkUncertainty(a);
  const { probs, scores, n, classes: C, passes: T, measure } = a;
  if (probs.length < floats) throw new EdgelakeError('invalid-input', `uncertainty: probs holds ${probs.length} floats, ${T} x ${n} x ${C} needed`);
  if (scores.length < n) throw new EdgelakeError('invalid-input', `uncertainty: scores holds ${scores.length} floats, ${n} needed`);
  const stride = n * C;
  const votes = new Uint32Array(measure === 'variation-ratio' ? C : 0);
  for (let i = 0; i < n; i++) {
    const row = i * C;
    if (measure === 'variation-ratio') {
      votes.fill(0);
      for (let t = 0; t < T; t++) {
        const base = t * stride + row;
        let best = 0;
        for (let c = 1; c < C; c++) if (probs[base + c] > probs[base + best]) best = c;
        votes[best]++;
      }
      let modal = 0;
      for (let c = 0; c < C; c++) modal = Math.max(modal, votes[c]);
      scores[i] = 1 - modal / T;
      continue;
    }
    let [top1, top2, entropy, information, diverged] = [-Infinity, -Infinity, 0, 0, false];
    for (let c = 0; c < C; c++) {
      let [sum, sumPlogp] = [0, 0];
      for (let t = 0; t < T; t++) {
        const p = probs[t * stride + row + c];
        sum += p;
        sumPlogp += plogp(p);
      }
      const mean = sum / T;
      diverged ||= Number.isNaN(mean);
      entropy -= plogp(mean);
      information += sumPlogp / T - plogp(mean); // H(p̄) - mean_t H(p_t), gathered per class as the shader does
      if (mean > top1) [top1, top2] = [mean, top1];
      else if (mean > top2) top2 = mean;
    }
    // A diverged model's NaN probabilities score NaN, which selection ranks last (1 - max would make them the most uncertain).
    if (diverged) scores[i] = NaN;
    else switch (measure) {
      case 'least-confidence': scores[i] = 1 - top1; break;
      case 'margin': scores[i] = 1 - (top1 - top2); break;
      case 'entropy': scores[i] = entropy; break;
      case 'bald': scores[i] = Math.max(0, information); break;
    }
  }
}

// 0 ln 0 = 0 by continuity; negative inputs (rounding noise) count as 0 too.
function plogp(p: number): number {
  return p > 0 ? p * Math.log(p) : 0;
}
