// sampler: what to label or fetch next. Strategies in one registry, the proxy that scores the
// pool from its probes, the cost model and fetch plans; no I/O (the caller fetches).
export { Pool, type PoolJSON } from './pool.js';
export { randomSelect, topK, kCenterGreedy, hybridSelect, coldStart, type HybridOptions, type ColdStartOptions } from './select.js';
export {
  STRATEGIES, STRATEGY_REGISTRY, strategyFor, strategyNeeds, isStrategyName, byRank, byScore,
  type StrategyName, type Strategy, type StrategyNeeds, type SelectInput, type Selection, type ScoreMeasure,
} from './strategies/index.js';
export {
  planFetch, fetchBytes, costModel, REQUEST_OVERHEAD_BYTES,
  type CostModel, type FetchPlan, type FetchUnit, type SampleLayout, type ChunkPlace,
} from './cost.js';
export { proxyScores, PROXY_RECIPE, type ProxyModel, type ProxyFactory, type ProxySpec, type ProxyBatch, type ProxyScoreOptions } from './proxy.js';
export { acquire, type AcquireOptions, type ProbeRows } from './acquire.js';
