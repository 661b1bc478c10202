import { isEdgelakeError, STRATEGIES, formatAdapter, getDevice, type StrategyName } from '../../../src/index.js';
import { drawCharts, formatBytes } from './chart.js';
import { showPicks } from './labeller.js';
import { preview, Run, type Point, type Settings } from './run.js';

// Every setting can come from the URL (?round=50&epochs=2&auto=1&start=1...), so a link reproduces a run.
const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('settings');
const field = <T extends HTMLInputElement | HTMLSelectElement>(name: string) => form.elements.namedItem(name) as T;
const startButton = $<HTMLButtonElement>('start');
/** IndexedDB database of the run (the baseline's is beside it); a test can pick its own. */
const DB = params.get('db') ?? 'edgelake-demo';

let gpu: Awaited<ReturnType<typeof getDevice>> = null;
let main: Run | undefined;
let baseline: Run | undefined;
let running = false;
let stopAfterRound = false;
/** The model fields changed since the run opened: the next start (or New run) brings that model. */
let modelChanged = false;

/** The form's settings of the last start, kept per database so that a reload (and the baseline with them) comes back. */
const SAVED_SETTINGS = `edgelake-demo:settings:${DB}`;

function initForm(): void {
  const strategy = field<HTMLSelectElement>('strategy');
  strategy.replaceChildren(...STRATEGIES.map((s) => new Option(s, s)));
  const defaults: Record<string, string> = {
    url: new URL('data/fashion-mnist-subset/', location.href).href, strategy: 'margin', round: '50', epochs: '4', rounds: '0', labels: '1000', budget: '', model: '', auto: '0', baseline: '1',
  };
  let saved: Record<string, string> = {};
  try {
    saved = JSON.parse(localStorage.getItem(SAVED_SETTINGS) ?? '{}') as Record<string, string>;
  } catch {
    saved = {}; // damaged: the defaults
  }
  // The URL wins (a link reproduces a run), then what the last start used, then the defaults.
  const value = (name: string) => params.get(name) ?? saved[name] ?? defaults[name];
  for (const name of ['url', 'strategy', 'round', 'epochs', 'rounds', 'labels', 'budget', 'model']) field(name).value = value(name);
  if (!STRATEGIES.includes(strategy.value as StrategyName)) strategy.value = 'margin';
  field<HTMLInputElement>('auto').checked = value('auto') === '1';
  field<HTMLInputElement>('baseline').checked = value('baseline') !== '0';
  syncBaseline();
}

function saveSettings(): void {
  const text = (name: string) => field(name).value;
  const check = (name: string) => (field<HTMLInputElement>(name).checked ? '1' : '0');
  const settings = { url: text('url'), strategy: text('strategy'), round: text('round'), epochs: text('epochs'), rounds: text('rounds'), labels: text('labels'), budget: text('budget'), model: text('model'), auto: check('auto'), baseline: check('baseline') };
  localStorage.setItem(SAVED_SETTINGS, JSON.stringify(settings));
}

/** The baseline labels from the dataset too, so it only runs with auto-labelling. */
function syncBaseline(): void {
  field<HTMLInputElement>('baseline').disabled = running || !field<HTMLInputElement>('auto').checked;
}

