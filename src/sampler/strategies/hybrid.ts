import { hybridSelect } from '../select.js';
import { byScore, required, type Strategy } from './strategy.js';

/**
 * Diverse among the uncertain: k-center greedy over the 4k candidates of highest margin. Margin:
 * a strong single-pass ranking, and no MC-dropout passes to pay for.
 */
export const hybrid: Strategy = Object.freeze({
  name: 'hybrid',
  needs: Object.freeze({ measure: 'margin', embeddings: true }),
  rerank: true,
  select(input, k) {
    const scores = required(input.scores, 'hybrid', 'margin scores');
    const embeddings = required(input.embeddings, 'hybrid', 'embeddings');
    const ids = hybridSelect(input.candidates, scores, embeddings, input.dims, k, { labelledEmbeddings: input.labelledEmbeddings });
    return byScore(input.candidates, scores, ids);
  },
} satisfies Strategy);
