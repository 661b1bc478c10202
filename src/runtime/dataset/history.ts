import { decodeSamplePayload, type DecodedChunk } from '../../format/chunk.js';
import type { ReadLimits } from '../../format/limits.js';
import type { Source } from '../../source/source.js';
import { chunkStarts } from './chunk-index.js';
import { openVersion, readChunk, readManifest, type OpenedVersion } from './versions.js';

export interface LogEntry {
  version: string;
  parent: string | null;
  created: string;
  message: string;
  length: number;
  /** The refs and tags that name this version; `head` when the head ref is among them. */
  refs: string[];
  tags: string[];
  head: boolean;
}

type LogOptions = { ref?: string; max?: number; limits?: Partial<ReadLimits> };

/** The versions from `ref` (default: head) back through `parent`, newest first, at most `max`. */
export async function versionLog(source: Source, options: LogOptions = {}): Promise<LogEntry[]> {
  const log: LogEntry[] = [];
  for await (const entry of versionHistory(source, options)) log.push(entry);
  return log;
}

/** versionLog one version at a time: a caller shows what it has read before a missing parent stops it, as git log does. */
export async function* versionHistory(source: Source, options: LogOptions = {}): AsyncGenerator<LogEntry> {
  const first = await openVersion(source, options);
  const { refs } = first;
  const namesOf = (names: Record<string, string> = {}, id: string) => Object.keys(names).filter((n) => names[n] === id);
  let manifest = first.manifest;
  for (let version = first.versionId, count = 1; ; count++) {
    const named = namesOf(refs.refs, version);
    yield {
      version, parent: manifest.parent, created: manifest.created, message: manifest.message, length: manifest.length,
      refs: named, tags: namesOf(refs.tags, version), head: named.includes(refs.head),
    };
    if (manifest.parent === null || count >= (options.max ?? Infinity)) return;
    const child = version;
    version = manifest.parent;
    manifest = await readManifest(source, version, first.limits, `dataset ${refs.name}: version ${child}'s parent ${version}`);
  }
}

export interface VersionDiff {
  from: string;
  to: string;
  /** Samples `to` has after `from`'s last (ids from.length .. to.length-1), and the reverse. */
  added: number;
  removed: number;
  /** Per tensor in both versions, the ids (below both lengths) whose values differ, ascending. */
  changed: Record<string, number[]>;
  tensorsAdded: string[];
  tensorsRemoved: string[];
}

/**
 * What changed from version `a` to `b` (refs, tags or version ids). Exact and cheap: chunks that
 * cover the same samples with the same hash are equal unread, so an unchanged tensor costs no
 * chunk read; only where hashes differ are both chunks read and their samples compared.
 */
export async function diffVersions(source: Source, a: string, b: string, options: { limits?: Partial<ReadLimits> } = {}): Promise<VersionDiff> {
  const [from, to] = await Promise.all([openVersion(source, { ref: a, ...options }), openVersion(source, { ref: b, ...options })]);
  const [tf, tt] = [from.manifest.tensors, to.manifest.tensors];
  const common = Math.min(from.manifest.length, to.manifest.length);
  const changed: Record<string, number[]> = {};
  for (const name of Object.keys(tf).filter((n) => Object.hasOwn(tt, n))) changed[name] = await changedIds(from, to, name, common);
  return {
    from: from.versionId, to: to.versionId,
    added: Math.max(0, to.manifest.length - from.manifest.length), removed: Math.max(0, from.manifest.length - to.manifest.length),
    changed,
    tensorsAdded: Object.keys(tt).filter((n) => !Object.hasOwn(tf, n)),
    tensorsRemoved: Object.keys(tf).filter((n) => !Object.hasOwn(tt, n)),
  };
}

/** Walks both tensors' chunks side by side over samples [0, common), reading only chunk pairs that differ. */
async function changedIds(from: OpenedVersion, to: OpenedVersion, name: string, common: number): Promise<number[]> {
  const sides = [from, to].map((v) => ({ v, t: v.manifest.tensors[name], starts: chunkStarts(v.manifest.tensors[name]), chunk: 0, decoded: undefined as DecodedChunk | undefined }));
  const [x, y] = sides;
  const ids: number[] = [];
  for (let at = 0; at < common;) {
    const end = Math.min(x.starts[x.chunk + 1], y.starts[y.chunk + 1], common);
    const same = x.starts[x.chunk] === y.starts[y.chunk] && x.starts[x.chunk + 1] === y.starts[y.chunk + 1] && x.t.chunks[x.chunk].hash === y.t.chunks[y.chunk].hash;
    if (!same) {
      for (const s of sides) s.decoded ??= await readChunk(s.v, name, s.chunk);
      const sample = (s: (typeof sides)[number], id: number) => decodeSamplePayload(s.decoded!.payload(id - s.starts[s.chunk]), s.t, s.v.limits, { tensor: name }, id);
      for (let id = at; id < end; id++) if (!equalBytes(sample(x, id), sample(y, id))) ids.push(id);
    }
    at = end;
    for (const s of sides) if (s.starts[s.chunk + 1] === end) [s.chunk, s.decoded] = [s.chunk + 1, undefined];
  }
  return ids;
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
