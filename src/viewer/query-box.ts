import { query, type Dataset, type QueryAnswer, type QueryOptions } from '../index.js';

export interface QueryElements {
  form: HTMLFormElement;
  input: HTMLInputElement;
  clear: HTMLButtonElement;
  /** "7,000 results" once a query ran. */
  count: HTMLElement;
}

export interface QueryHandlers {
  /** A query's answer (its ids in its order, of the version it ran on), or undefined for every sample again. */
  show(answer: QueryAnswer | undefined): Promise<void>;
  error(e: unknown): void;
  /** A new query starts: the last one's mistake is no longer news. */
  clearError(): void;
}

/**
 * The query box: TQL text such as `select * where label == 'Sandal'`, run with `query()` (it reads
 * only the tensors the text names, and opens other versions with `options.open`); the grid then
 * pages through the answer's ids. Only the latest query or "All samples" decides what is shown.
 */
export function wireQuery(els: QueryElements, ds: Dataset, on: QueryHandlers, options: QueryOptions = {}): { run(text: string): Promise<void> } {
  let latest = 0; // a turn per query and per "All samples": an answer that arrives after a newer turn is dropped
  const run = async (text: string) => {
    const turn = ++latest;
    els.input.value = text;
    on.clearError();
    els.count.textContent = 'running…';
    delete els.count.dataset.count;
    try {
      const answer = await query(ds, text, options);
      if (turn !== latest) return;
      els.count.dataset.count = String(answer.ids.length);
      const read = answer.tensorsRead.length ? `read ${answer.tensorsRead.join(', ')}` : 'read no tensor';
      const version = answer.version === ds.version ? '' : ` in version ${answer.version.slice(0, 12)}`;
      els.count.textContent = `${answer.ids.length.toLocaleString('en')} result${answer.ids.length === 1 ? '' : 's'}${version} (${read})`;
      await on.show(answer);
    } catch (e) {
      if (turn !== latest) return;
      els.count.textContent = '';
      on.error(e);
    }
  };
  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (els.input.value.trim()) void run(els.input.value.trim());
  });
  els.clear.addEventListener('click', () => {
    latest++;
    els.input.value = '';
    on.clearError();
    els.count.textContent = '';
    delete els.count.dataset.count;
    void on.show(undefined).catch(on.error);
  });
  return { run };
}
