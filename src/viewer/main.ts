import { ChunkCache, EdgelakeError, formatAdapter, getDevice, IdbChunkStore, isEdgelakeError, openDataset, redactUrl, type Dataset, type QueryOptions } from '../index.js';
import { countClasses, renderCounts } from './counts.js';
import { everySample, Grid, listOf } from './grid.js';
import { foreignOrigin, pageSizeOf, resolveRoot, stateOf, urlOf, type ViewState } from './params.js';
import { pca2d } from './pca.js';
import { wireQuery, type QueryBox } from './query-box.js';
import { drawScatter, loadEmbeddings } from './scatter.js';
import { chunkBytesFetched, formatBytes, stats } from './stats.js';

// The dataset comes from the URL (?dataset=URL, relative to this page or absolute), so the page
// works from any static host; chunks stay in IndexedDB, so a reload reads nothing again. What the
// grid shows is kept there too (?query=, ?page=): a reload or a shared link shows it again.
const params = new URLSearchParams(location.search);
const DB = 'edgelake-viewer';
const CACHE_BUDGET = 2 * 2 ** 30;
const PAGE_SIZE = pageSizeOf(params.get('page-size'));

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** The dataset's origin when it is not the page's: a file there that cannot be fetched may be CORS refusing this page. */
let foreign: string | undefined;

function messageOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // The browser does not tell a page why a cross-origin fetch failed; a missing CORS header is the usual reason.
  if (foreign && isEdgelakeError(e, 'unreachable')) return `${message}\n${foreign} is another origin than this page's: it must allow ${location.origin} (CORS: Access-Control-Allow-Origin), or it is unreachable from here.`;
  return message;
}

function showError(e: unknown): void {
  const message = messageOf(e);
  stats.errors.push(message);
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
}

/**
 * Tensors by what they hold: the first of each htype, or the one the URL names. Photos of varying
 * size beside a fixed-shape image tensor (imagefolder's thumbnail): the grid draws the small one,
 * kilobytes rather than megabytes a page, unless ?image= names the photos.
 */
function tensorsOf(ds: Dataset): { image?: string; photos?: string; label?: string; embedding?: string } {
  const pick = (htype: string) => {
    const named = params.get(htype === 'class_label' ? 'label' : htype);
    if (named === null) return Object.entries(ds.tensors).find(([, t]) => t.htype === htype)?.[0];
    if (ds.tensor(named).htype !== htype) throw new EdgelakeError('invalid-input', `dataset ${ds.name}: tensor ${named} is ${ds.tensor(named).htype}, not ${htype}`);
    return named;
  };
  const fixed = (name: string) => ds.tensor(name).shape.every((d) => d !== null);
  const first = pick('image');
  const small = first && !params.has('image') && !fixed(first) ? Object.keys(ds.tensors).find((name) => ds.tensor(name).htype === 'image' && fixed(name)) : undefined;
  return { image: small ?? first, photos: small && first, label: pick('class_label'), embedding: pick('embedding') };
}

const plural = (n: number, what: string) => `${n.toLocaleString('en')} ${what}${n === 1 ? '' : 's'}`;

function header(ds: Dataset, url: string): void {
  $('title').textContent = ds.name;
  document.title = `${ds.name} · edgelake viewer`;
  const splits = Object.entries(ds.splits).map(([name, ranges]) => `${name} ${ranges.reduce((a, [lo, hi]) => a + hi - lo, 0).toLocaleString('en')}`);
  $('summary').textContent = `${plural(ds.length, 'sample')} · version ${ds.version.slice(0, 12)}${splits.length ? ` · ${splits.join(', ')}` : ''} · ${redactUrl(url)}`;
  $('tensors').textContent = Object.entries(ds.tensors).map(([name, t]) => `${name}: ${t.htype} ${t.dtype} [${t.shape.map((d) => d ?? '?').join('×')}]`).join(' · ');
}

/** A new entry in the history for what the grid now shows, so Back returns to what it showed before. */
function remember(state: ViewState): void {
  const url = urlOf(location.href, state);
  if (url !== location.href) history.pushState(null, '', url);
}

/** Back or Forward: the query and page the URL holds, without a new entry. */
function restore(grid: Grid, box: QueryBox): void {
  const { query, page } = stateOf(location.search);
  if (query === box.query) void grid.goTo(page).catch(showError);
  else if (query) void box.run(query, page);
  else void box.all(page);
}

async function opening(url: string) {
  const cache = new ChunkCache(await IdbChunkStore.open(DB), { budgetBytes: CACHE_BUDGET });
  const open = (ref?: string) => openDataset(url, { cache, ref });
  const ds = await open();
  return { ds, open, tensors: tensorsOf(ds) };
}

async function view(url: string): Promise<void> {
  stats.dataset = redactUrl(url); // the URL itself may hold a password or a signature
  foreign = foreignOrigin(url, location.href);
  const { ds, open, tensors: { image, photos, label, embedding } } = await opening(url).catch((e: unknown) => {
    empty('This dataset could not be opened (why is below). Open another by its URL.');
    throw e;
  });
  header(ds, url);

  // The first page and the counts come first and together: each reads only its own chunks.
  const firstPage = image ? browse(ds, image, label, open).then(() => reportFirstPage(ds, image, photos)).catch(showError) : void ($('images').hidden = true);
  const counts = (async () => {
    if (!label) return void ($('classes').hidden = true);
    stats.counts = await countClasses(ds, label);
    renderCounts($<HTMLTableElement>('counts'), stats.counts, ds.tensor(label).classNames);
  })().catch(showError);

  await Promise.all([firstPage, counts]);
  // The scatter reads the whole probe and runs PCA: only once the first page is on screen.
  if (embedding) await scatter(ds, embedding, label).catch(showError);
  else $('embedding').hidden = true;
}

