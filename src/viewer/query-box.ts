import { query, type Dataset, type QueryAnswer, type QueryOptions } from '../index.js';

export interface QueryElements {
  form: HTMLFormElement;
  input: HTMLInputElement;
  clear: HTMLButtonElement;
  /** "7,000 results" once a query ran. */
  count: HTMLElement;
  /** A query's mistake, by the box (a <pre>: the caret under its column stays aligned). */
  error: HTMLElement;
}

export interface QueryHandlers {
  /** Page `page` of a query's answer (its ids in its order, of the version it ran on), or of every sample (undefined). */
  show(answer: QueryAnswer | undefined, page: number): Promise<unknown>;
  /** The query failed, or its answer could not be shown: the box says why; nothing older should stay on screen. */
  failed(e: unknown): void;
  /** Every sample could not be shown again. */
  error(e: unknown): void;
  /** The user ran `text`, or went back to every sample (undefined): a new entry in the history. */
  asked(text: string | undefined): void;
}

export interface QueryBox {
  /** Runs `text` and shows page `page` of its answer. */
  run(text: string, page?: number): Promise<void>;
  /** Every sample again, at page `page`. */
  all(page?: number): Promise<void>;
  /** The query the grid shows (or tries to), undefined for every sample. */
  readonly query: string | undefined;
}

/**
 * The query box: TQL text such as `select * where label == 'Sandal'`, run with `query()` (it reads
 * only the tensors the text names, and opens other versions with `options.open`); the grid then
 * pages through the answer's ids. Only the latest query or "All samples" decides what is shown.
 */
export function wireQuery(els: QueryElements, ds: Dataset, on: QueryHandlers, options: QueryOptions = {}): QueryBox {
  let latest = 0; // a turn per query and per "All samples": an answer that arrives after a newer turn is dropped
  let current: string | undefined;

  /** A new turn: the box shows `text`, the last one's mistake and count are no longer news. */
  const start = (text: string | undefined) => {
    current = text;
    els.input.value = text ?? '';
    els.input.removeAttribute('aria-invalid');
    els.error.hidden = true;
    els.error.textContent = '';
    els.count.textContent = text === undefined ? '' : 'running…';
    delete els.count.dataset.count;
    return ++latest;
  };
  /** The mistake by the box; the input marked invalid only when the text itself was wrong. */
  const fail = (turn: number, e: unknown, invalid: boolean) => {
    if (turn !== latest) return;
    els.count.textContent = '';
    els.error.textContent = e instanceof Error ? e.message : String(e);
    els.error.hidden = false;
    if (invalid) els.input.setAttribute('aria-invalid', 'true');
    on.failed(e);
  };

  const run = async (text: string, page = 0) => {
    const turn = start(text);
    let answer: QueryAnswer;
    try {
      answer = await query(ds, text, options);
    } catch (e) {
      return fail(turn, e, true);
    }
    if (turn !== latest) return;
    els.count.dataset.count = String(answer.ids.length);
    const read = answer.tensorsRead.length ? `read ${answer.tensorsRead.join(', ')}` : 'read no tensor';
    const version = answer.version === ds.version ? '' : ` in version ${answer.version.slice(0, 12)}`;
    els.count.textContent = `${answer.ids.length.toLocaleString('en')} result${answer.ids.length === 1 ? '' : 's'}${version} (${read})`;
    await on.show(answer, page).catch((e: unknown) => fail(turn, e, false));
  };
  const all = async (page = 0) => {
    const turn = start(undefined);
    await on.show(undefined, page).catch((e: unknown) => turn === latest && on.error(e));
  };

  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = els.input.value.trim();
    if (!text) return;
    on.asked(text);
    void run(text);
  });
  els.clear.addEventListener('click', () => {
    on.asked(undefined);
    void all();
  });
  return { run, all, get query() { return current; } };
}
