import { EdgelakeError } from '../../errors.js';
import { sha256Hex } from '../hash.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { FORMAT_VERSION, REFS_PATH, versionPath, type Manifest, type Refs } from '../manifest.js';
import type { Sink } from '../sink.js';
import { NAME, parseJson, validateManifest, validateRefs } from '../validate.js';

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
 * Writes a version manifest and moves a ref to it. The parent is the version the ref pointed at;
 * committing the same content again is a no-op, so rebuilding gives the same version id.
 */
export async function commitVersion(
  sink: Sink,
  content: Pick<Manifest, 'length' | 'splits' | 'tensors'>,
  options: CommitOptions,
): Promise<Committed> {
  const ref = options.ref ?? 'main';
  if (!NAME.test(ref)) throw new EdgelakeError('invalid-input', `ref name "${ref}" must match ${NAME.source}`);
  const refsBytes = await sink.read(REFS_PATH);
  const refs: Refs = refsBytes
    ? validateRefs(parseJson(refsBytes, REFS_PATH, DEFAULT_LIMITS))
    : { format: FORMAT_VERSION, name: options.name, head: ref, refs: {} };
  const parent = refs.refs[ref] ?? null;

  const manifest: Manifest = { format: FORMAT_VERSION, parent, message: options.message, created: options.created, ...content };
  if (parent !== null) {
    const previous = await sink.read(versionPath(parent));
    if (previous && sameContent(JSON.parse(new TextDecoder().decode(previous)) as Manifest, manifest)) {
      return { versionId: parent, manifest: JSON.parse(new TextDecoder().decode(previous)) as Manifest, changed: false };
    }
  }
  const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 1) + '\n');
  validateManifest(JSON.parse(new TextDecoder().decode(bytes)), 'the new manifest', DEFAULT_LIMITS);
  const versionId = await sha256Hex(bytes);
  await sink.write(versionPath(versionId), bytes);
  refs.refs[ref] = versionId;
  await sink.write(REFS_PATH, refsFileBytes(refs));
  return { versionId, manifest, changed: true };
}

/**
 * Commits `content` as the child of version `parent` and moves `ref` to it only if the ref still
 * points at `parent` (a compare-and-swap of edgelake.json): two writers who read the same version
 * cannot both move the ref, and the later one gets a 'conflict' error naming the version that won
 * (its version file stays, unreferenced: immutable, content-addressed, harmless).
 */
export async function commitChild(
  sink: Sink,
  parent: string,
  content: Pick<Manifest, 'length' | 'splits' | 'tensors'>,
  options: { ref: string; message: string; created: string },
): Promise<Committed> {
  const { ref } = options;
  if (!sink.swap) throw new EdgelakeError('invalid-input', 'this root cannot move refs safely (its sink has no compare-and-swap); commit to a folder');
  if (!NAME.test(ref)) throw new EdgelakeError('invalid-input', `ref name "${ref}" must match ${NAME.source}`);
  const manifest: Manifest = { format: FORMAT_VERSION, parent, message: options.message, created: options.created, ...content };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest, null, 1) + '\n');
  validateManifest(JSON.parse(new TextDecoder().decode(bytes)), 'the new manifest', DEFAULT_LIMITS);
  const versionId = await sha256Hex(bytes);
  // Another ref may move meanwhile (edgelake.json changes, ours does not): then read it again and retry.
  for (let written = false; ; written = true) {
    const before = await sink.read(REFS_PATH);
    if (!before) throw new EdgelakeError('not-found', `${REFS_PATH} does not exist: the root holds no dataset to commit onto`);
    const refs = validateRefs(parseJson(before, REFS_PATH, DEFAULT_LIMITS));
    if (refs.tags && Object.hasOwn(refs.tags, ref)) throw new EdgelakeError('invalid-input', `${ref} is a tag, and tags never move: commit onto a ref`);
    if (refs.refs[ref] !== parent) {
      throw new EdgelakeError('conflict', `ref ${ref} moved on since version ${parent} was read (it is now ${refs.refs[ref] ?? 'gone'}); open the dataset again and commit onto that`);
    }
    if (!written) await sink.write(versionPath(versionId), bytes);
    const next = { ...refs, refs: { ...refs.refs, [ref]: versionId } };
    if (await sink.swap(REFS_PATH, before, refsFileBytes(next))) break;
  }
  return { versionId, manifest, changed: true };
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
  const bytes = refsFileBytes(next);
  validateRefs(JSON.parse(new TextDecoder().decode(bytes)), 'the new edgelake.json');
  if (!(await sink.swap(REFS_PATH, before, bytes))) {
    throw new EdgelakeError('conflict', `${REFS_PATH} changed since it was read (another writer moved a ref); read it again and retry`);
  }
  return next;
}

const refsFileBytes = (refs: Refs): Uint8Array => new TextEncoder().encode(JSON.stringify(refs, null, 2) + '\n');

function sameContent(a: Manifest, b: Manifest): boolean {
  const strip = ({ parent: _p, ...rest }: Manifest) => JSON.stringify(rest);
  return strip(a) === strip(b);
}