/**
 * The grid, the query box, and the URL that keeps what they show (a new history entry for each
 * query and page the user asks for; Back and Forward restore them). Resolves once the first page
 * is drawn; a query the URL names runs after it.
 */
async function browse(ds: Dataset, image: string, label: string | undefined, open: QueryOptions['open']): Promise<void> {
  const asked = stateOf(location.search);
  let pageFailed = false; // a page's error is cleared once another page shows
  const grid = new Grid({ grid: $('grid'), first: $('first'), prev: $('prev'), next: $('next'), last: $('last'), pageNumber: $('page-number'), pages: $('pages'), position: $('position') }, image, label, PAGE_SIZE, {
    error: (e) => {
      showError(e);
      pageFailed = true;
    },
    turned: (page) => {
      if (pageFailed) $('error').hidden = true;
      pageFailed = false;
      remember({ query: box.query, page });
    },
  });
  const box = wireQuery({ form: $<HTMLFormElement>('query'), input: $<HTMLInputElement>('query-text'), clear: $<HTMLButtonElement>('query-clear'), count: $('query-count'), error: $('query-error') }, ds, {
    show: (answer, page) => grid.show(answer ? listOf(answer.ids, answer.view.dataset) : everySample(ds), page),
    failed: (e) => {
      stats.errors.push(messageOf(e));
      grid.clear();
    },
    error: showError,
    asked: (query) => remember({ query, page: 0 }),
  }, { open });
  addEventListener('popstate', () => restore(grid, box));
  await grid.show(everySample(ds), asked.query ? 0 : asked.page);
  if (asked.query) void box.run(asked.query, asked.page);
}

/** How long the first page took and what it fetched, on the page and in window.viewerStats. */
function reportFirstPage(ds: Dataset, image: string, photos: string | undefined): void {
  stats.firstPageMs = Math.round(performance.now()); // performance.now() counts from navigation
  stats.firstPageImageBytes = chunkBytesFetched(ds, image);
  stats.imageBytesTotal = ds.tensor(image).chunks.reduce((a, c) => a + c.bytes, 0);
  stats.firstPageNetworkBytes = ds.network.bytes;
  const share = ((100 * stats.firstPageImageBytes) / Math.max(1, stats.imageBytesTotal)).toFixed(1);
  // Shards and Parquet files read in place fetch ranges of their files, never an image chunk: only the total says what moved.
  const images = stats.firstPageImageBytes ? `, ${formatBytes(stats.firstPageImageBytes)} of ${formatBytes(stats.imageBytesTotal)} of image chunks (${share}%)` : '';
  const small = photos ? `; the grid shows ${image} (?image=${photos} for the photos)` : '';
  $('status').textContent = `first page in ${(stats.firstPageMs / 1000).toFixed(2)} s; ${formatBytes(stats.firstPageNetworkBytes)} fetched${images}${small}`;
}

async function scatter(ds: Dataset, embedding: string, label?: string): Promise<void> {
  const started = performance.now();
  const info = $('scatter-info');
  info.textContent = `reading ${embedding}…`;
  const { rows, dim, labels } = await loadEmbeddings(ds, embedding, label);
  const gpu = await getDevice().catch(() => null); // no WebGPU: the CPU reference
  const pca = await pca2d(rows, dim, gpu?.device);
  const canvas = $<HTMLCanvasElement>('scatter');
  drawScatter(canvas, pca, labels);
  const points = pca.points.length / 2;
  const adapter = pca.on === 'gpu' && gpu ? formatAdapter(gpu.adapter) : undefined;
  stats.scatter = { on: pca.on, points, ms: Math.round(performance.now() - started), adapter };
  canvas.dataset.points = String(points);
  canvas.dataset.on = pca.on;
  canvas.setAttribute('aria-label', `scatter of ${points.toLocaleString('en')} samples' ${embedding} by PCA, coloured by class`);
  info.textContent = `PCA of ${embedding} (${dim} dims) to 2-D on the ${pca.on === 'gpu' ? `GPU (${adapter})` : 'CPU'}: ${points.toLocaleString('en')} points, variance ${pca.variance.map((v) => v.toPrecision(3)).join(' and ')}`;
}

/** No dataset on screen (none asked for, or it could not be opened): only the header, saying what to do. */
function empty(summary: string): void {
  for (const id of ['images', 'classes', 'embedding']) $(id).hidden = true;
  $('title').textContent = 'edgelake viewer';
  $('summary').textContent = summary;
  $('tensors').textContent = '';
}

performance.setResourceTimingBufferSize(100_000); // every chunk request stays countable
const target = params.get('dataset');
if (!target) {
  empty('Open a dataset by its URL (http(s)://…, or a path on this host).');
  stats.done = true;
} else {
  $<HTMLInputElement>('dataset-url').value = target;
  void view(resolveRoot(target, location.href)).catch(showError).finally(() => (stats.done = true));
}
