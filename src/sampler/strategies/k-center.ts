import { kCenterGreedy } from '../select.js';
import { byRank, required, type Strategy } from './strategy.js';

/** Core-set by k-center greedy over the probe embeddings (Sener & Savarese 2018): coverage, not uncertainty. */
export const kCenter: Strategy = Object.freeze({
  name: 'k-center',
  needs: Object.freeze({ embeddings: true }),
  select: (input, k) => byRank(kCenterGreedy(
    input.candidates, required(input.embeddings, 'k-center', 'embeddings'), input.dims, k, input.labelledEmbeddings,
  )),
} satisfies Strategy);
