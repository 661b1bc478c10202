/**
 * EventTarget with typed listeners, lib.dom's `HTMLElementEventMap` pattern: a class extends
 * `TypedEventTarget<Events>` (EventTarget itself at runtime) and `addEventListener('phase', (e) =>
 * e.detail.phase)` type-checks without a cast. Other event names still take any listener.
 */
export interface TypedEventTarget<Events> extends EventTarget {
  addEventListener<K extends keyof Events & string>(type: K, listener: (event: Events[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof Events & string>(type: K, listener: (event: Events[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

// A cast, not a class: a subclass of EventTarget itself, so instanceof and dispatch are untouched.
export const TypedEventTarget = EventTarget as new <Events>() => TypedEventTarget<Events>;
