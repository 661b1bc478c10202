import { randomSelect } from '../select.js';
import { byRank, type Strategy } from './strategy.js';

/** k candidates uniformly at random, reproducible for (seed, round): the baseline. */
export const random: Strategy = Object.freeze({
  name: 'random',
  needs: Object.freeze({ embeddings: false }),
  select: (input, k) => byRank(randomSelect(input.candidates, k, input.seed, input.round)),
} satisfies Strategy);
