import { uncertaintyStrategy } from './uncertainty.js';

/**
 * BALD (Houlsby et al. 2011; Gal et al. 2017): mutual information between prediction and weights,
 * from MC-dropout passes of the proxy. No rerank: the learner may have no dropout to sample.
 */
export const bald = uncertaintyStrategy('bald', 'bald', false);
