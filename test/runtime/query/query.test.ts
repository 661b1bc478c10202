// Queries, TQL-style: the ids a query selects, reading only the tensors it names.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSubsetArgs, cli, FASHION_CLASSES } from '../../support/cli.js';
import { startNginx, type RunningNginx } from '../../support/nginx.js';
import { FASHION_MNIST_DIR, hasCommand, missing } from '../../support/system.js';
import { cnn, isEdgelakeError, Loader, materialize, MemorySource, mlp, openView, query } from '../../../src/index.js';
import { pngFolder } from '../../support/image-folder.js';
import { FolderSink, openDataset } from '../../../src/node.js';
import { buildIdx, commitVersion, MemorySink, REFS_PATH, TensorWriter, type Sink } from '../../../src/format/index.js';

const root = mkdtempSync(join(tmpdir(), 'edgelake-query-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('query on the bundled subset', () => {
  const dir = join(root, 'subset');
  let labels: Int32Array;
  let images: Uint8Array;
  beforeAll(async () => {
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '64'))).code).toBe(0);
    const ds = await openDataset(dir);
    const spec = (await import('../../spec-reader/reader.js')).readDataset(dir);
    const stored = spec.readTensorBytes('label');
    labels = new Int32Array(stored.slice().buffer);
    images = spec.readTensorBytes('image');
    expect(labels.length).toBe(ds.length);
  }, 60_000);
  const reference = (keep: (id: number) => boolean) => Array.from({ length: labels.length }, (_, id) => id).filter(keep);
  const mean = (id: number, rows = 28) => {
    let s = 0;
    for (let p = 0; p < rows * 28; p++) s += images[id * 784 + p];
    return s / (rows * 28);
  };

  it('class names, IN, NOT, AND/OR and arithmetic, each against a reference computed here', async () => {
    const ds = await openDataset(dir);
    const cases: [string, (id: number) => boolean][] = [
      ["select * where label == 'Sandal'", (id) => labels[id] === 5],
      ["select * where label in ('Trouser', 'Bag') and not label == 1", (id) => labels[id] === 8],
      ['select * where label * 2 + 1 >= 15 or label = 0', (id) => labels[id] * 2 + 1 >= 15 || labels[id] === 0],
      ['select * where mean(image) > 100', (id) => mean(id) > 100],
      ['select * where mean(image[0:14, :, 0]) > 100 and max(image) == 255', (id) => mean(id, 14) > 100 && Math.max(...images.subarray(id * 784, id * 784 + 784)) === 255],
      ['select * where image[27, 27, 0] > 0', (id) => images[id * 784 + 783] > 0],
      ['select * where shape(image)[0] == 28 and label not in (0, 1, 2, 3, 4, 5, 6, 7, 8)', (id) => labels[id] === 9],
      ['select * where image[14, 14]', (id) => images[id * 784 + 14 * 28 + 14] !== 0], // an array of one element is that element, as in NumPy
      ['select * where not image[0, 0] and label == 9', (id) => images[id * 784] === 0 && labels[id] === 9],
    ];
    for (const [text, keep] of cases) expect(Array.from((await query(ds, text)).ids), text).toEqual(reference(keep));
  });

  it('order by and limit; only the tensors named are read; from version', async () => {
    const ds = await openDataset(dir);
    const top = await query(ds, 'select * where label == 5 order by mean(image) desc limit 10');
    expect(Array.from(top.ids)).toEqual(reference((id) => labels[id] === 5).sort((a, b) => mean(b) - mean(a) || a - b).slice(0, 10));
    expect(top.tensorsRead).toEqual(['label', 'image']);
    const fresh = await openDataset(dir);
    const byLabel = await query(fresh, "select * where label == 'Sandal'");
    expect(byLabel.tensorsRead).toEqual(['label']);
    expect(byLabel.bytesFetched).toBe(fresh.tensor('label').chunks.reduce((a, c) => a + c.bytes, 0)); // the label chunks, no image chunk
    expect(byLabel.view.length).toBe(byLabel.ids.length);
    expect((await query(ds, `select * from version '${ds.version}' limit 3`)).ids).toEqual(Uint32Array.of(0, 1, 2));
    const other = await query(ds, "select * from ref 'main' where label == 0 limit 2", { open: (ref) => openDataset(dir, { ref }) });
    expect(other.version).toBe(ds.version);
  });

  it('materialize: the selected samples, in the query\'s order, as a new version on a new branch that any reader reads', async () => {
    const r = await cli('materialize', dir, "select * where label == 'Sandal' order by mean(image) desc", '--ref', 'sandals', '--json');
    expect(r.code, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout) as { version: string; parent: string; samples: number };
    const parent = await openDataset(dir);
    const sandals = await openDataset(dir, { ref: 'sandals' });
    expect([sandals.version, sandals.manifest.parent, sandals.length]).toEqual([made.version, parent.version, 600]);
    const order = (await query(parent, "select * where label == 'Sandal' order by mean(image) desc")).ids;
    for (const k of [0, 1, 299, 599]) expect(Buffer.compare(Buffer.from((await sandals.view().get(k, ['image'])).image), Buffer.from(images.subarray(order[k] * 784, order[k] * 784 + 784))), `sample ${k}`).toBe(0);
    expect(Object.values(sandals.splits).flat().reduce((a, [x, y]) => a + y - x, 0)).toBe(600);
    const streamed = await cli('stream', dir, '--query', "select * from ref 'sandals' limit 100 offset 550", '--workers', '0', '--json');
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(JSON.parse(streamed.stdout)).toMatchObject({ version: made.version, samples: 50 }); // the samples of the ref it names
    const spec = (await import('../../spec-reader/reader.js')).readDataset(dir);
    spec.verifyAll(); // head (main) is untouched and whole
    expect(spec.versionId).toBe(parent.version);
  });

  it('materialize refuses a branch that exists, or a view or ref that does not, before writing a chunk (exit 2)', async () => {
    const files = () => readdirSync(join(dir, 'chunks'), { recursive: true }).length;
    const before = files();
    const cases: [string[], string][] = [
      [['select * limit 5', '--ref', 'main'], 'main is already a ref (a branch name must be new)'],
      [['select * limit 5', '--ref', 'no/slash'], 'branch name "no/slash" must match'],
      [['nosuchview'], 'has no view named nosuchview'],
      [["select * from ref 'nope' limit 5"], 'no ref "nope"'],
    ];
    for (const [args, message] of cases) {
      const r = await cli('materialize', dir, ...args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
    expect(files()).toBe(before);
  });

  it('--device names where reductions run: gpu or cpu, nothing else', async () => {
    const cpu = await cli('query', dir, 'select * where mean(image) > 100', '--device', 'cpu', '--json');
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(JSON.parse(cpu.stdout).count).toBeGreaterThan(0);
    expect((await cli('query', dir, 'select * where mean(image) > 100', '--device', 'tpu')).stderr).toContain('--device must be gpu or cpu, not "tpu"');
  });

  it('saved views: a query\'s answer kept in the dataset by name, listed, opened, materialized; a name never moves', async () => {
    const saved = await cli('query', dir, 'select * where label == 9 limit 40', '--save', 'boots', '--json');
    expect(saved.code, saved.stderr).toBe(0);
    const { ids } = JSON.parse(saved.stdout) as { ids: number[] };
    const listed = JSON.parse((await cli('views', dir, '--json')).stdout) as { name: string; count: number; query: string }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'boots', count: 40, query: 'select * where label == 9 limit 40' })]);
    const ds = await openDataset(dir);
    const { view } = await openView(ds, 'boots');
    expect(Array.from(view.ids)).toEqual(ids);
    expect((await cli('query', dir, 'select * where label == 8 limit 3', '--save', 'boots')).stderr).toContain('a view named boots is saved already');
    // The same query saved again under its name (a script run twice) is the same view: nothing moves.
    const again = await cli('query', dir, 'select * where label == 9 limit 40', '--save', 'boots', '--json');
    expect([again.code, (JSON.parse(again.stdout) as { ids: number[] }).ids], again.stderr).toEqual([0, ids]);
    expect(JSON.parse((await cli('views', dir, '--json')).stdout)).toEqual(listed);
    const made = await cli('materialize', dir, 'boots', '--ref', 'boots', '--json');
    expect(made.code, made.stderr).toBe(0);
    expect((await openDataset(dir, { ref: 'boots' })).length).toBe(40);
    await expect(openView(ds, 'nothing')).rejects.toThrow('has no view named nothing (views: boots)');
  });

  it('with a learner attached: order by uncertainty desc ranks the samples it is least sure of first', async () => {
    const ds = await openDataset(dir);
    const learner = mlp({ layers: [784, 16, 10], seed: 3 });
    const top = await query(ds, "select * where label != 'Trouser' order by uncertainty desc limit 20", { learner });
    // The reference: the same learner's entropy of every sample, computed here.
    const x = Float32Array.from(images, (v) => v / 255);
    const scores = await learner.uncertainty(x, labels.length, 'entropy');
    const expected = reference((id) => labels[id] !== 1).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, 20);
    expect(Array.from(top.ids)).toEqual(expected);
    // With a device too: uncertainty is the learner's, no tensor, so max(uncertainty) stays on the CPU (this device is never used).
    const unsure = await query(ds, 'select * where max(uncertainty) > 0.4', { learner, device: {} as GPUDevice });
    expect(Array.from(unsure.ids)).toEqual(reference((id) => scores[id] > 0.4));
    await expect(query(ds, 'select * order by uncertainty desc')).rejects.toThrow("no tensor 'uncertainty'");
    learner.dispose();
  });

  it("refuses a learner whose input is not the tensor's size, naming both, before it reads past a batch or scores pieces of samples", async () => {
    const ds = await openDataset(dir);
    for (const [layers, takes] of [[[3072, 8, 10], '[3072], 3072 values'], [[100, 8, 10], '[100], 100 values']] as const) {
      const learner = mlp({ layers: [...layers], seed: 1 });
      const refused = await query(ds, 'select * order by uncertainty desc limit 5', { learner }).catch((e: unknown) => e);
      expect(isEdgelakeError(refused, 'invalid-input'), String(refused)).toBe(true);
      expect((refused as Error).message).toContain(`the model takes inputs of ${takes} a sample, and tensor image's samples are uint8 [28, 28, 1], 784 values`);
      expect((refused as Error).message).toContain('--input-size N');
      // The model itself refuses inputs of another size (a RangeError, or a silent misreading, before).
      await expect(learner.uncertainty(new Float32Array(784 * 2), 2, 'entropy')).rejects.toThrow(`uncertainty: the model takes inputs of [${layers[0]}]`);
      learner.dispose();
    }
  });

  it('a mistake is refused with the column it is at', async () => {
    const ds = await openDataset(dir);
    const refused: [string, string][] = [
      ['select * wher label == 1', "query: expected FROM, WHERE, ORDER BY, LIMIT or the end of the query, found 'wher' at column 10\n  select * wher label == 1\n           ^"],
      ['select * limit 5 where label == 1', "query: expected OFFSET, ORDER BY or the end of the query, found 'where' at column 18"],
      ['select * limit 5 offset 1 limit 2', "query: expected ORDER BY or the end of the query, found 'limit' at column 27"],
      ['select * offset 5', "query: expected FROM, WHERE, ORDER BY, LIMIT or the end of the query, found 'offset' at column 10"],
      ['select * where image', "query: the truth of an array of 784 elements is ambiguous; reduce it first, e.g. mean(...) > 0, or index it at column 16"],
      ["select * where label == 'Sneakers'", "query: tensor label has no class 'Sneakers' (classes: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot) at column 25"],
      ['select * where labl == 1', "query: no tensor 'labl' (tensors: image, label) at column 16"],
      ['select * where median(image) > 1', "query: no function 'median' (functions: mean, sum, min, max, shape, contains) at column 16"],
      ['select * where constructor(image) > 1', "query: no function 'constructor' (functions: mean, sum, min, max, shape, contains) at column 16"], // not Object's
      ['select * where image > 1', "query: '>' needs a number; reduce an array first (mean, min, max, sum) or index it at column 22"],
      ['select * limit x', "query: expected a whole number after LIMIT, found 'x' at column 16"],
      ['select * limit 3 offset -1', "query: expected a whole number after OFFSET, found '-' at column 25"],
      ["select * where label == 'a", 'query: a string that never ends at column 25'],
    ];
    for (const [text, message] of refused) await expect(query(ds, text), text).rejects.toThrow(message);
  });
});

