import { EdgelakeError } from '../../errors.js';
import { bald } from './bald.js';
import { entropy } from './entropy.js';
import { hybrid } from './hybrid.js';
import { kCenter } from './k-center.js';
import { leastConfidence } from './least-confidence.js';
import { margin } from './margin.js';
import { random } from './random.js';
import type { Strategy, StrategyNeeds } from './strategy.js';
import { typiclust } from './typiclust.js';

// The one place strategies are registered: the learner, the CLI and the demo list them from here.
const registry = {
  random,
  'least-confidence': leastConfidence,
  margin,
  entropy,
  bald,
  'k-center': kCenter,
  hybrid,
  typiclust,
} satisfies Record<string, Strategy>;

/** The name of a built-in strategy. */
export type StrategyName = keyof typeof registry;

/** The built-in strategies by name (read-only). */
export const STRATEGY_REGISTRY: Readonly<Record<StrategyName, Strategy>> = Object.freeze(registry);

/** Their names, in the order the CLI and the demo list them. */
export const STRATEGIES: readonly StrategyName[] = Object.freeze(Object.keys(registry) as StrategyName[]);

export function isStrategyName(name: string): name is StrategyName {
  return Object.hasOwn(registry, name);
}

/** A registered strategy by name, or the user's own Strategy object as it is. */
export function strategyFor(strategy: StrategyName | Strategy): Strategy {
  if (typeof strategy === 'string') {
    if (!isStrategyName(strategy)) throw new EdgelakeError('invalid-input', `unknown strategy "${strategy}"; expected one of ${STRATEGIES.join(', ')}`);
    return registry[strategy];
  }
  const s = strategy as Partial<Strategy> | null;
  if (typeof s?.select !== 'function' || typeof s.needs !== 'object' || s.needs === null || typeof s.name !== 'string') {
    const got = typeof s === 'object' && s !== null ? `{ ${Object.keys(s).join(', ')} }` : String(s);
    throw new EdgelakeError('invalid-input', `a strategy is a registered name (${STRATEGIES.join(', ')}) or an object with name, needs and select, not ${got}`);
  }
  return strategy;
}

/** What a strategy needs computed before it can select (a fresh object). */
export function strategyNeeds(strategy: StrategyName | Strategy): StrategyNeeds {
  return { ...strategyFor(strategy).needs };
}

export type { ScoreMeasure, SelectInput, Selection, Strategy, StrategyNeeds } from './strategy.js';
export { byRank, byScore } from './strategy.js';
