// What the page's own URL asks for (?dataset=, ?page-size=), read without the DOM so tests can call it.

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