describe('query on a dataset built in memory', () => {
  /** 12 samples: score (float32) i / 4 - 1, NaN where i % 4 == 0; uncertainty, a tensor of the dataset's own, i % 3. */
  async function scored() {
    const sink = new MemorySink();
    const scalar = (name: string) => new TensorWriter(sink, name, { htype: 'generic', dtype: 'float32', shape: [], sampleCompression: 'none', chunkCompression: 'none' }, 64);
    const [score, uncertainty] = [scalar('score'), scalar('uncertainty')];
    for (let i = 0; i < 12; i++) {
      await score.append(new Uint8Array(Float32Array.of(i % 4 === 0 ? NaN : i / 4 - 1).buffer));
      await uncertainty.append(new Uint8Array(Float32Array.of(i % 3).buffer));
    }
    await commitVersion(sink, { length: 12, splits: {}, tensors: { score: await score.finish(), uncertainty: await uncertainty.finish() } }, { name: 'scored', message: 'scores', created: '2026-01-01T00:00:00Z' });
    return openDataset(new MemorySource(sink.files));
  }

  it('order by puts NaN last either way, as pandas does, and sorts the rest', async () => {
    const ds = await scored();
    expect(Array.from((await query(ds, 'select * order by score')).ids)).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11, 0, 4, 8]);
    expect(Array.from((await query(ds, 'select * order by score desc')).ids)).toEqual([11, 10, 9, 7, 6, 5, 3, 2, 1, 0, 4, 8]);
  });

  it('limit N offset M and order by come in either order: the ordered rows, M skipped, N kept', async () => {
    const ds = await scored();
    for (const text of ['select * order by score limit 3 offset 2', 'select * limit 3 offset 2 order by score', 'select * where score limit 3 offset 2 order by score asc']) {
      expect(Array.from((await query(ds, text)).ids), text).toEqual([3, 5, 6]);
    }
    expect(Array.from((await query(ds, 'select * limit 2 offset 11')).ids)).toEqual([11]);
  });

  it('NaN is true as a condition, as in NumPy (a non-zero value)', async () => {
    const ds = await scored();
    expect(Array.from((await query(ds, 'select * where not score')).ids)).toEqual([]);
    expect(Array.from((await query(ds, 'select * where score and score != score')).ids)).toEqual([0, 4, 8]);
  });

  it("a tensor named uncertainty is the dataset's own when no learner is attached", async () => {
    const ds = await scored();
    expect(Array.from((await query(ds, 'select * where uncertainty > 0 order by uncertainty desc limit 4')).ids)).toEqual([2, 5, 8, 11]);
  });
});

