import type { EdgelakeError } from '../errors.js';

/**
 * Aborts one request when the caller aborts, or when nothing arrives for `timeoutMs`: the
 * timer restarts on every piece of the body, so a slow but moving download is not cut off.
 */
export class RequestTimer {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | undefined;
  readonly #timeoutMs: number;
  readonly #onCallerAbort = () => this.#controller.abort(this.#caller?.reason);
  #timer: ReturnType<typeof setTimeout> | undefined;
  timedOut = false;

  constructor(timeoutMs: number, caller?: AbortSignal) {
    this.#timeoutMs = timeoutMs;
    this.#caller = caller;
    if (caller?.aborted) this.#onCallerAbort();
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  touch(): void {
    clearTimeout(this.#timer);
    if (!Number.isFinite(this.#timeoutMs)) return;
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#controller.abort();
    }, this.#timeoutMs);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }
}

/** What HttpSource reads of a response: fetch's Response has it, and so does nodeFetch's (fetch.node.ts). */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: { getReader(): BodyReader; cancel(): Promise<void> } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface BodyReader {
  read(): Promise<{ done: true; value?: Uint8Array } | { done: false; value: Uint8Array }>;
  cancel(): Promise<void>;
  releaseLock(): void;
}

export interface BodyWindow {
  /** Keep body bytes [start, end); stop reading (and cancel the rest) once `end` is reached. */
  start: number;
  end: number;
  /** Fail with tooLarge() rather than need more than `max` bytes of the body. */
  max: number;
  /** Expected size, to allocate once. */
  hint?: number;
}

/**
 * Streams a response body into one buffer, never holding more than the window or the limit.
 * Returns fewer bytes than the window when the body ends early; the caller decides what that means.
 */
export async function readBody(
  response: HttpResponse,
  timer: RequestTimer,
  window: BodyWindow,
  tooLarge: () => EdgelakeError,
): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const wanted = window.end - window.start;
  let out = new Uint8Array(Math.min(Number.isFinite(wanted) ? wanted : (window.hint ?? 65536), window.max));
  let size = 0;
  let seen = 0;
  let finished = false;
  try {
    while (seen < window.end) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      timer.touch();
      if (Math.min(seen + value.length, window.end) > window.max) throw tooLarge();
      const from = Math.max(window.start - seen, 0);
      const to = Math.min(window.end - seen, value.length);
      seen += value.length;
      if (to <= from) continue;
      if (size + to - from > out.length) {
        const grown = new Uint8Array(Math.min(Math.max(out.length * 2, size + to - from), window.max));
        grown.set(out.subarray(0, size));
        out = grown;
      }
      out.set(value.subarray(from, to), size);
      size += to - from;
    }
  } finally {
    if (!finished) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  return size === out.length ? out : out.slice(0, size);
}
