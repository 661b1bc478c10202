import { EdgelakeError } from '../errors.js';
import { decodeChunk, type DecodedChunk } from '../format/chunk.js';
import { sha256Hex } from '../format/hash.js';
import { withDefaults, type ReadLimits } from '../format/limits.js';
import { chunkPath, REFS_PATH, versionPath, type Manifest, type Refs } from '../format/manifest.js';
import { NAME, parseJson, validateManifest, validateRefs } from '../format/validate.js';
import type { Source } from '../source/source.js';

/** One version of a dataset, opened and verified: its refs, id and manifest. */
export interface OpenedVersion {
  source: Source;
  refs: Refs;
  /** The ref that was opened, or undefined when a version id was asked for directly. */
  ref: string | undefined;
  versionId: string;
  manifest: Manifest;
  limits: ReadLimits;
}

/**
 * Reads edgelake.json and the manifest that `ref` (default: head) names, verifying the
 * manifest's SHA-256 against its name. `ref` may also be a 64-hex version id.
 */
export async function openVersion(source: Source, options: { ref?: string; limits?: Partial<ReadLimits> } = {}): Promise<OpenedVersion> {
  const limits = withDefaults(options.limits);
  const where = `${source.location}/${REFS_PATH}`;
  const refs = validateRefs(parseJson(await source.read(REFS_PATH, { maxBytes: limits.maxManifestBytes }), where, limits), where);
  const asked = options.ref ?? refs.head;
  let versionId: string;
  if (asked in refs.refs) versionId = refs.refs[asked];
  else if (/^[0-9a-f]{64}$/.test(asked)) versionId = asked;
  else if (!NAME.test(asked)) throw new EdgelakeError('invalid-input', `dataset ${refs.name}: "${asked}" is not a valid ref name`);
  else throw new EdgelakeError('not-found', `dataset ${refs.name}: no ref "${asked}" (refs: ${Object.keys(refs.refs).join(', ')})`);

  const file = versionPath(versionId);
  const bytes = await source.read(file, { maxBytes: limits.maxManifestBytes });
  if ((await sha256Hex(bytes)) !== versionId) {
    throw new EdgelakeError('integrity', `dataset ${refs.name}: ${source.location}/${file} does not match its SHA-256 name`);
  }
  const manifest = validateManifest(parseJson(bytes, `${source.location}/${file}`, limits), `${source.location}/${file}`, limits);
  return { source, refs, ref: asked in refs.refs ? asked : undefined, versionId, manifest, limits };
}

/** Fetches and verifies chunk `index` of `tensor` (every byte checked; see decodeChunk). */
export async function readChunk(v: OpenedVersion, tensor: string, index: number): Promise<DecodedChunk> {
  const meta = v.manifest.tensors[tensor];
  if (!meta) throw new EdgelakeError('invalid-input', `dataset ${v.refs.name}: no tensor "${tensor}"`);
  const ref = meta.chunks[index];
  if (!ref) throw new EdgelakeError('invalid-input', `dataset ${v.refs.name}: tensor ${tensor} has no chunk ${index}`);
  const where = { dataset: v.refs.name, version: v.versionId, tensor, chunk: ref.hash };
  const stored = await v.source.read(chunkPath(ref.hash), { maxBytes: ref.bytes });
  return decodeChunk(stored, ref, meta, v.limits, where);
}
