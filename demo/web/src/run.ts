import { ActiveLearner, ChunkCache, commitLabels, type Committed, type Dataset, IdbChunkStore, IdbLabelStore, isEdgelakeError, type Learner, Loader, loadModel, mlp, type Model, openDataset, openSink, Pool, type PoolJSON, type RoundResult, saveModel, type StrategyName } from '../../../src/index.js';

/** What the page's form sets. */
export interface Settings {
  url: string;
  strategy: StrategyName;
  roundSize: number;
  epochs: number;
  /** Rounds per press of Start; 0: until `maxLabels`. */
  rounds: number;
  maxLabels: number;
  /** Bytes one round may fetch: cost-aware selection; undefined: cost-blind. */
  byteBudget: number | undefined;
  auto: boolean;
  baseline: boolean;
  hidden: number;
  seed: number;
  /** A TF.js model to bring: its model.json URL, or the files picked; neither: edgelake's MLP. */
  model: string;
  modelFiles: File[];
}

/** The model a run trains: edgelake's MLP, or a TF.js model the person brought. */
export interface RunModel {
  readonly kind: 'edgelake' | 'tfjs';
  readonly describe: string;
  readonly learner: Learner;
  /** Keeps the weights in the browser, so a reload goes on from them. */
  save(): Promise<void>;
  dispose(): void;
}

/** One point of a learning curve. */
export interface Point {
  round: number;
  labels: number;
  bytesFetched: number;
  accuracy: number;
  seconds: number;
}

interface SavedRun {
  format: 'edgelake-demo/1';
  url: string;
  version: string;
  pool: PoolJSON;
  points: Point[];
  /** Where the model's weights are kept: the model note (edgelake) or TF.js's IndexedDB store. */
  model: 'edgelake' | 'tfjs';
  /** The version this run last committed: its next commit goes onto it. */
  committed?: string;
}

const RUN_NOTE = 'edgelake-demo:run';
const MODEL_NOTE = 'edgelake-demo:model';
/** The bundled dataset is 3.3 MB; this leaves room for a bigger one without filling a laptop. */
const CACHE_BUDGET = 1 << 30;

/**
 * One active-learning run: a dataset read through its own IndexedDB cache, a learner, its pool of
 * labels and its curve. Every label is stored in IndexedDB as it is given (an IdbLabelStore), so a
 * reload mid-round keeps it; after every round the model (safetensors) and the pool are saved as
 * notes in the cache's database, so a reload goes on from there.
 */
export class Run {
  private constructor(
    readonly name: string,
    readonly store: IdbChunkStore,
    readonly cache: ChunkCache,
    readonly dataset: Dataset,
    readonly url: string,
    private readonly device: GPUDevice | null,
    readonly db: string,
    public model: RunModel,
    public pool: Pool | undefined,
    readonly points: Point[],
    private labelStore: IdbLabelStore,
    /** The version this run last committed (undefined: none yet): the next commit goes onto it. */
    private committed: string | undefined,
  ) {}

  /**
   * Opens `url` through the IndexedDB database `db`; picks up the run saved there, at the version it
   * read (commits may have moved the dataset on since), with its model.
   */
  static async open(name: string, db: string, url: string, device: GPUDevice | null, settings: Settings): Promise<Run> {
    const store = await IdbChunkStore.open(db);
    const cache = new ChunkCache(store, { budgetBytes: CACHE_BUDGET });
    const saved = await readSaved(store, url);
    // The header tells the runs' requests apart in the server's log; same-origin, so no preflight.
    const open = (ref?: string) => openDataset(url, { cache, ref, http: { headers: { 'x-edgelake-run': name } } });
    const dataset = saved ? await open(saved.version).catch(() => open()) : await open();
    const labels = await IdbLabelStore.open(labelStoreName(db, url));
    if (saved?.version === dataset.version) {
      const model = await restoreModel(saved.model, store, db, dataset, device).catch(() => undefined); // gone or damaged: start over
      if (model) return new Run(name, store, cache, dataset, url, device, db, model, await withStored(dataset, Pool.fromJSON(saved.pool), labels), saved.points, labels, saved.committed);
    }
    // A new model, with every label the store kept (a reload before the first round ended keeps them too).
    return new Run(name, store, cache, dataset, url, device, db, await newModel(dataset, device, settings, store, db), await withStored(dataset, undefined, labels), [], labels, undefined);
  }

  get learner(): Learner {
    return this.model.learner;
  }

  get labels(): number {
    return this.pool?.labelledCount ?? 0;
  }

  get bytesFetched(): number {
    return this.points.at(-1)?.bytesFetched ?? 0;
  }

  get classNames(): string[] {
    return this.dataset.tensor('label').classNames ?? Array.from({ length: this.learner.classes }, (_, i) => String(i));
  }

