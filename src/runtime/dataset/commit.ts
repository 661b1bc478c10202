import { EdgelakeError } from '../../errors.js';
import { storedHashes, writeChunk } from '../../format/builders/chunk-writer.js';
import { commitChild, type Committed } from '../../format/builders/commit.js';
import { decodeChunk } from '../../format/chunk.js';
import { chunkPath, REFS_PATH, withChunks, type ChunkRef, type Manifest, type Refs, type TensorMeta } from '../../format/manifest.js';
import type { Sink } from '../../format/sink.js';
import { DEFAULT_LIMITS } from '../../format/limits.js';
import { NAME, parseJson, validateRefs } from '../../format/validate.js';
import { chunkStarts, locateSample } from './chunk-index.js';
import type { ReadLimits } from '../../format/limits.js';
import type { Source } from '../../source/source.js';
import { samplePayloads, type SampleValues } from './sample-values.js';

export type { SampleValues } from './sample-values.js';

export interface CommitDatasetOptions {
  /** New values for some samples: per tensor, the ids and their values (see SampleValues). */
  update?: Record<string, { ids: ArrayLike<number>; values: SampleValues }>;
  /** `length` new samples after the last; every tensor must be given. `split` names the split they join (default: none). */
  append?: { length: number; tensors: Record<string, SampleValues>; split?: string };
  message?: string;
  /** The ref to move (default: the ref the dataset was opened at, else its head); it must still name the version the dataset read. */
  ref?: string | undefined;
  /** RFC 3339 time of the version (default: now). */
  created?: string;
}

/** What a commit reads of the version it starts from: a Dataset (structural, so Dataset.commit imports no cycle). */
export interface CommitBase {
  readonly name: string;
  readonly version: string;
  readonly manifest: Manifest;
  readonly source: Source;
  readonly limits: ReadLimits;
  /** The ref or tag the version was opened at. */
  readonly ref?: string | undefined;
}

/** Samples per appended chunk when the tensor has no chunk to take the size from. */
const NEW_CHUNK_SAMPLES = 4096;

/**
 * Writes a child of the version `dataset` read, with `update`'s samples rewritten and `append`'s
 * samples added. Chunks keep the parent's sample boundaries: only a chunk holding an updated
 * sample is encoded again (with the tensor's compression) and written; every other chunk is the
 * parent's, shared by hash. Appended samples go into new chunks of the size of the tensor's first
 * chunk. Every input is checked before anything is written; the ref moves by compare-and-swap
 * ('conflict' if another writer moved it first).
 */
export async function commitDataset(dataset: CommitBase, sink: Sink, options: CommitDatasetOptions = {}): Promise<Committed> {
  const { manifest } = dataset;
  const updates = Object.entries(options.update ?? {}).map(([name, u]) => checkedUpdate(dataset, name, u.ids, u.values));
  const appended = options.append ? checkedAppend(dataset, options.append) : undefined;
  const ref = await refToMove(dataset, sink, options.ref);
  await sink.checkSwap?.(); // a root whose ref cannot move safely is refused before any upload

  const stored = storedHashes(manifest.tensors);
  const tensors: Manifest['tensors'] = { ...manifest.tensors };
  for (const { name, byChunk } of updates) tensors[name] = withChunks(tensors[name], await rewriteChunks(dataset, sink, name, byChunk, stored));
  let { length, splits } = manifest;
  if (appended) {
    for (const [name, payloads] of appended.payloads) tensors[name] = withChunks(tensors[name], [...tensors[name].chunks, ...(await appendChunks(sink, tensors[name], payloads, stored))]);
    splits = appended.split === undefined ? splits : { ...splits, [appended.split]: [...(splits[appended.split] ?? []), [length, length + appended.length]] };
    length += appended.length;
  }
  const changes = [...updates.map((u) => `${u.count} updated in ${u.name}`), ...(appended ? [`${appended.length} appended`] : [])];
  return commitChild(sink, dataset.version, { length, splits, tensors }, {
    ref, message: options.message ?? (changes.join(', ') || 'no change'), created: options.created ?? new Date().toISOString(),
  });
}

/** An update as stored payloads grouped by chunk: chunk -> (index in chunk -> payload). */
function checkedUpdate(dataset: CommitBase, name: string, ids: ArrayLike<number>, values: SampleValues) {
  const t = tensorOf(dataset, name);
  const payloads = samplePayloads(dataset.name, name, t, values, ids.length);
  const starts = chunkStarts(t);
  const byChunk = new Map<number, Map<number, Uint8Array>>();
  const seen = new Set<number>();
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (!(Number.isInteger(id) && id >= 0 && id < dataset.manifest.length)) throw new EdgelakeError('invalid-input', `commit: update of ${name}: sample ${id} is not in dataset ${dataset.name} (${dataset.manifest.length} samples)`);
    if (seen.has(id)) throw new EdgelakeError('invalid-input', `commit: update of ${name} names sample ${id} twice`);
    seen.add(id);
    const { chunk, index } = locateSample(starts, id);
    if (!byChunk.has(chunk)) byChunk.set(chunk, new Map());
    byChunk.get(chunk)!.set(index, payloads[k]);
  }
  return { name, byChunk, count: ids.length };
}

