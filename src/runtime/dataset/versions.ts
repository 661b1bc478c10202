import { EdgelakeError, isEdgelakeError } from '../../errors.js';
import { decodeChunk, type DecodedChunk } from '../../format/chunk.js';
import { sha256Hex } from '../../format/hash.js';
import { describeWhere, withDefaults, type ReadLimits, type Where } from '../../format/limits.js';
import { chunkPath, REFS_PATH, versionPath, type Manifest, type Refs } from '../../format/manifest.js';
import { NAME, parseJson, validateManifest, validateRefs } from '../../format/validate.js';
import type { Source } from '../../source/source.js';

/** One version of a dataset, opened and verified: its refs, id and manifest. */
export interface OpenedVersion {
  source: Source;
  refs: Refs;
  /** The ref or tag that was opened, or undefined when a version id was asked for directly. */
  ref: string | undefined;
  versionId: string;
  manifest: Manifest;
  limits: ReadLimits;
}

/**
 * Reads edgelake.json and the manifest that `ref` (default: head) names, verifying the
 * manifest's SHA-256 against its name. `ref` may also be a version id, or (as git takes them)
 * its first 4 or more hex digits when they name one version reachable from a ref or tag.
 */
export async function openVersion(source: Source, options: { ref?: string; limits?: Partial<ReadLimits> } = {}): Promise<OpenedVersion> {
  const limits = withDefaults(options.limits);
  const where = `${source.location}/${REFS_PATH}`;
  const refsBytes = await source.read(REFS_PATH, { maxBytes: limits.maxManifestBytes }).catch((e: unknown) => {
    if (!isEdgelakeError(e, 'not-found')) throw e;
    // The usual cause is a path that is not a dataset's root: say what one looks like.
    throw new EdgelakeError('not-found', `no dataset at ${source.location}: it has no ${REFS_PATH} (a dataset's root folder or URL prefix holds edgelake.json; WebDataset shards and Parquet files open by their file pattern, e.g. train-{000..099}.tar)`, { cause: e });
  });
  const refs = validateRefs(parseJson(refsBytes, where, limits), where);
  const asked = options.ref ?? refs.head;
  const { versionId, kind } = await resolveVersion(refs, asked, (id, context) => readManifest(source, id, limits, context));

  const named = kind === 'version' ? `version ${versionId}` : `${kind} "${asked}" names version ${versionId}`;
  const manifest = await readManifest(source, versionId, limits, `dataset ${refs.name}: ${named}`);
  return { source, refs, ref: kind === 'version' ? undefined : asked, versionId, manifest, limits };
}

/** Reads, verifies (its SHA-256 against its name) and validates one version's manifest. */
export async function readManifest(source: Source, versionId: string, limits: ReadLimits, context: string): Promise<Manifest> {
  const file = `${source.location}/${versionPath(versionId)}`;
  const bytes = await source.read(versionPath(versionId), { maxBytes: limits.maxManifestBytes }).catch((e: unknown) => {
    throw explain(e, context);
  });
  if ((await sha256Hex(bytes)) !== versionId) throw new EdgelakeError('integrity', `${context}: ${file} does not match its SHA-256 name`);
  return validateManifest(parseJson(bytes, file, limits), file, limits);
}

/**
 * The version a name stands for (FORMAT.md): a ref, else a tag, else a 64-hex version id itself.
 * hasOwn: "constructor" is no ref.
 */
export function resolveName(refs: Refs, name: string): { versionId: string; kind: 'ref' | 'tag' | 'version' } {
  if (Object.hasOwn(refs.refs, name)) return { versionId: refs.refs[name], kind: 'ref' };
  if (refs.tags && Object.hasOwn(refs.tags, name)) return { versionId: refs.tags[name], kind: 'tag' };
  if (/^[0-9a-f]{64}$/.test(name)) return { versionId: name, kind: 'version' };
  if (!NAME.test(name)) throw new EdgelakeError('invalid-input', `dataset ${refs.name}: "${name}" is not a valid ref name`);
  const tags = Object.keys(refs.tags ?? {});
  throw new EdgelakeError('not-found', `dataset ${refs.name}: no ref "${name}" (refs: ${Object.keys(refs.refs).join(', ')}${tags.length ? `; tags: ${tags.join(', ')}` : ''})`);
}

const SHORT_ID = /^[0-9a-f]{4,63}$/;

/**
 * resolveName, else the one version whose id starts with `name` (4 to 63 hex digits, as printed
 * short by inspect and query), found by walking back from every ref and tag with `read`.
 */
export async function resolveVersion(refs: Refs, name: string, read: (versionId: string, context: string) => Promise<Manifest>): Promise<ReturnType<typeof resolveName>> {
  try {
    return resolveName(refs, name);
  } catch (e) {
    if (!SHORT_ID.test(name) || !isEdgelakeError(e, 'not-found')) throw e;
  }
  const [seen, matches] = [new Set<string>(), new Set<string>()];
  for (let next = [...Object.values(refs.refs), ...Object.values(refs.tags ?? {})]; next.length > 0;) {
    const level = [...new Set(next)].filter((id) => !seen.has(id));
    for (const id of level) {
      seen.add(id);
      if (id.startsWith(name)) matches.add(id);
    }
    const manifests = await Promise.all(level.map((id) => read(id, `dataset ${refs.name}: looking for version ${name}…, version ${id}`)));
    next = manifests.flatMap((m) => (m.parent === null ? [] : [m.parent]));
  }
  if (matches.size === 1) return { versionId: [...matches][0], kind: 'version' };
  if (matches.size > 1) throw new EdgelakeError('invalid-input', `dataset ${refs.name}: version ${name}… is ambiguous (${[...matches].map((id) => `${id.slice(0, 16)}…`).join(', ')}): give more digits`);
  throw new EdgelakeError('not-found', `dataset ${refs.name}: no ref "${name}", and no version reachable from its refs and tags starts with ${name} (refs: ${Object.keys(refs.refs).join(', ')})`);
}

/** Fetches and verifies chunk `index` of `tensor` (every byte checked; see decodeChunk). */
export async function readChunk(v: OpenedVersion, tensor: string, index: number): Promise<DecodedChunk> {
  if (!Object.hasOwn(v.manifest.tensors, tensor)) throw new EdgelakeError('invalid-input', `dataset ${v.refs.name}: no tensor "${tensor}"`);
  const meta = v.manifest.tensors[tensor];
  if (!Number.isInteger(index) || index < 0 || index >= meta.chunks.length) {
    throw new EdgelakeError('invalid-input', `dataset ${v.refs.name}: tensor ${tensor} has no chunk ${index}`);
  }
  const ref = meta.chunks[index];
  const file = chunkPath(ref.hash);
  const where: Where = { dataset: v.refs.name, version: v.versionId, tensor, chunk: index, file: `${v.source.location}/${file}` };
  const stored = await v.source.read(file, { maxBytes: ref.bytes }).catch((e: unknown) => {
    // A file longer than the manifest's `bytes` is altered data, not a configured limit.
    if (e instanceof EdgelakeError && e.code === 'limit') {
      throw new EdgelakeError('integrity', `${describeWhere(where)}: the file is larger than the ${ref.bytes} bytes the manifest says (padded or altered)`, { cause: e });
    }
    throw explain(e, describeWhere(where));
  });
  return decodeChunk(stored, ref, meta, v.limits, where);
}

/** Keeps a source error's code and adds which dataset file it is about. */
function explain(e: unknown, context: string): unknown {
  return e instanceof EdgelakeError ? new EdgelakeError(e.code, `${context}: ${e.message}`, { cause: e }) : e;
}
