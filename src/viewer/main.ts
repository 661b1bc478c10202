import { ChunkCache, EdgelakeError, formatAdapter, getDevice, IdbChunkStore, openDataset, redactUrl, type Dataset } from '../index.js';
import { countClasses, renderCounts } from './counts.js';
import { everySample, Grid, listOf } from './grid.js';
import { pageSizeOf, resolveRoot } from './params.js';
import { pca2d } from './pca.js';
import { wireQuery } from './query-box.js';
import { drawScatter, loadEmbeddings } from './scatter.js';
import { chunkBytesFetched, formatBytes, stats } from './stats.js';

// The dataset comes from the URL (?dataset=URL, relative to this page or absolute), so the page
// works from any static host; chunks stay in IndexedDB, so a reload reads nothing again.
const params = new URLSearchParams(location.search);
const DB = 'edgelake-viewer';
const CACHE_BUDGET = 2 * 2 ** 30;
const PAGE_SIZE = pageSizeOf(params.get('page-size'));

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

function showError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  stats.errors.push(message);
  const box = $('error');
  box.textContent = message; // a query's mistake comes with its column and a caret: <pre> keeps them aligned
  box.hidden = false;
}

/** Tensors by what they hold: the first of each htype, or the one the URL names (?image=thumbnail: a photo set's small probe). */
function tensorsOf(ds: Dataset): { image?: string; label?: string; embedding?: string } {
  const pick = (htype: string) => {
    const named = params.get(htype === 'class_label' ? 'label' : htype);
    if (named === null) return Object.entries(ds.tensors).find(([, t]) => t.htype === htype)?.[0];
    if (ds.tensor(named).htype !== htype) throw new EdgelakeError('invalid-input', `dataset ${ds.name}: tensor ${named} is ${ds.tensor(named).htype}, not ${htype}`);
    return named;
  };
  return { image: pick('image'), label: pick('class_label'), embedding: pick('embedding') };
}

function header(ds: Dataset, url: string): void {
  $('title').textContent = ds.name;
  document.title = `${ds.name} · edgelake viewer`;
  const splits = Object.entries(ds.splits).map(([name, ranges]) => `${name} ${ranges.reduce((a, [lo, hi]) => a + hi - lo, 0).toLocaleString('en')}`);
  $('summary').textContent = `${ds.length.toLocaleString('en')} samples · version ${ds.version.slice(0, 12)}${splits.length ? ` · ${splits.join(', ')}` : ''} · ${redactUrl(url)}`;
  $('tensors').textContent = Object.entries(ds.tensors).map(([name, t]) => `${name}: ${t.htype} ${t.dtype} [${t.shape.map((d) => d ?? '?').join('×')}]`).join(' · ');
}

async function view(url: string): Promise<void> {
  stats.dataset = redactUrl(url); // the URL itself may hold a password or a signature
  const cache = new ChunkCache(await IdbChunkStore.open(DB), { budgetBytes: CACHE_BUDGET });
  const open = (ref?: string) => openDataset(url, { cache, ref });
  const ds = await open();
  header(ds, url);
  const { image, label, embedding } = tensorsOf(ds);
  const names = label ? ds.tensor(label).classNames : undefined;

  // The first page and the counts come first and together: each reads only its own chunks.
  const grid = image ? new Grid({ grid: $('grid'), prev: $('prev'), next: $('next'), position: $('position') }, image, label, PAGE_SIZE) : undefined;
  const firstPage = (async () => {
    if (!grid || !image) return void ($('images').hidden = true);
    await grid.show(everySample(ds));
    stats.firstPageMs = Math.round(performance.now()); // performance.now() counts from navigation
    stats.firstPageImageBytes = chunkBytesFetched(ds, image);
    stats.imageBytesTotal = ds.tensor(image).chunks.reduce((a, c) => a + c.bytes, 0);
    stats.firstPageNetworkBytes = ds.network.bytes;
    const share = ((100 * stats.firstPageImageBytes) / Math.max(1, stats.imageBytesTotal)).toFixed(1);
    // Shards and Parquet files read in place fetch ranges of their files, never an image chunk: only the total says what moved.
    const images = stats.firstPageImageBytes ? `, ${formatBytes(stats.firstPageImageBytes)} of ${formatBytes(stats.imageBytesTotal)} of image chunks (${share}%)` : '';
    $('status').textContent = `first page in ${(stats.firstPageMs / 1000).toFixed(2)} s; ${formatBytes(stats.firstPageNetworkBytes)} fetched${images}`;
  })().catch(showError);
  const counts = (async () => {
    if (!label) return void ($('classes').hidden = true);
    stats.counts = await countClasses(ds, label);
    renderCounts($<HTMLTableElement>('counts'), stats.counts, names);
  })().catch(showError);

  if (grid) {
    const box = wireQuery({ form: $<HTMLFormElement>('query'), input: $<HTMLInputElement>('query-text'), clear: $<HTMLButtonElement>('query-clear'), count: $('query-count') }, ds, {
      show: (answer) => grid.show(answer ? listOf(answer.ids, answer.view.dataset) : everySample(ds)),
      error: showError,
      clearError: () => void ($('error').hidden = true),
    }, { open });
    const asked = params.get('query');
    if (asked) void firstPage.then(() => box.run(asked));
  }

  await Promise.all([firstPage, counts]);
  // The scatter reads the whole probe and runs PCA: only once the first page is on screen.
  if (embedding) await scatter(ds, embedding, label).catch(showError);
  else $('embedding').hidden = true;
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
  info.textContent = `PCA of ${embedding} (${dim} dims) to 2-D on the ${pca.on === 'gpu' ? `GPU (${adapter})` : 'CPU'}: ${points.toLocaleString('en')} points, variance ${pca.variance.map((v) => v.toPrecision(3)).join(' and ')}`;
}

function picker(): void {
  for (const id of ['images', 'classes', 'embedding']) $(id).hidden = true;
  $('title').textContent = 'edgelake viewer';
  $('summary').textContent = 'Open a dataset by its URL (http(s)://…, or a path on this host).';
  stats.done = true;
}

performance.setResourceTimingBufferSize(100_000); // every chunk request stays countable
const target = params.get('dataset');
if (!target) picker();
else {
  $<HTMLInputElement>('dataset-url').value = target;
  void view(resolveRoot(target, location.href)).catch(showError).finally(() => (stats.done = true));
}