describe('query on text (captions, as WebDataset .txt and Parquet strings are stored)', () => {
  const CAPTIONS = ['a dog on grass', 'a cat', 'two dogs', 'Dog', '', 'un café crème', 'a dog on grass'];
  async function captioned() {
    const sink = new MemorySink();
    const caption = new TensorWriter(sink, 'caption', { htype: 'text', dtype: 'bytes', shape: [null], sampleCompression: 'none', chunkCompression: 'none' }, 16);
    const score = new TensorWriter(sink, 'score', { htype: 'generic', dtype: 'int32', shape: [], sampleCompression: 'none', chunkCompression: 'none' }, 64);
    for (const [i, text] of CAPTIONS.entries()) {
      await caption.append(new TextEncoder().encode(text));
      await score.append(new Uint8Array(Int32Array.of(i).buffer));
    }
    await commitVersion(sink, { length: CAPTIONS.length, splits: {}, tensors: { caption: await caption.finish(), score: await score.finish() } }, { name: 'captions', message: 'captions', created: '2026-01-01T00:00:00Z' });
    return openDataset(new MemorySource(sink.files));
  }
  const matching = (keep: (text: string, i: number) => boolean) => CAPTIONS.flatMap((text, i) => (keep(text, i) ? [i] : []));

  it('==, !=, in and contains (case and all), with numbers beside them; an empty text is false', async () => {
    const ds = await captioned();
    const cases: [string, (text: string, i: number) => boolean][] = [
      ["select * where caption == 'a dog on grass'", (t) => t === 'a dog on grass'],
      ["select * where 'a cat' != caption", (t) => t !== 'a cat'],
      ["select * where caption in ('Dog', 'two dogs', 'no such text')", (t) => t === 'Dog' || t === 'two dogs'],
      ["select * where contains(caption, 'dog') and score > 0", (t, i) => t.includes('dog') && i > 0],
      ["select * where contains(caption, 'é') or not caption", (t) => t.includes('é') || t === ''],
      ["select * where CONTAINS(caption, '') and caption not in ('a cat')", (t) => t !== 'a cat'],
    ];
    for (const [text, keep] of cases) expect(Array.from((await query(ds, text)).ids), text).toEqual(matching(keep));
    const answer = await query(ds, "select * where contains(caption, 'dog') order by score desc limit 2");
    expect({ ids: Array.from(answer.ids), read: answer.tensorsRead }).toEqual({ ids: [6, 2], read: ['caption', 'score'] });
  });

  it('text is not a number: a mistake is refused at its column, saying what text takes', async () => {
    const ds = await captioned();
    const refusal = (text: string) => query(ds, text).then(() => 'answered', (e: Error) => e.message);
    expect(await refusal("select * where caption > 'a'")).toMatch(/'>' needs a number, not text \(text is compared with ==, != and in, or searched with contains\)/);
    expect(await refusal('select * where caption == 3')).toMatch(/'==' compares text with a number/);
    expect(await refusal("select * where contains(score, 'a')")).toMatch(/contains takes a text tensor and a string: contains\(caption, 'dog'\)/);
    expect(await refusal('select * where mean(caption) > 1')).toMatch(/mean of text/);
    expect(await refusal("select * where score == 'a'")).toMatch(/tensor score has no class names to compare 'a' with/);
    expect(await refusal("select * where 'a'")).toMatch(/a string is a class name or text, compared with a class label or text tensor \(caption == 'a' or contains\(caption, 'a'\)\)/);
    expect(await refusal('select * order by caption')).toMatch(/'order by' needs a number, not text/);
  });
});

