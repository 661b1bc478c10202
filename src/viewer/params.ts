// What the page's own URL asks for (?dataset=, ?page-size=, ?query=, ?page=), read without the DOM so tests can call it.

/** ?page-size=: whole samples per page, 1..500 (48 when absent or not a number). */
export function pageSizeOf(text: string | null): number {
  return Math.max(1, Math.min(500, Math.floor(Number(text) || 48)));
}

/**
 * The dataset's URL against the page's (`page`): its folder resolved, its last segment kept as
 * typed, since a shard or Parquet pattern's file names (`two words-{0..1}.parquet`) are the
 * reader's to encode, each by itself; encoded here as well they would be encoded twice.
 */
export function resolveRoot(target: string, page: string): string {
  const folder = target.slice(0, target.lastIndexOf('/') + 1);
  if (folder.endsWith('//')) return new URL(target, page).href; // `https://host`: an authority, no file name
  return new URL(folder || './', page).href + target.slice(folder.length);
}

/** What the grid shows, as the page's URL keeps it: a query's answer (or every sample) and a page, 0-based. */
export interface ViewState {
  query?: string;
  page: number;
}

/** ?query= and ?page= (1-based in the URL, as the pager counts; the first page when absent or not a number). */
export function stateOf(search: string): ViewState {
  const params = new URLSearchParams(search);
  return { query: params.get('query')?.trim() || undefined, page: Math.max(0, Math.floor(Number(params.get('page')) || 1) - 1) };
}

/** `href` showing `state`, its other parameters (?dataset=, ?page-size=, ?image=) kept. */
export function urlOf(href: string, state: ViewState): string {
  const url = new URL(href);
  if (state.query) url.searchParams.set('query', state.query);
  else url.searchParams.delete('query');
  if (state.page > 0) url.searchParams.set('page', String(state.page + 1));
  else url.searchParams.delete('page');
  url.search = url.search.replace(/%2F/gi, '/').replace(/%3A/gi, ':'); // legal in a query string, and a dataset URL stays readable
  return url.href;
}

/** The dataset's origin when it is another http(s) origin than the page's: the browser reads it only if it allows CORS. */
export function foreignOrigin(dataset: string, page: string): string | undefined {
  const url = new URL(dataset, page);
  return /^https?:$/.test(url.protocol) && url.origin !== new URL(page).origin ? url.origin : undefined;
}