  /** Every label this run holds, by sample id (what a commit writes). */
  labelled(): Map<number, number> {
    const pool = this.pool;
    return new Map(pool ? Array.from(pool.labelled(), (id) => [id, pool.labelOf(id)!]) : []);
  }

  /** An ActiveLearner going on from this run's labels with `settings`; `oracle` undefined: the dataset's labels. */
  learnerFor(settings: Settings, strategy: StrategyName, oracle?: (ids: Uint32Array) => Promise<ArrayLike<number>>): ActiveLearner {
    const al = new ActiveLearner({
      dataset: this.dataset, strategy, roundSize: settings.roundSize, maxLabels: settings.maxLabels, learner: this.learner,
      costAware: settings.byteBudget !== undefined, byteBudget: settings.byteBudget, seed: settings.seed, epochs: settings.epochs,
      device: this.device, oracle, pool: this.pool, labels: this.labelStore,
    });
    this.pool = al.pool;
    return al;
  }

  /** One round; its point carries the bytes fetched over the whole run, reloads included. */
  async step(al: ActiveLearner): Promise<Point> {
    const r: RoundResult = await al.step();
    // r.bytesFetched counts from the learner's creation (evaluation excluded): add this round's share.
    const round = r.bytesFetched - (this.counted.get(al) ?? 0);
    this.counted.set(al, r.bytesFetched);
    const point: Point = { round: this.points.length + 1, labels: r.labels, bytesFetched: this.bytesFetched + round, accuracy: r.accuracy, seconds: r.seconds };
    this.points.push(point);
    await this.save();
    return point;
  }

  private readonly counted = new WeakMap<ActiveLearner, number>();

  /**
   * Commits every label this run holds onto the version it read, or onto its own last commit; if
   * another writer moved the ref on meanwhile, onto their version (git's pull then push), keeping
   * every label it holds. A sample they labelled otherwise is a 'conflict' error naming both labels.
   */
  async commit(message: string): Promise<Committed> {
    const labels = this.labelled();
    const sink = openSink(this.url);
    let done: Committed;
    try {
      done = await commitLabels(this.dataset, labels, { sink, message, onto: this.committed });
    } catch (e) {
      const head = isEdgelakeError(e, 'conflict') ? (await openDataset(this.url)).version : undefined;
      if (head === undefined || head === this.parentOfNextCommit) throw e; // not a moved ref: annotators disagree
      done = await commitLabels(this.dataset, labels, { sink, message, onto: head });
    }
    this.committed = done.versionId;
    await this.save();
    return done;
  }

  /** The version the next commit goes onto. */
  get parentOfNextCommit(): string {
    return this.committed ?? this.dataset.version;
  }

  async save(): Promise<void> {
    await this.model.save();
    const saved: SavedRun = { format: 'edgelake-demo/1', url: this.url, version: this.dataset.version, pool: this.pool!.toJSON(), points: this.points, model: this.model.kind, committed: this.committed };
    await this.store.putNote(RUN_NOTE, new TextEncoder().encode(JSON.stringify(saved)));
  }

  /** Starts over with no labels and a fresh model (the settings'); `clearCache` also empties the cache (a baseline counts bytes from empty). */
  async reset(settings: Settings, clearCache: boolean): Promise<void> {
    const model = await newModel(this.dataset, this.device, settings, this.store, this.db); // a model that fails to load leaves the run as it was
    this.model.dispose();
    this.model = model;
    this.pool = undefined;
    this.points.length = 0;
    this.committed = undefined;
    this.labelStore = await clearLabelStore(this.labelStore, labelStoreName(this.db, this.url));
    await this.store.putNote(RUN_NOTE, new Uint8Array());
    await this.store.putNote(MODEL_NOTE, new Uint8Array());
    if (clearCache) await this.cache.clear();
  }

  async close(): Promise<void> {
    this.model.dispose();
    await this.labelStore.close();
    await this.store.close();
  }
}

/** The IndexedDB database of a run's labels: one per run database and dataset URL, so a reload finds it. */
const labelStoreName = (db: string, url: string) => `${db}-labels:${url}`;

/** `pool` (a new one on the train split when undefined) with the labels `store` holds that it lacks. */
async function withStored(ds: Dataset, pool: Pool | undefined, store: IdbLabelStore): Promise<Pool | undefined> {
  const batches = await store.load();
  if (!batches.length) return pool;
  const into = pool ?? new Pool(ds.view({ split: 'train' }).ids); // the ActiveLearner's default pool
  for (const { ids, labels } of batches) {
    const fresh = Array.from(ids.keys()).filter((i) => into.has(ids[i]) && !into.isLabelled(ids[i]));
    into.label(fresh.map((i) => ids[i]), fresh.map((i) => labels[i]));
  }
  return into;
}

