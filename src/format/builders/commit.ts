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
  await sink.write(REFS_PATH, new TextEncoder().encode(JSON.stringify(refs, null, 2) + '\n'));
  return { versionId, manifest, changed: true };
}

function sameContent(a: Manifest, b: Manifest): boolean {
  const strip = ({ parent: _p, ...rest }: Manifest) => JSON.stringify(rest);
  return strip(a) === strip(b);
}
