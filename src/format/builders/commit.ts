import { EdgelakeError } from '../../errors.js';
import { sha256Hex } from '../hash.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { FORMAT_VERSION, REFS_PATH, versionPath, type Manifest, type Refs } from '../manifest.js';
import type { Sink } from '../sink.js';
import { dict, NAME, parseJson, validateManifest, validateRefs } from '../validate.js';

export interface CommitOptions {
  /** Dataset name, written to edgelake.json when it is new. */
  name: string;
  /** The ref to point at the new version; it becomes head when the dataset is new. */
  ref?: string;
  message: string;
  /** ISO 8601; pass a time derived from the inputs so a rebuild gives the same version id. */
  created: string;
}

export interface Committed {
  versionId: string;
  manifest: Manifest;
  /** False when the ref already pointed at a version with the same content. */
  changed: boolean;
}

/**
 * Writes a version manifest and moves a ref to it by compare-and-swap ('conflict' if another writer
 * moved that ref meanwhile). The parent is the version the ref pointed at; committing the same
 * content again is a no-op, so rebuilding gives the same version id.
 */
export async function commitVersion(
  sink: Sink,
  content: Pick<Manifest, 'length' | 'splits' | 'tensors'>,
  options: CommitOptions,
): Promise<Committed> {
  const ref = options.ref ?? 'main';
  checkRefName(ref);
  const refsBytes = await sink.read(REFS_PATH);
  const refs = refsBytes && validateRefs(parseJson(refsBytes, REFS_PATH, DEFAULT_LIMITS));
  const parent = refs && Object.hasOwn(refs.refs, ref) ? refs.refs[ref] : null;

  const manifest: Manifest = { format: FORMAT_VERSION, parent, message: options.message, created: options.created, ...content };
  if (parent !== null) {
    const previous = await sink.read(versionPath(parent));
    if (previous && sameContent(JSON.parse(new TextDecoder().decode(previous)) as Manifest, manifest)) {
      return { versionId: parent, manifest: JSON.parse(new TextDecoder().decode(previous)) as Manifest, changed: false };
    }
  }
  const version = await versionFile(manifest);
  const fresh: Refs = { format: FORMAT_VERSION, name: options.name, head: ref, refs: dict() };
  await moveRef(sink, ref, parent, version, fresh);
  return { versionId: version.id, manifest, changed: true };
}

/**
 * Commits `content` as the child of version `parent` and moves `ref` to it only if the ref still
 * points at `parent` (a compare-and-swap of edgelake.json): two writers who read the same version
 * cannot both move the ref, and the later one gets a 'conflict' error naming the version that won
 * (its version file stays, unreferenced: immutable, content-addressed, harmless). With `newRef`,
 * the ref must not exist yet, and is made at the new version.
 */
export async function commitChild(
  sink: Sink,
  parent: string,
  content: Pick<Manifest, 'length' | 'splits' | 'tensors'>,
  options: { ref: string; message: string; created: string; newRef?: boolean },
): Promise<Committed> {
  const { ref } = options;
  if (!sink.swap) throw new EdgelakeError('invalid-input', 'this root cannot move refs safely (its sink has no compare-and-swap); commit to a folder');
  checkRefName(ref);
  const manifest: Manifest = { format: FORMAT_VERSION, parent, message: options.message, created: options.created, ...content };
  const version = await versionFile(manifest);
  await moveRef(sink, ref, options.newRef ? null : parent, version);
  return { versionId: version.id, manifest, changed: true };
}

/**
 * Points `ref` at a new version by compare-and-swap of edgelake.json, only while the ref names
 * `from` (null: the ref must not exist yet). The version file is written once the refs allow the
 * move, before the swap. `fresh` is a new dataset's refs, for a root that may hold none yet.
 */
async function moveRef(sink: Sink, ref: string, from: string | null, version: { id: string; bytes: Uint8Array }, fresh?: Refs): Promise<void> {
  // A sink without compare-and-swap (a plain upload target) is written over: safe only with one writer.
  const swap = sink.swap?.bind(sink) ?? (async (path: string, _: Uint8Array | undefined, next: Uint8Array) => (await sink.write(path, next), true));
  // Another ref may move meanwhile (edgelake.json changes, ours does not): then read it again and retry.
  for (let written = false; ; written = true) {
    const before = await sink.read(REFS_PATH);
    if (!before && !fresh) throw new EdgelakeError('not-found', `${REFS_PATH} does not exist: the root holds no dataset to commit onto`);
    const refs = before ? validateRefs(parseJson(before, REFS_PATH, DEFAULT_LIMITS)) : fresh!;
    if (refs.tags && Object.hasOwn(refs.tags, ref)) throw new EdgelakeError('invalid-input', `dataset ${refs.name}: ${ref} is a tag, and tags never move: commit onto a ref`);
    const now = Object.hasOwn(refs.refs, ref) ? refs.refs[ref] : null;
    if (now !== from) {
      throw new EdgelakeError('conflict', from === null
        ? `ref ${ref} was made by another writer meanwhile (it names ${now}); commit onto it, or under another name`
        : `ref ${ref} moved on since version ${from} was read (it is now ${now ?? 'gone'}); open the dataset again and commit onto that`);
    }
    if (!written) await sink.write(versionPath(version.id), version.bytes);
    if (await swap(REFS_PATH, before, checkedRefsBytes({ ...refs, refs: { ...refs.refs, [ref]: version.id } }))) return;
  }
}

/**
 * Rewrites edgelake.json by one compare-and-swap: `edit` gets the refs as read and returns them
 * changed (or throws). If another writer replaced the file meanwhile, a 'conflict' error and
 * nothing moves: the caller's checks were made against refs that are no longer there.
 */
export async function swapRefs(sink: Sink, edit: (refs: Refs) => Refs | Promise<Refs>): Promise<Refs> {
  if (!sink.swap) throw new EdgelakeError('invalid-input', 'this root cannot move refs safely (its sink has no compare-and-swap)');
  const before = await sink.read(REFS_PATH);
  if (!before) throw new EdgelakeError('not-found', `${REFS_PATH} does not exist: the root holds no dataset`);
  const next = await edit(validateRefs(parseJson(before, REFS_PATH, DEFAULT_LIMITS)));
  if (!(await sink.swap(REFS_PATH, before, checkedRefsBytes(next)))) {
    throw new EdgelakeError('conflict', `${REFS_PATH} changed since it was read (another writer moved a ref); read it again and retry`);
  }
  return next;
}

/** The bytes of edgelake.json, checked as a reader will check them before any writer replaces the file. */
function checkedRefsBytes(refs: Refs): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(refs, null, 2) + '\n');
  validateRefs(JSON.parse(new TextDecoder().decode(bytes)), 'the new edgelake.json');
  return bytes;
}

/** A manifest's file bytes and id, checked as a reader will check them. */
async function versionFile(manifest: Manifest): Promise<{ id: string; bytes: Uint8Array }> {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 1) + '\n');
  validateManifest(JSON.parse(new TextDecoder().decode(bytes)), 'the new manifest', DEFAULT_LIMITS);
  return { id: await sha256Hex(bytes), bytes };
}

function checkRefName(ref: string): void {
  if (!NAME.test(ref)) throw new EdgelakeError('invalid-input', `ref name "${ref}" must match ${NAME.source}`);
}

function sameContent(a: Manifest, b: Manifest): boolean {
  const strip = ({ parent: _p, ...rest }: Manifest) => JSON.stringify(rest);
  return strip(a) === strip(b);
}
