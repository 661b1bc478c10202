import { topK } from '../select.js';
import { byScore, required, type ScoreMeasure, type Strategy } from './strategy.js';

/** The k candidates the model is least sure of under `measure`, valued by their scores. */
export function uncertaintyStrategy(name: string, measure: ScoreMeasure, rerank: boolean): Strategy {
  return Object.freeze({
    name,
    needs: Object.freeze({ measure, embeddings: false }),
    rerank,
    select(input, k) {
      const scores = required(input.scores, name, `${measure} scores`);
      return byScore(input.candidates, scores, topK(input.candidates, scores, k));
    },
  } satisfies Strategy);
}
