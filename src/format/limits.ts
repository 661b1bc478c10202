/** Upper bounds a reader enforces before it allocates; every one is configurable. */
export interface ReadLimits {
  /** Largest manifest or refs file read, in bytes. */
  maxManifestBytes: number;
  /** Largest stored chunk accepted, in bytes (a manifest declaring more is refused). */
  maxChunkBytes: number;
  /** Largest chunk body, and sample payload, after inflating; a deflate bomb stops here. */
  maxInflatedBytes: number;
  /** Most samples a dataset may declare. */
  maxSamples: number;
}

export const DEFAULT_LIMITS: ReadLimits = {
  maxManifestBytes: 64 << 20,
  maxChunkBytes: 256 << 20,
  maxInflatedBytes: 512 << 20,
  maxSamples: 2 ** 32 - 1,
};

/** 64 megapixels: an 8K frame fits, an image header claiming more is refused. */
export const DEFAULT_MAX_PIXELS = 64_000_000;

export function withDefaults(limits: Partial<ReadLimits> = {}): ReadLimits {
  const out = { ...DEFAULT_LIMITS };
  // Skip undefined: `{ maxInflatedBytes: undefined }` must not switch a limit off.
  for (const k of Object.keys(out) as (keyof ReadLimits)[]) if (limits[k] !== undefined) out[k] = limits[k];
  return out;
}

/** Names what an error is about: "dataset fashion-mnist, version 1a2b3c4d5e6f, tensor image, chunk 3, file …". */
export interface Where {
  dataset?: string;
  version?: string;
  tensor?: string;
  /** The chunk's index in the tensor (or its hash). */
  chunk?: number | string;
  file?: string;
}

export function describeWhere(w: Where): string {
  const parts: string[] = [];
  if (w.dataset !== undefined) parts.push(`dataset ${w.dataset}`);
  if (w.version !== undefined) parts.push(`version ${w.version.slice(0, 12)}`);
  if (w.tensor !== undefined) parts.push(`tensor ${w.tensor}`);
  if (w.chunk !== undefined) parts.push(`chunk ${w.chunk}`);
  if (w.file !== undefined) parts.push(`file ${w.file}`);
  return parts.join(', ') || 'dataset';
}