describe('uncertainty of images of any size, fitted to the size the learner takes', () => {
  it('scores each photo fitted to NxN (its centre, channels first for a CNN), as train --input-size tests it', async () => {
    const { ds, pixels } = await pngFolder();
    const dense = mlp({ layers: [8 * 8 * 3, 16, 2], seed: 5 });
    const conv = cnn({ input: [3, 8, 8], classes: 2, seed: 5 });
    for (const [learner, toCHW] of [[dense, false], [conv, true]] as const) {
      const ranked = await query(ds, 'select * order by uncertainty desc', { learner, inputSize: 8 });
      // The reference: the learner's entropy of the loader's centre fit, as train's test loader feeds it.
      const fitted: Float32Array[] = [];
      for await (const b of new Loader(ds.view(), { batchSize: 100, tensors: ['image'], transform: { image: { scale: 1 / 255, toCHW, fit: { size: [8, 8], crop: 'center' } } } })) fitted.push(b.tensors.image as Float32Array);
      const scores = await learner.uncertainty(fitted[0], ds.length, 'entropy');
      expect(Array.from(ranked.ids)).toEqual(Array.from({ length: ds.length }, (_, id) => id).sort((a, b) => scores[b] - scores[a] || a - b));
      // The 8x8 photo's fit is its own pixels, read here without the fit kernel.
      const square = [...pixels.keys()].find((id) => pixels.get(id)!.length === 8 * 8 * 3)!;
      const own = fitted[0].subarray(square * 192, (square + 1) * 192);
      if (!toCHW) expect(Math.max(...Array.from(pixels.get(square)!, (v, i) => Math.abs(v / 255 - own[i])))).toBeLessThan(1e-6);
    }
    // A tensor of one shape as stored (the 32x32 thumbnails) reaches a CNN channels first too, as train feeds it.
    const thumbs = cnn({ input: [3, 32, 32], classes: 2, seed: 7 });
    const ranked = await query(ds, 'select * where mean(thumbnail) >= 0 order by uncertainty desc', { learner: thumbs, input: 'thumbnail' });
    const scoresOf = async (toCHW: boolean) => {
      for await (const b of new Loader(ds.view(), { batchSize: 100, tensors: ['thumbnail'], transform: { thumbnail: { scale: 1 / 255, toCHW } } })) return thumbs.uncertainty(b.tensors.thumbnail as Float32Array, ds.length, 'entropy');
      throw new Error('no batch');
    };
    const rank = (scores: Float32Array) => Array.from({ length: ds.length }, (_, id) => id).sort((a, b) => scores[b] - scores[a] || a - b);
    const [chw, hwc] = [rank(await scoresOf(true)), rank(await scoresOf(false))];
    expect(chw).not.toEqual(hwc); // the test tells the layouts apart
    expect(Array.from(ranked.ids)).toEqual(chw);
    thumbs.dispose();
    // Without the fit, the photos have no one shape; at another size, the learner's is named.
    await expect(query(ds, 'select * order by uncertainty desc', { learner: dense })).rejects.toThrow("the learner's input image is uint8 [*, *, 3]: it takes samples of one shape (fit images to NxN with inputSize, --input-size N)");
    await expect(query(ds, 'select * order by uncertainty desc', { learner: dense, inputSize: 4 })).rejects.toThrow("the model takes inputs of [192], 192 values a sample, and tensor image's samples are uint8 [4, 4, 3] (fitted to 4x4), 48 values");
    // The fitted images are the learner's: the query's own expressions would read them as stored.
    await expect(query(ds, 'select * where mean(image) > 0 order by uncertainty desc', { learner: dense, inputSize: 8 })).rejects.toThrow('tensor image is fitted to 8x8 for the learner');
    dense.dispose();
    conv.dispose();
  });
});

