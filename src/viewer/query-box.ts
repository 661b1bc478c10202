import { query, type Dataset } from '../index.js';

export interface QueryElements {
  form: HTMLFormElement;
  input: HTMLInputElement;
  clear: HTMLButtonElement;
  /** "7,000 results" once a query ran. */
  count: HTMLElement;
}

export interface QueryHandlers {
  /** A query's ids in its order, or undefined for every sample again. */
  show(ids: Uint32Array | undefined): Promise<void>;
  error(e: unknown): void;
  /** A new query starts: the last one's mistake is no longer news. */
  clearError(): void;
}

/**
 * The query box: TQL text such as `select * where label == 'Sandal'`, run with `query()` (it reads
 * only the tensors the text names); the grid then pages through the answer's ids.
 */
export function wireQuery(els: QueryElements, ds: Dataset, on: QueryHandlers): { run(text: string): Promise<void> } {
  const run = async (text: string) => {
    els.input.value = text;
    on.clearError();
    els.count.textContent = 'running…';
    delete els.count.dataset.count;
    try {
      const answer = await query(ds, text);
      els.count.dataset.count = String(answer.ids.length);
      const read = answer.tensorsRead.length ? `read ${answer.tensorsRead.join(', ')}` : 'read no tensor';
      els.count.textContent = `${answer.ids.length.toLocaleString('en')} result${answer.ids.length === 1 ? '' : 's'} (${read})`;
      await on.show(answer.ids);
    } catch (e) {
      els.count.textContent = '';
      on.error(e);
    }
  };
  els.form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (els.input.value.trim()) void run(els.input.value.trim());
  });
  els.clear.addEventListener('click', () => {
    els.input.value = '';
    on.clearError();
    els.count.textContent = '';
    delete els.count.dataset.count;
    void on.show(undefined).catch(on.error);
  });
  return { run };
}
