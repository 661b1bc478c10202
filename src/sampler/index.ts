// sampler: what to label or fetch next. Pure functions over ids, scores and embeddings; no I/O.
export { Pool, type PoolJSON } from './pool.js';
export {
  STRATEGIES, randomSelect, topK, kCenterGreedy, hybridSelect, coldStart, strategyNeeds,
  type Strategy, type ScoreMeasure, type HybridOptions, type ColdStartOptions, type StrategyNeeds,
} from './strategies.js';
export { planFetch, fetchBytes, type CostModel, type FetchPlan, type FetchUnit } from './cost.js';