function readSettings(): Settings {
  const int = (name: string, min: number) => {
    const v = Number(field(name).value);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be a whole number >= ${min}, not "${field(name).value}"`);
    return v;
  };
  const budget = field('budget').value.trim();
  return {
    url: field('url').value.trim(), strategy: field('strategy').value as StrategyName, roundSize: int('round', 1), epochs: int('epochs', 1),
    rounds: int('rounds', 0), maxLabels: int('labels', 1), byteBudget: budget === '' || budget === 'off' ? undefined : parseSize(budget),
    auto: field<HTMLInputElement>('auto').checked, baseline: field<HTMLInputElement>('baseline').checked,
    hidden: Number(params.get('hidden') ?? 64), seed: Number(params.get('seed') ?? 1),
    model: field('model').value.trim(), modelFiles: Array.from(field<HTMLInputElement>('model-files').files ?? []),
  };
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text);
  if (!m) throw new Error(`byte budget "${text}" is not a size such as 512K or 2M`);
  return Math.round(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()));
}

function status(text: string, kind: 'info' | 'error' | 'conflict' = 'info'): void {
  const el = $('status');
  el.textContent = text;
  el.dataset.kind = kind;
}

function phase(text: string): void {
  $('phase').textContent = text;
}

function setRunning(on: boolean): void {
  running = on;
  startButton.textContent = on ? 'Pause' : 'Start';
  for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>('input, select, #forget, #clear, #commit')) el.disabled = on;
  syncBaseline();
}

/** Opens the run for the form's dataset URL (again, if it changed), resuming what was saved. */
async function openRuns(settings: Settings): Promise<void> {
  if (main?.url !== settings.url) {
    await main?.close();
    await baseline?.close();
    baseline = undefined;
    main = await Run.open('main', DB, settings.url, gpu?.device ?? null, settings);
    modelChanged = false;
  }
  $('model').textContent = main.model.describe;
  if (settings.auto && settings.baseline && !baseline) baseline = await Run.open('baseline', `${DB}-baseline`, settings.url, gpu?.device ?? null, settings);
}

async function start(): Promise<void> {
  const settings = readSettings();
  saveSettings();
  setRunning(true);
  stopAfterRound = false;
  try {
    await openRuns(settings);
    if (modelChanged) await newRun(settings);
    const run = main!;
    const timings = new Map<string, number>();
    let phaseStarted = performance.now();
    let current = '';
    const al = run.learnerFor(settings, settings.strategy, async (ids) => {
      phase(settings.auto ? 'labelling (auto)' : 'your labels');
      const picks = await preview(run, ids, settings.auto);
      return showPicks($('grid'), $('palette'), $('picks-help'), picks, run.classNames, !settings.auto);
    });
    al.addEventListener('phase', (e) => {
      const now = performance.now();
      if (current) timings.set(current, now - phaseStarted);
      [current, phaseStarted] = [e.detail.phase, now];
      phase(current);
    });
    const other = settings.auto && settings.baseline ? baseline : undefined;
    const base = other?.learnerFor(settings, 'random'); // labelled by the dataset's own labels
    let rounds = 0;
    while (!stopAfterRound && run.labels < settings.maxLabels && (settings.rounds === 0 || rounds < settings.rounds)) {
      status(`round ${run.points.length + 1}: ${settings.strategy}, ${settings.roundSize} labels${settings.byteBudget ? `, at most ${formatBytes(settings.byteBudget)}` : ''}`);
      const point = await run.step(al);
      timings.set(current, performance.now() - phaseStarted);
      current = '';
      showTimings(timings, point);
      render();
      if (other && base && other.labels < run.labels) {
        phase('random baseline');
        await other.step(base);
        render();
      }
      rounds++;
    }
    phase(run.labels >= settings.maxLabels ? 'done' : 'paused');
    status(`${run.points.length} rounds, ${run.labels} labels; saved in IndexedDB "${DB}", so a reload goes on from here.`);
  } catch (e) {
    phase('error');
    status(`error: ${e instanceof Error ? e.message : String(e)}`, 'error');
    console.error(e);
  } finally {
    setRunning(false);
    void renderCache();
  }
}

/** Starts the runs over with no labels and the model the settings name. */
async function newRun(settings: Settings): Promise<void> {
  await main!.reset(settings, false);
  modelChanged = false;
  await baseline?.reset(settings, true);
  $('model').textContent = main!.model.describe;
  $('grid').replaceChildren();
  render();
}

function render(): void {
  const run = main;
  if (!run) return;
  const last: Point | undefined = run.points.at(-1);
  $('round').textContent = String(run.points.length);
  $('labels').textContent = String(run.labels);
  $('accuracy').textContent = last ? last.accuracy.toFixed(4) : '–';
  const bytes = $('bytes-fetched');
  bytes.textContent = formatBytes(run.bytesFetched);
  bytes.dataset.bytes = String(run.bytesFetched);
  bytes.title = `${run.bytesFetched} bytes from the network (probe, images, labels; not the evaluation's)`;
  const series = [{ name: field('strategy').value, points: run.points }];
  if (baseline?.points.length) series.push({ name: 'random (own cache, from empty)', points: baseline.points, baseline: true } as (typeof series)[0]);
  drawCharts($('chart'), series);
  $('log').replaceChildren(...run.points.map((p) => {
    const tr = document.createElement('tr');
    for (const v of [p.round, p.labels, p.accuracy.toFixed(4), formatBytes(p.bytesFetched), p.seconds.toFixed(1)]) tr.insertCell().textContent = String(v);
    tr.dataset.accuracy = String(p.accuracy);
    return tr;
  }).reverse());
  void renderCache();
}

function showTimings(timings: Map<string, number>, point: Point): void {
  const rows: [string, string][] = [...timings].map(([name, ms]) => [name, `${(ms / 1000).toFixed(2)} s`]);
  rows.push(['round', `${point.seconds.toFixed(2)} s`]);
  $('timing').innerHTML = '';
  for (const [name, value] of rows) $('timing').append(Object.assign(document.createElement('dt'), { textContent: name }), Object.assign(document.createElement('dd'), { textContent: value }));
}

async function renderCache(): Promise<void> {
  if (!main) return;
  const usage = await main.cache.usage();
  const { hits, misses } = main.cache.stats;
  const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
  const rows: [string, string, string?][] = [
    ['cached', `${formatBytes(usage.bytes)} in ${usage.entries} chunks`, 'cache-bytes'],
    ['hit ratio', hits + misses ? `${((100 * hits) / (hits + misses)).toFixed(1)}% (${hits} hits, ${misses} misses)` : '–', 'hit-ratio'],
    ['origin storage', estimate?.quota ? `${formatBytes(estimate.usage ?? 0)} of ${formatBytes(estimate.quota)} quota` : 'unknown'],
    ['persistent', main.store.persisted === undefined ? 'unknown' : main.store.persisted ? 'yes' : 'no (the browser may evict it)'],
  ];
  if (baseline) rows.push(['baseline cache', formatBytes((await baseline.cache.usage()).bytes)]);
  $('cache').replaceChildren(...rows.flatMap(([name, value, id]) => {
    const dd = Object.assign(document.createElement('dd'), { textContent: value });
    if (id) dd.dataset.testid = id;
    return [Object.assign(document.createElement('dt'), { textContent: name }), dd];
  }));
}

async function init(): Promise<void> {
  initForm();
  field('auto').addEventListener('change', syncBaseline);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (running) {
      stopAfterRound = true;
      status('pausing after this round…');
    } else void start();
  });
  $('forget').addEventListener('click', () => void withRuns(async (s) => {
    await newRun(s);
    status(`New run: no labels, ${main!.model.describe}; the cache keeps its chunks.`);
  }));
  for (const name of ['model', 'model-files']) field(name).addEventListener('change', () => (modelChanged = true));
  $('commit').addEventListener('click', () => void withRuns(async (s) => {
    const run = main!;
    const count = run.labels;
    if (!count) throw new Error('no labels to commit yet: label a round first');
    status(`committing ${count} labels…`);
    // Onto the version this run read (or its own last commit), or another writer's newer one keeping
    // its labels; if they labelled a sample otherwise, the ref stays and the page says so, rather than writing over it.
    const read = run.parentOfNextCommit;
    try {
      const done = await run.commit(`browser demo: ${count} labels, ${run.model.describe}`);
      const parent = done.manifest.parent ?? read;
      $('commit').dataset.version = done.versionId;
      const theirs = parent === read ? '' : ` (another writer's version, committed since ${read.slice(0, 12)} was read: its labels kept)`;
      status(`Committed ${count} labels to ${s.url} as version ${done.versionId.slice(0, 12)}, child of ${parent.slice(0, 12)}${theirs}: the label tensor and its mask, every other chunk shared.`);
    } catch (e) {
      if (!isEdgelakeError(e, 'conflict')) throw e;
      status(`conflict: nothing committed. ${e.message}`, 'conflict');
    }
  }));
  $('clear').addEventListener('click', () => void withRuns(async () => {
    const removed = (await main!.cache.clear()) + ((await baseline?.cache.clear()) ?? 0);
    await renderCache();
    status(`Removed ${removed} cached chunks; labels and model are kept.`);
  }));

  const disabled = params.get('gpu') === '0';
  gpu = disabled ? null : await getDevice().catch(() => null);
  $('adapter').textContent = gpu ? formatAdapter(gpu.adapter) : 'cpu';
  $('features').textContent = gpu ? gpu.adapter.features.join(', ') || 'none' : disabled ? 'WebGPU switched off (?gpu=0): CPU references' : 'no WebGPU adapter: the models run their CPU references';
  await withRuns(async (s) => {
    render();
    status(main!.points.length
      ? `Resumed the saved run: round ${main!.points.length}, ${main!.labels} labels. Start goes on.`
      : 'Ready. Start runs rounds of score → pick → fetch → label → train → evaluate.');
  });
  phase('idle');
  startButton.disabled = false;
  if (params.get('start') === '1') void start();
}

async function withRuns(action: (s: Settings) => Promise<void>): Promise<void> {
  try {
    const s = readSettings();
    await openRuns(s);
    await action(s);
  } catch (e) {
    status(`error: ${e instanceof Error ? e.message : String(e)}`, 'error');
    console.error(e);
  }
}

void init();