function checkedAppend(dataset: CommitBase, append: NonNullable<CommitDatasetOptions['append']>) {
  const { length, split } = append;
  if (!(Number.isInteger(length) && length > 0)) throw new EdgelakeError('invalid-input', `commit: append length must be an integer > 0, not ${length}`);
  if (split !== undefined && !NAME.test(split)) throw new EdgelakeError('invalid-input', `commit: split name "${split}" must match ${NAME.source}`);
  for (const name of Object.keys(append.tensors)) tensorOf(dataset, name); // an unknown tensor is named
  const missing = Object.keys(dataset.manifest.tensors).filter((name) => !Object.hasOwn(append.tensors, name));
  if (missing.length) throw new EdgelakeError('invalid-input', `commit: append to dataset ${dataset.name} gives no values for tensor ${missing.join(', ')} (every tensor needs its new samples)`);
  const payloads = Object.entries(append.tensors).map(([name, values]) => [name, samplePayloads(dataset.name, name, tensorOf(dataset, name), values, length)] as const);
  return { length, split, payloads };
}

/** The tensor's chunks with the updated ones encoded again; the others are the parent's refs, unread. */
async function rewriteChunks(dataset: CommitBase, sink: Sink, name: string, byChunk: Map<number, Map<number, Uint8Array>>, stored: Set<string>): Promise<ChunkRef[]> {
  const t = tensorOf(dataset, name);
  return Promise.all(t.chunks.map(async (ref, chunk) => {
    const replaced = byChunk.get(chunk);
    if (!replaced) return ref;
    const bytes = await dataset.source.read(chunkPath(ref.hash), { maxBytes: ref.bytes });
    const where = { dataset: dataset.name, version: dataset.version, tensor: name, chunk: String(chunk) };
    const parent = await decodeChunk(bytes, ref, t, dataset.limits, where, { verified: true }); // the chain verified it
    const payloads = Array.from({ length: ref.samples }, (_, i) => replaced.get(i) ?? parent.payload(i));
    return writeChunk(sink, payloads, t.chunkCompression, stored);
  }));
}

async function appendChunks(sink: Sink, t: TensorMeta, payloads: Uint8Array[], stored: Set<string>): Promise<ChunkRef[]> {
  const per = t.chunks[0]?.samples ?? NEW_CHUNK_SAMPLES;
  const chunks: ChunkRef[] = [];
  for (let at = 0; at < payloads.length; at += per) chunks.push(await writeChunk(sink, payloads.slice(at, at + per), t.chunkCompression, stored));
  return chunks;
}

function tensorOf(dataset: CommitBase, name: string): TensorMeta {
  if (!Object.hasOwn(dataset.manifest.tensors, name)) throw new EdgelakeError('invalid-input', `commit: dataset ${dataset.name} has no tensor "${name}" (tensors: ${Object.keys(dataset.manifest.tensors).join(', ')})`);
  return dataset.manifest.tensors[name];
}

/** What a commit moves unasked: as git commits onto the branch checked out, the ref the dataset was opened at; else (a tag, a version id) the head. */
export function defaultRef(refs: Refs, dataset: Pick<CommitBase, 'ref'>): string {
  return dataset.ref !== undefined && Object.hasOwn(refs.refs, dataset.ref) ? dataset.ref : refs.head;
}

/** The ref the commit moves, refused before anything is written if it is a tag or has moved on already. */
async function refToMove(dataset: CommitBase, sink: Sink, asked: string | undefined): Promise<string> {
  const bytes = await sink.read(REFS_PATH);
  if (!bytes) throw new EdgelakeError('not-found', `${REFS_PATH} does not exist: the root holds no dataset to commit onto`);
  const refs = validateRefs(parseJson(bytes, REFS_PATH, DEFAULT_LIMITS));
  const ref = asked ?? defaultRef(refs, dataset);
  if (refs.tags && Object.hasOwn(refs.tags, ref)) throw new EdgelakeError('invalid-input', `${ref} is a tag, and tags never move: commit onto a ref`);
  if (!Object.hasOwn(refs.refs, ref)) throw new EdgelakeError('invalid-input', `dataset ${refs.name} has no ref "${ref}" to move (make it first: createBranch, or edgelake branch)`);
  if (refs.refs[ref] !== dataset.version) {
    throw new EdgelakeError('conflict', `ref ${ref} moved on since version ${dataset.version} was read (it is now ${refs.refs[ref]}); open the dataset again and commit onto that`);
  }
  return ref;
}
