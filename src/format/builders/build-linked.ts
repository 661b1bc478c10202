import { EdgelakeError } from '../../errors.js';
import type { SampleCompression } from '../manifest.js';
import type { Sink } from '../sink.js';
import { commitVersion, type Committed } from './commit.js';
import { TensorWriter } from './tensor-writer.js';

/** One file of a linked dataset: where it is, and its class when the list gives one. */
export interface LinkedEntry {
  /** An http(s)://, s3:// or file:// URL, a local path, or a path relative to the dataset's root. */
  link: string;
  className?: string;
}

export interface BuildLinkedOptions {
  name?: string;
  /** The files' format; default: from each link's extension (.jpg/.jpeg, .png), which must agree. */
  format?: 'jpeg' | 'png';
  /** Links a chunk (default 32): a loader reads a chunk's files together, so this bounds a read's memory. */
  chunkSamples?: number;
  created: string;
  ref?: string;
}

/** Samples a linked chunk holds by default: about a normal 1 MiB chunk's worth of photos. */
export const DEFAULT_LINKED_CHUNK_SAMPLES = 32;

/**
 * Builds a dataset whose `image` tensor links files where they already are (FORMAT.md, "Linked
 * tensors"): only the links are stored, and a reader fetches, caches and decodes each file as it
 * would a native sample. With classes, `label` holds each file's. No file is read to build it.
 */
export async function buildLinked(sink: Sink, entries: LinkedEntry[], options: BuildLinkedOptions): Promise<Committed> {
  if (entries.length === 0) throw new EdgelakeError('invalid-input', 'the list names no file');
  const labelled = entries.filter((e) => e.className !== undefined).length;
  if (labelled !== 0 && labelled !== entries.length) {
    const missing = entries.find((e) => e.className === undefined)!;
    throw new EdgelakeError('invalid-input', `${missing.link} has no class, but ${labelled} other files have one: give every file a class, or none`);
  }
  const format = options.format ?? linkedFormat(entries.map((e) => e.link));
  const chunkSamples = options.chunkSamples ?? DEFAULT_LINKED_CHUNK_SAMPLES;
  const image = new TensorWriter(sink, 'image', {
    htype: 'image', dtype: 'uint8', shape: [null, null, 3], layout: 'HWC', sampleCompression: format, chunkCompression: 'deflate', linked: true,
  }, Infinity, chunkSamples);
  const classNames = labelled ? [...new Set(entries.map((e) => e.className!))].sort() : [];
  const label = labelled ? new TensorWriter(sink, 'label', { htype: 'class_label', dtype: 'int32', shape: [], classNames, sampleCompression: 'none', chunkCompression: 'deflate' }, 1 << 20) : undefined;
  const text = new TextEncoder();
  for (const e of entries) {
    if (e.link.trim() !== e.link || e.link === '') throw new EdgelakeError('invalid-input', `link ${JSON.stringify(e.link)} is empty or has spaces around it`);
    await image.append(text.encode(e.link));
    if (label) await label.append(new Uint8Array(new Int32Array([classNames.indexOf(e.className!)]).buffer));
  }
  const tensors = { image: await image.finish(), ...(label && { label: await label.finish() }) };
  const name = options.name ?? 'linked';
  return commitVersion(sink, { length: entries.length, splits: { train: [[0, entries.length]] }, tensors }, {
    name, ref: options.ref, message: `link ${entries.length} files`, created: options.created,
  });
}

/** The format every link's extension names; refused when one names none or another. */
export function linkedFormat(links: string[]): SampleCompression & ('jpeg' | 'png') {
  const of = (link: string) => {
    // A URL or relative link ends its path at ? or #; an absolute path has neither query nor fragment (FORMAT.md).
    const path = link.startsWith('/') ? link : link.split(/[?#]/)[0];
    return /\.jpe?g$/i.test(path) ? 'jpeg' : /\.png$/i.test(path) ? 'png' : undefined;
  };
  const first = of(links[0]);
  for (const link of links) {
    const f = of(link);
    if (!f) throw new EdgelakeError('invalid-input', `${link} ends in neither .jpg, .jpeg nor .png: name the files' format (--format jpeg|png)`);
    if (f !== first) throw new EdgelakeError('invalid-input', `${link} is ${f} but ${links[0]} is ${first}: a tensor's files are all JPEG or all PNG`);
  }
  return first!;
}
