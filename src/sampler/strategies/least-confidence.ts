import { uncertaintyStrategy } from './uncertainty.js';

/** Least confidence: 1 - the top class probability (Lewis & Gale 1994). */
export const leastConfidence = uncertaintyStrategy('least-confidence', 'least-confidence', true);