describe('materialize on a dataset built in memory', () => {
  /** 12 samples, x = 10 * id, in splits train [0, 8) and __proto__ [8, 12) (a name like any other). */
  async function tiny() {
    const sink = new MemorySink();
    const x = new TensorWriter(sink, 'x', { htype: 'generic', dtype: 'int32', shape: [], sampleCompression: 'none', chunkCompression: 'none' }, 16);
    for (let i = 0; i < 12; i++) await x.append(new Uint8Array(Int32Array.of(10 * i).buffer));
    const splits = { train: [[0, 8]] as [number, number][], ['__proto__']: [[8, 12]] as [number, number][] };
    await commitVersion(sink, { length: 12, splits, tensors: { x: await x.finish() } }, { name: 'tiny', message: 'x = 10 * id', created: '2026-01-01T00:00:00Z' });
    const source = new MemorySource(sink.files);
    return { sink, source, ds: await openDataset(source) };
  }
  const refsOf = (sink: MemorySink) => JSON.parse(new TextDecoder().decode(sink.files.get(REFS_PATH)));

  it('refuses an id that is not a sample, naming the first, before it writes anything', async () => {
    const { sink, ds } = await tiny();
    const files = sink.files.size;
    for (const bad of [12, -1, 1.5, NaN]) {
      const e = await materialize(ds, [0, bad, 13], sink, { ref: 'picked' }).catch((err: unknown) => err);
      expect(isEdgelakeError(e, 'invalid-input'), String(e)).toBe(true);
      expect((e as Error).message).toBe(`materialize: sample ${bad} (ids[1]) is not in dataset tiny (12 samples)`);
    }
    expect(sink.files.size).toBe(files);
  });

  it('makes its branch at the new version in one swap: a crash before it leaves no branch, and trying again works', async () => {
    const { sink, source, ds } = await tiny();
    let crash = true;
    const named: string[] = []; // what each edgelake.json swapped in names `picked`
    const flaky: Sink = {
      read: (path) => sink.read(path),
      write: (path, bytes) => sink.write(path, bytes),
      async swap(path, expected, next) {
        if (crash) {
          crash = false;
          throw new Error('connection dropped');
        }
        named.push(JSON.parse(new TextDecoder().decode(next)).refs.picked);
        return sink.swap(path, expected, next);
      },
    };
    await expect(materialize(ds, [3, 1], flaky, { ref: 'picked' })).rejects.toThrow('connection dropped');
    expect(Object.keys(refsOf(sink).refs)).toEqual(['main']);
    const made = await materialize(ds, [3, 1], flaky, { ref: 'picked' });
    expect(named).toEqual([made.versionId]);
    const picked = await openDataset(source, { ref: 'picked' });
    expect([picked.manifest.parent, picked.length, (await picked.view().get(0)).x]).toEqual([ds.version, 2, Int32Array.of(30)]);
  });

  it('keeps a split named __proto__, at the samples\' new places', async () => {
    const { sink, source, ds } = await tiny();
    await materialize(ds, [0, 9, 10, 5], sink, { ref: 'picked' });
    const picked = await openDataset(source, { ref: 'picked' });
    expect(Object.entries(picked.splits)).toEqual([['train', [[0, 1], [3, 4]]], ['__proto__', [[1, 3]]]]);
  });
});

