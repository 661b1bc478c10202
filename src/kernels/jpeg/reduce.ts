import { EdgelakeError } from '../../errors.js';
import type { JpegCoefficients, JpegScale } from './coefficients.js';
import { checkJpegArrays, jpegPlan, KEPT_ROWS } from './plan.js';

/**
 * `coef` with only the coefficients reconstruction at 1/scale reads (JpegCoefficients.reducedFor):
 * per block the side x side rows and columns of its component's IDCT size, so at 1/8 a 4:2:0
 * photo's luma keeps its DC alone (1 of 64) and its chroma 25 of 64, about 7x fewer bytes in all;
 * at 1/4, 25 and 49 of 64. The same pixels at that scale, by either reconstruction. The array is
 * padded to whole 64s (a batch places images at blocks of 64). `allocate` makes it (zeroed), e.g.
 * inside a larger buffer; at scale 1, or already reduced, `coef` comes back as it is.
 */
export function reduceJpegCoefficients(
  coef: JpegCoefficients, scale: JpegScale, name = 'JPEG', allocate: (length: number) => Int16Array = (n) => new Int16Array(n),
): JpegCoefficients {
  if (coef.reducedFor === scale || (scale === 1 && coef.reducedFor === undefined)) return coef;
  if (coef.reducedFor !== undefined) throw new EdgelakeError('invalid-input', `${name}: coefficients reduced for 1/${coef.reducedFor} cannot be reduced for 1/${scale}`);
  checkJpegArrays(coef, name);
  const reduced = { ...coef, reducedFor: scale };
  const plan = jpegPlan(reduced, scale, name);
  const out = allocate(Math.ceil(plan.coefficientCount / 64) * 64);
  const from = coef.coefficients;
  plan.components.forEach((p, c) => {
    const rows = KEPT_ROWS[p.side];
    const blocks = coef.components[c].blocksHigh * p.blocksWide;
    for (let b = 0, i = p.firstBlock * 64, o = p.firstCoefficient; b < blocks; b++, i += 64) {
      for (const r of rows) for (const k of rows) out[o++] = from[i + r * 8 + k];
    }
  });
  return { ...reduced, coefficients: out };
}
