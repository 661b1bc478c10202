import { describe, expect, it } from 'vitest';
import { type Source, withConcurrency } from '../../src/index.js';

/** A Source whose reads finish only when the test says so. */
function controlledSource() {
  const pending = new Map<string, () => void>();
  const started: string[] = [];
  const source: Source = {
    location: 'memory:',
    read: (path) =>
      new Promise((resolve) => {
        started.push(path);
        pending.set(path, () => resolve(new TextEncoder().encode(path)));
      }),
    readRange: async () => new Uint8Array(0),
  };
  const finish = (path: string) => pending.get(path)!();
  return { source, started, finish };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('withConcurrency', () => {
  it('keeps at most n reads in flight and starts the waiting ones in arrival order', async () => {
    const { source, started, finish } = controlledSource();
    const limited = withConcurrency(source, 2);
    const reads = ['a', 'b', 'c', 'd', 'e'].map((path) => limited.read(path));
    await tick();
    expect(started).toEqual(['a', 'b']);
    finish('b');
    await tick();
    expect(started).toEqual(['a', 'b', 'c']);
    finish('a');
    finish('c');
    await tick();
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    finish('d');
    finish('e');
    const texts = (await Promise.all(reads)).map((bytes) => new TextDecoder().decode(bytes));
    expect(texts).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('drops an aborted read from the queue without taking a slot', async () => {
    const { source, started, finish } = controlledSource();
    const limited = withConcurrency(source, 1);
    const controller = new AbortController();
    const first = limited.read('first');
    const cancelled = limited.read('cancelled', { signal: controller.signal });
    const last = limited.read('last');
    controller.abort(new Error('not needed any more'));
    await expect(cancelled).rejects.toThrow('not needed any more');
    finish('first');
    await first;
    await tick();
    expect(started).toEqual(['first', 'last']);
    finish('last');
    await last;
  });

  it('listens once to a signal however many reads wait on it, and stops listening when none does', async () => {
    const { source, started, finish } = controlledSource();
    const limited = withConcurrency(source, 1);
    const controller = new AbortController();
    const listening: string[] = [];
    const { addEventListener, removeEventListener } = controller.signal;
    controller.signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => (listening.push(`+${args[0]}`), addEventListener.apply(controller.signal, args));
    controller.signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => (listening.push(`-${args[0]}`), removeEventListener.apply(controller.signal, args));
    const first = limited.read('first');
    const queued = ['q1', 'q2', 'q3'].map((path) => limited.read(path, { signal: controller.signal }));
    expect(listening).toEqual(['+abort']);
    await tick();
    for (const path of ['first', 'q1']) {
      finish(path);
      await tick();
    }
    expect(listening).toEqual(['+abort']); // q3 still waits
    finish('q2');
    await tick();
    // q3 left the queue for its slot: nothing waits on the signal any more.
    expect(listening).toEqual(['+abort', '-abort']);
    finish('q3');
    await Promise.all([first, ...queued]);
    // And an abort fails every read still waiting on it.
    const blocker = limited.read('blocker');
    await tick();
    const waiting = ['w1', 'w2'].map((path) => limited.read(path, { signal: controller.signal }));
    controller.abort(new Error('stop'));
    for (const w of waiting) await expect(w).rejects.toThrow('stop');
    finish('blocker');
    await blocker;
    expect(started).toEqual(['first', 'q1', 'q2', 'q3', 'blocker']);
  });

  it('refuses a read whose signal is already aborted, and a cap below 1', async () => {
    const { source, started } = controlledSource();
    const limited = withConcurrency(source, 1);
    await expect(limited.read('x', { signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
    expect(started).toEqual([]);
    for (const n of [0, 1.5, Number.NaN]) {
      expect(() => withConcurrency(source, n)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
  });

  it('frees the slot when a read fails', async () => {
    const failing: Source = {
      location: 'memory:',
      read: async () => Promise.reject(new Error('boom')),
      readRange: async () => new Uint8Array(0),
    };
    const limited = withConcurrency(failing, 1);
    await expect(limited.read('a')).rejects.toThrow('boom');
    await expect(limited.read('b')).rejects.toThrow('boom');
  });
});