/** New run: the store's labels go with the database, and an empty one takes its place. */
async function clearLabelStore(store: IdbLabelStore, name: string): Promise<IdbLabelStore> {
  await store.close();
  const request = indexedDB.deleteDatabase(name);
  await new Promise<void>((resolve, reject) => {
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error(`IndexedDB "${name}" could not be deleted`));
  });
  return IdbLabelStore.open(name);
}

/** The settings' model: the TF.js model they name, or an MLP from the images to the classes with one hidden layer. */
async function newModel(ds: Dataset, device: GPUDevice | null, settings: Settings, store: IdbChunkStore, db: string): Promise<RunModel> {
  const inputs = ds.tensor('image').shape.reduce<number>((a, d) => a * (d ?? 1), 1);
  const classes = ds.tensor('label').classNames?.length ?? 10;
  const from = settings.modelFiles.length ? settings.modelFiles : settings.model;
  if (from.length) return (await import('./tfjs.js')).tfjsModel(from, tfjsStore(db), device, inputs, classes);
  return edgelakeModel(mlp({ layers: [inputs, settings.hidden, classes], seed: settings.seed, device }), store);
}

async function restoreModel(kind: SavedRun['model'], store: IdbChunkStore, db: string, ds: Dataset, device: GPUDevice | null): Promise<RunModel> {
  if (kind === 'tfjs') {
    const classes = ds.tensor('label').classNames?.length ?? 10;
    const inputs = ds.tensor('image').shape.reduce<number>((a, d) => a * (d ?? 1), 1);
    return (await import('./tfjs.js')).tfjsModel(tfjsStore(db), tfjsStore(db), device, inputs, classes);
  }
  const bytes = await store.getNote(MODEL_NOTE);
  if (!bytes?.length) throw new Error('no saved model');
  return edgelakeModel(loadModel(bytes, { device, name: `${db}/${MODEL_NOTE}` }), store);
}

/** Where TF.js keeps a brought model's weights between reloads (its own IndexedDB store). */
const tfjsStore = (db: string) => `indexeddb://${db}-tfjs-model`;

function edgelakeModel(model: Model, store: IdbChunkStore): RunModel {
  return {
    kind: 'edgelake',
    describe: 'edgelake MLP, trained from scratch',
    learner: model,
    save: async () => store.putNote(MODEL_NOTE, await saveModel(model)),
    dispose: () => model.dispose(),
  };
}

async function readSaved(store: IdbChunkStore, url: string): Promise<SavedRun | undefined> {
  const bytes = await store.getNote(RUN_NOTE);
  if (!bytes?.length) return undefined;
  try {
    const saved = JSON.parse(new TextDecoder().decode(bytes)) as SavedRun;
    if (saved.format !== 'edgelake-demo/1' || saved.url !== url) return undefined;
    return { ...saved, model: saved.model ?? 'edgelake' };
  } catch {
    return undefined; // a damaged note: start over rather than fail to load
  }
}

/** A sample the sampler picked, with what the learner makes of it now. */
export interface Pick {
  id: number;
  /** Pixels in [0, 1], height x width. */
  pixels: Float32Array;
  width: number;
  guess: number;
  /** Normalized entropy of the learner's prediction: 0 sure, 1 uniform. */
  uncertainty: number;
  /** The dataset's label, when fetched (auto-labelling). */
  truth?: number;
}

/**
 * The picked samples' images (and labels, when `withLabels`) through the run's dataset and cache
 * (the chunks training needs next anyway), and the learner's prediction for each, in `ids` order.
 */
export async function preview(run: Run, ids: Uint32Array, withLabels: boolean): Promise<Pick[]> {
  const ds = run.dataset;
  const [height, width] = ds.tensor('image').shape.map((d) => d ?? 1);
  const size = height * width;
  const loader = new Loader(ds.view({ indices: ids }), { batchSize: 256, tensors: withLabels ? ['image', 'label'] : ['image'], transform: { image: { scale: 1 / 255 } } });
  const images = new Map<number, Float32Array>();
  const truth = new Map<number, number>();
  for await (const b of loader) {
    const x = b.tensors.image as Float32Array;
    b.ids.forEach((id, i) => {
      images.set(id, x.slice(i * size, (i + 1) * size));
      if (withLabels) truth.set(id, (b.tensors.label as Int32Array)[i]);
    });
  }
  const input = new Float32Array(ids.length * size);
  ids.forEach((id, i) => input.set(images.get(id)!, i * size));
  const classes = run.learner.classes;
  const probs = await run.learner.predictProba(input, ids.length);
  return Array.from(ids, (id, i) => {
    const p = probs.subarray(i * classes, (i + 1) * classes);
    let guess = 0;
    let entropy = 0;
    for (let c = 0; c < classes; c++) {
      if (p[c] > p[guess]) guess = c;
      if (p[c] > 0) entropy -= p[c] * Math.log(p[c]);
    }
    return { id, pixels: images.get(id)!, width, guess, uncertainty: entropy / Math.log(classes), truth: truth.get(id) };
  });
}