const fullAvailable = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
describe.skipIf(missing('the Fashion-MNIST dataset', 'apt-get install dataset-fashion-mnist', fullAvailable) || missing('nginx', 'apt-get install nginx', hasCommand('nginx')))('edgelake query on the full Fashion-MNIST served by nginx', () => {
  let nginx: RunningNginx;
  const file = (name: string) => readFileSync(join(FASHION_MNIST_DIR, name));
  beforeAll(async () => {
    await buildIdx(new FolderSink(join(root, 'full')), {
      train: { images: file('train-images-idx3-ubyte.gz'), labels: file('train-labels-idx1-ubyte.gz') },
      test: { images: file('t10k-images-idx3-ubyte.gz'), labels: file('t10k-labels-idx1-ubyte.gz') },
      name: 'fashion-mnist', created: '2017-08-25T00:00:00Z', classNames: FASHION_CLASSES.split(','),
    });
    nginx = await startNginx(root, { maxSeconds: 300 });
  }, 120_000);
  afterAll(() => nginx?.stop());

  it("label == 'Sandal' is exactly the 7,000 samples labelled 5, with no image chunk fetched; mean(image) > 100 matches the IDX files", async () => {
    const idx = (name: string, header: number) => gunzipSync(file(name)).subarray(header);
    const labels = Buffer.concat([idx('train-labels-idx1-ubyte.gz', 8), idx('t10k-labels-idx1-ubyte.gz', 8)]);
    const images = Buffer.concat([idx('train-images-idx3-ubyte.gz', 16), idx('t10k-images-idx3-ubyte.gz', 16)]);
    const url = `${nginx.url}/full`;
    const sandals = await cli('query', url, "select * where label == 'Sandal'", '--json');
    expect(sandals.code, sandals.stderr).toBe(0);
    const answer = JSON.parse(sandals.stdout) as { count: number; ids: number[]; tensorsRead: string[]; bytesFetched: number };
    expect(answer.ids).toEqual(Array.from(labels.keys()).filter((id) => labels[id] === 5));
    expect(answer.count).toBe(7000);
    const ds = await openDataset(url);
    const labelBytes = ds.tensor('label').chunks.reduce((a, c) => a + c.bytes, 0);
    const refsAndManifest = answer.bytesFetched - labelBytes;
    console.log(`query: label == 'Sandal' fetched ${answer.bytesFetched} bytes: label chunks ${labelBytes}, refs and manifest ${refsAndManifest}; the image chunks are ${ds.tensor('image').chunks.reduce((a, c) => a + c.bytes, 0)} bytes`);
    expect(refsAndManifest).toBeGreaterThan(0);
    expect(refsAndManifest).toBeLessThan(64 * 1024); // edgelake.json and the manifest: no image chunk

    const bright = JSON.parse((await cli('query', url, 'select * where mean(image) > 100', '--json')).stdout) as { ids: number[] };
    const reference: number[] = [];
    for (let id = 0; id < labels.length; id++) {
      let s = 0;
      for (let p = 0; p < 784; p++) s += images[id * 784 + p];
      if (s / 784 > 100) reference.push(id);
    }
    expect(bright.ids).toEqual(reference);
  }, 120_000);
});
