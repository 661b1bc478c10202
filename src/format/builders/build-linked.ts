import { EdgelakeError } from '../../errors.js';
import { sha256Hex } from '../hash.js';
import { mostImageType } from '../image/index.js';
import type { Manifest, SampleCompression } from '../manifest.js';
import type { Sink } from '../sink.js';
import { dict } from '../validate.js';
import { commitVersion, type Committed } from './commit.js';
import { TensorWriter } from './tensor-writer.js';

/** One file of a linked dataset: where it is, and its class when the list gives one. */
export interface LinkedEntry {
  /** An http(s)://, s3:// or file:// URL, a local path, or a path relative to the dataset's root. */
  link: string;
  className?: string;
  /** Its split (train, test, validation, ...); default train. */
  split?: string;
}

export interface BuildLinkedOptions {
  name?: string;
  /** The files' format; default: from each link's extension (.jpg/.jpeg, .png), which must agree. */
  format?: 'jpeg' | 'png';
  /** Links a chunk (default 32): a loader reads a chunk's files together, so this bounds a read's memory. */
  chunkSamples?: number;
  created: string;
  ref?: string;
  /** Share of each class's files put in the `test` split (default 0): chosen by a hash of their links, at least one left in train. */
  testFraction?: number;
}

/** Integer labels up to this stay class ids (class names their decimal strings); a larger one makes every label a name. */
const MAX_INTEGER_CLASS = 65_535;

/** Samples a linked chunk holds by default: about a normal 1 MiB chunk's worth of photos. */
export const DEFAULT_LINKED_CHUNK_SAMPLES = 32;

/**
 * Builds a dataset whose `image` tensor links files where they already are (FORMAT.md, "Linked
 * tensors"): only the links are stored, and a reader fetches, caches and decodes each file as it
 * would a native sample. With classes, `label` holds each file's. No file is read to build it.
 */
export async function buildLinked(sink: Sink, entries: LinkedEntry[], options: BuildLinkedOptions): Promise<Committed> {
  if (entries.length === 0) throw new EdgelakeError('invalid-input', 'the list names no file');
  await sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload
  const labelled = entries.filter((e) => e.className !== undefined).length;
  // No -1 "unlabelled" here: FORMAT.md allows only labels 0..n-1 in a tensor with classNames.
  if (labelled !== 0 && labelled !== entries.length) {
    const missing = entries.find((e) => e.className === undefined)!;
    throw new EdgelakeError('invalid-input', `${JSON.stringify(missing.link)} has no class, but ${labelled} other files have one: give every file a class, or none`);
  }
  const format = options.format ?? linkedFormat(entries.map((e) => e.link));
  const chunkSamples = options.chunkSamples ?? DEFAULT_LINKED_CHUNK_SAMPLES;
  const image = new TensorWriter(sink, 'image', {
    htype: 'image', dtype: 'uint8', shape: [null, null, 3], layout: 'HWC', sampleCompression: format, chunkCompression: 'deflate', linked: true,
  }, Infinity, chunkSamples);
  const classNames = classNamesOf(entries);
  const label = labelled ? new TensorWriter(sink, 'label', { htype: 'class_label', dtype: 'int32', shape: [], classNames, sampleCompression: 'none', chunkCompression: 'deflate' }, 1 << 20) : undefined;
  const { ordered, splits } = await splitAndOrder(entries, options.testFraction ?? 0);
  const text = new TextEncoder();
  for (const e of ordered) {
    if (e.link.trim() !== e.link || e.link === '') throw new EdgelakeError('invalid-input', `link ${JSON.stringify(e.link)} is empty or has spaces around it`);
    await image.append(text.encode(e.link));
    if (label) await label.append(new Uint8Array(Int32Array.of(classNames.indexOf(e.className!)).buffer));
  }
  const tensors = { image: await image.finish(), ...(label && { label: await label.finish() }) };
  const name = options.name ?? 'linked';
  return commitVersion(sink, { length: entries.length, splits, tensors }, {
    name, ref: options.ref, message: `link ${entries.length} files`, created: options.created,
  });
}

/**
 * Class names in label order: integer labels (0, 1, ... 14) are their own class ids, named by their
 * decimal strings in numeric order (as HF ClassLabel keeps them), so `label == 2` finds the files labelled 2; other names sorted.
 */
function classNamesOf(entries: LinkedEntry[]): string[] {
  const names = [...new Set(entries.flatMap((e) => (e.className === undefined ? [] : [e.className])))];
  const ids = names.every((n) => /^(0|[1-9]\d{0,4})$/.test(n)) ? names.map(Number) : [];
  if (names.length && ids.length === names.length && Math.max(...ids) <= MAX_INTEGER_CLASS) return Array.from({ length: Math.max(...ids) + 1 }, (_, i) => String(i));
  return names.sort();
}

/**
 * Samples grouped by split, train first, then the others as they first appear, each in list order.
 * With testFraction, per class the round(n * testFraction) files whose links hash lowest are test, at
 * most n - 1 (a class keeps a training file); unlabelled files stay in train, the pool to label.
 */
async function splitAndOrder(entries: LinkedEntry[], testFraction: number): Promise<{ ordered: LinkedEntry[]; splits: Manifest['splits'] }> {
  if (!(testFraction >= 0 && testFraction < 1)) throw new EdgelakeError('invalid-input', `test fraction must be in [0, 1), got ${testFraction}`);
  if (testFraction > 0 && entries.some((e) => e.split !== undefined)) throw new EdgelakeError('invalid-input', 'the list names each file\'s split: a test fraction would override it, give one or the other');
  const splitOf = entries.map((e) => e.split ?? 'train');
  if (testFraction > 0) {
    const classes = new Map<string, { i: number; hash: string }[]>();
    for (const [i, e] of entries.entries()) {
      const hash = await sha256Hex(new TextEncoder().encode(e.link));
      const key = e.className ?? '';
      classes.get(key)?.push({ i, hash }) ?? classes.set(key, [{ i, hash }]);
    }
    for (const members of classes.values()) {
      members.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.i - b.i));
      const tests = Math.min(Math.round(members.length * testFraction), members.length - 1);
      for (const { i } of members.slice(0, tests)) splitOf[i] = 'test';
    }
  }
  const names = [...new Set(['train', ...splitOf])].filter((n) => splitOf.includes(n));
  const ordered: LinkedEntry[] = [];
  const splits: Manifest['splits'] = dict(); // a split column's value may be __proto__
  for (const n of names) {
    const start = ordered.length;
    entries.forEach((e, i) => splitOf[i] === n && ordered.push(e));
    splits[n] = [[start, ordered.length]];
  }
  return { ordered, splits };
}

/**
 * The format most links' extensions name (readers decode each file by its signature, so a few of
 * the other kind are read as what they are); refused when one names neither.
 */
export function linkedFormat(links: string[]): SampleCompression & ('jpeg' | 'png') {
  const kind = (link: string): 'jpeg' | 'png' => {
    // A URL or relative link ends its path at ? or #; an absolute path has neither query nor fragment (FORMAT.md).
    const path = link.startsWith('/') ? link : link.split(/[?#]/)[0];
    if (/\.jpe?g$/i.test(path)) return 'jpeg';
    if (/\.png$/i.test(path)) return 'png';
    throw new EdgelakeError('invalid-input', `${JSON.stringify(link)} ends in neither .jpg, .jpeg nor .png: name the files' format (--format jpeg|png)`);
  };
  return mostImageType(links.map(kind));
}
