// The browser demo's "bring a model": a TF.js model (trained here, in Node, on a few classes' worth
// of images, and saved as model.json + weights) loaded from a URL or from files, labelled by hand
// with the keyboard, trained by TF.js on the page's WebGPU device, and the labels committed into
// the served dataset as a new version.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../demo/web/serve.js';
import { readDataset } from '../spec-reader/reader.js';
import { loadTfjs, type Tfjs } from '../support/tfjs.js';
import { commitLabels, Loader } from '../../src/index.js';
import { FolderSink, openDataset } from '../../src/node.js';
import { noChromium, openBrowser, type Browser } from './chromium.js';
import { idle, text } from './demo-page.js';

const PICKS = 20;
const RUN = `round=${PICKS}&epochs=2&rounds=1&strategy=margin&db=bring-a-model`;

describe.skipIf(noChromium)('browser demo: bring a TF.js model, label by hand, commit', { timeout: 180_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'edgelake-demo-model-'));
  const datasetDir = join(scratch, 'dataset');
  const modelDir = join(scratch, 'models', 'mlp');
  let demo: RunningDemo;
  let browser: Browser;
  let page: Page;
  let tf: Tfjs;
  let truth: Int32Array; // the dataset's labels, by sample id
  let images: Float32Array; // every image scaled to [0, 1], by sample id
  let pretrained: number; // the brought model's test accuracy as it comes

  beforeAll(async () => {
    demo = await startDemo({ port: 0, appDir: join(scratch, 'app'), datasetDir, mounts: { '/models': join(scratch, 'models') } });
    const ds = await openDataset(datasetDir);
    [truth, images] = [new Int32Array(ds.length), new Float32Array(ds.length * 784)];
    for await (const b of new Loader(ds.view(), { batchSize: 1024, tensors: ['image', 'label'], transform: { image: { scale: 1 / 255 } } })) {
      b.ids.forEach((id, i) => {
        truth[id] = (b.tensors.label as Int32Array)[i];
        images.set((b.tensors.image as Float32Array).subarray(i * 784, (i + 1) * 784), id * 784);
      });
    }
    // The model a person brings: trained elsewhere (here: TF.js on the CPU, 500 training images, 3 epochs).
    tf = await loadTfjs();
    await tf.setBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28] }),
        tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(3e-3), loss: 'sparseCategoricalCrossentropy' });
    const train = Array.from(ds.view({ split: 'train' }).ids.slice(0, 500));
    const x = tf.tensor(Float32Array.from(train.flatMap((id) => Array.from(images.subarray(id * 784, (id + 1) * 784)))), [train.length, 28, 28]);
    const y = tf.tensor(Float32Array.from(train, (id) => truth[id]), [train.length]);
    await model.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0 });
    x.dispose();
    y.dispose();
    const test = Array.from(ds.view({ split: 'test' }).ids);
    const guesses = await guessesOf(model, test);
    pretrained = guesses.filter((g, i) => g === truth[test[i]]).length / test.length;
    await saveTo(model, modelDir);
    model.dispose();
    // And one made for another task: five classes.
    const five = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 5, activation: 'softmax' })] });
    await saveTo(five, join(scratch, 'models', 'five'));
    five.dispose();
    browser = await openBrowser({});
    page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** model.json + weights.bin, as TF.js's own tf.io.browserDownloads or a converter writes them. */
  async function saveTo(model: { save: Tfjs['Sequential']['prototype']['save'] }, dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: artifacts.modelTopology, format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] }));
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
  }

  /** A TF.js model's guesses for `ids`, computed here in Node on the CPU. */
  async function guessesOf(model: { predict: Tfjs['Sequential']['prototype']['predict'] }, ids: number[]): Promise<number[]> {
    const guesses = tf.tidy(() => tf.argMax(model.predict(tf.tensor(Float32Array.from(ids.flatMap((id) => Array.from(images.subarray(id * 784, (id + 1) * 784)))), [ids.length, 28, 28])) as never, 1));
    const out = Array.from(await guesses.data());
    guesses.dispose();
    return out;
  }

  /** The saved model's own guesses for `ids`, read back from its files. */
  async function guessesInNode(ids: number[]): Promise<number[]> {
    const json = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: never }[] };
    const weights = readFileSync(join(modelDir, 'weights.bin'));
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(weights).buffer }));
    const guesses = await guessesOf(model, ids);
    model.dispose();
    return guesses;
  }

  /** Labels the round's picks by keyboard: the true class for each, except `wrong` (sample id -> label). */
  async function labelByHand(wrong = new Map<number, number>()): Promise<Map<number, number>> {
    await page.waitForFunction(() => document.querySelectorAll('.pick.focus').length === 1, undefined, { timeout: 60_000 });
    const ids = (await page.locator('.pick').evaluateAll((cards) => cards.map((c) => Number((c as HTMLElement).dataset.id))));
    expect(ids).toHaveLength(PICKS);
    const given = new Map<number, number>();
    for (const id of ids) {
      const label = wrong.get(id) ?? truth[id];
      given.set(id, label);
      await page.keyboard.press(String(label)); // sets the focused pick, moves to the next
    }
    await page.keyboard.press('Enter');
    return given;
  }

  it('loads the model from its URL, shows its guesses for the picks, and trains it on the labels given', async () => {
    await page.goto(`${demo.url}?${RUN}&model=${encodeURIComponent(`${demo.url}models/mlp/model.json`)}`);
    await page.getByTestId('start').click();
    await page.waitForFunction(() => document.querySelectorAll('.pick.focus').length === 1, undefined, { timeout: 60_000 });
    expect(await text(page, 'model')).toMatch(/^TF\.js model \(3 layers, 25,450 parameters; TF\.js webgpu backend on edgelake's device\)$/);
    // The guesses shown are the brought model's: the page's TF.js on SwiftShader agrees with TF.js on the CPU here.
    const cards = await page.locator('.pick').evaluateAll((els) => els.map((c) => [Number((c as HTMLElement).dataset.id), c.querySelector('.guess')!.textContent!] as const));
    const names = readDataset(datasetDir).manifest.tensors.label.classNames as string[];
    const mine = await guessesInNode(cards.map(([id]) => id));
    const agree = cards.filter(([, shown], i) => shown === `${names[mine[i]]}?`).length; // a guess reads 'Sandal?'
    console.log(`bring a model: the page's guesses match TF.js on the CPU for ${agree} of ${cards.length} picks`);
    expect(agree).toBeGreaterThanOrEqual(PICKS - 1); // a near tie may fall the other way on another backend

    const someone = cards[0][0];
    const given = await labelByHand(new Map([[someone, (truth[someone] + 1) % 10]])); // the person disagrees with the dataset once
    await idle(page);
    expect([await text(page, 'round'), await text(page, 'labels')]).toEqual(['1', String(PICKS)]);
    const accuracy = Number(await text(page, 'accuracy'));
    console.log(`bring a model: test accuracy ${pretrained.toFixed(4)} as brought, ${accuracy} after ${PICKS} labels by hand`);
    expect(accuracy).toBeGreaterThan(pretrained - 0.1); // fine-tuned, not started over

    // Commit: the labels become a version of the served dataset, the person's answer included.
    const parent = readDataset(datasetDir).versionId;
    await page.getByTestId('commit').click();
    await page.waitForFunction(() => /^(Committed|error)/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''));
    expect(await text(page, 'status')).toMatch(new RegExp(`^Committed ${PICKS} labels to .* as version [0-9a-f]{12}, child of ${parent.slice(0, 12)}`));
    const spec = readDataset(datasetDir);
    spec.verifyAll();
    expect(spec.versionId).toBe(await page.getByTestId('commit').getAttribute('data-version'));
    expect(spec.manifest.parent).toBe(parent);
    const [labels, mask] = [new Int32Array(spec.readTensorBytes('label').slice().buffer), spec.readTensorBytes('label_mask')];
    expect(mask.reduce((a, v) => a + v, 0)).toBe(PICKS);
    for (const [id, label] of given) expect([id, labels[id], mask[id]]).toEqual([id, label, 1]);
    expect(labels[someone]).not.toBe(truth[someone]);
  });

  it('another writer commits meanwhile: the next commit goes onto their version, keeping their label', async () => {
    const before = readDataset(datasetDir);
    const mine = before.versionId;
    const other = before.readTensorBytes('label_mask').indexOf(0); // a sample the page did not label
    const theirs = await commitLabels(await openDataset(datasetDir), new Map([[other, 3]]), { sink: new FolderSink(datasetDir), tensor: 'label', message: 'another annotator' });
    await page.getByTestId('commit').click();
    await page.waitForFunction((v) => /^(Committed|error|conflict)/.test(document.querySelector('[data-testid=status]')?.textContent ?? '') && document.querySelector('[data-testid=commit]')?.getAttribute('data-version') !== v, mine);
    expect(await text(page, 'status')).toMatch(new RegExp(`^Committed ${PICKS} labels to .* child of ${theirs.versionId.slice(0, 12)} \\(another writer's version, committed since ${mine.slice(0, 12)} was read: its labels kept\\)`));
    const spec = readDataset(datasetDir);
    expect(spec.manifest.parent).toBe(theirs.versionId);
    const [labels, mask] = [new Int32Array(spec.readTensorBytes('label').slice().buffer), spec.readTensorBytes('label_mask')];
    expect([labels[other], mask[other], mask.reduce((a, v) => a + v, 0)]).toEqual([3, 1, PICKS + 1]);
  });

  it('a reload goes on with the brought model (kept in IndexedDB), on the version it read', async () => {
    await page.goto(`${demo.url}?${RUN}`);
    await page.waitForFunction(() => document.querySelector('[data-testid=round]')?.textContent === '1');
    expect(await text(page, 'model')).toMatch(/^TF\.js model \(3 layers/);
    expect(await text(page, 'labels')).toBe(String(PICKS));
  });

  it('loads the model from files the person picks, as a new run', async () => {
    await page.locator('input[name=model-files]').setInputFiles([join(modelDir, 'model.json'), join(modelDir, 'weights.bin')]);
    await page.getByTestId('start').click();
    await labelByHand();
    await idle(page);
    expect(await text(page, 'model')).toMatch(/^TF\.js model \(3 layers, 25,450 parameters/);
    expect([await text(page, 'round'), await text(page, 'labels')]).toEqual(['1', String(PICKS)]); // a new run: the model changed
    expect(Number(await text(page, 'accuracy'))).toBeGreaterThan(0.5);
  });

  it('a model made for another task is refused by name, and the run stays as it was', async () => {
    await page.locator('input[name=model-files]').setInputFiles([]);
    await page.locator('input[name=model]').fill(`${demo.url}models/five/model.json`);
    await page.locator('input[name=model]').dispatchEvent('change');
    await page.locator('#forget').click();
    await page.waitForFunction(() => /^error/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''));
    expect(await text(page, 'status')).toBe(`error: the TF.js model ${demo.url}models/five/model.json takes [28, 28] and gives 5 classes; this dataset has 784 values per image and 10 classes`);
    expect(await text(page, 'labels')).toBe(String(PICKS));
  });
});
