import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ActiveLearner, ChunkCache, EdgelakeError, Loader, Model, EpochStats, LoaderStats, PhaseDetail } from '../src/index.js';
import { TypedEventTarget } from '../src/events.js';

describe('typed events', () => {
  it('listeners get the event their map names, without a cast (checked by tsc, npm test)', () => {
    // Never called: what matters is that each listener's parameter has the type the map names.
    const listen = (al: ActiveLearner, model: Model, loader: Loader, cache: ChunkCache) => {
      al.addEventListener('phase', (e) => expectTypeOf(e).toEqualTypeOf<CustomEvent<PhaseDetail>>());
      al.addEventListener('phase', (e) => expectTypeOf(e.detail.phase).toEqualTypeOf<'scoring' | 'labelling' | 'training' | 'evaluating'>());
      model.addEventListener('epoch', (e) => expectTypeOf(e.detail).toEqualTypeOf<EpochStats>());
      loader.addEventListener('progress', (e) => expectTypeOf(e.detail).toEqualTypeOf<LoaderStats>());
      cache.addEventListener('warning', (e) => expectTypeOf(e.detail).toEqualTypeOf<EdgelakeError>());
    };
    expect(typeof listen).toBe('function');
  });

  it('is EventTarget at runtime: dispatch, removal and other event names work as before', () => {
    class Clock extends TypedEventTarget<{ tick: CustomEvent<{ n: number }> }> {}
    const clock = new Clock();
    expect(clock).toBeInstanceOf(EventTarget);
    const seen: number[] = [];
    const tick = (e: CustomEvent<{ n: number }>) => seen.push(e.detail.n);
    clock.addEventListener('tick', tick);
    clock.addEventListener('other', (e) => seen.push(e.type.length));
    clock.dispatchEvent(new CustomEvent('tick', { detail: { n: 1 } }));
    clock.dispatchEvent(new Event('other'));
    clock.removeEventListener('tick', tick);
    clock.dispatchEvent(new CustomEvent('tick', { detail: { n: 2 } }));
    expect(seen).toEqual([1, 5]);
  });
});
