/** The types of FORMAT.md: refs (edgelake.json) and version manifests. */

export const FORMAT_VERSION = 'edgelake/1';

export type Dtype =
  | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'uint32' | 'float16' | 'float32' | 'bytes';
export type Htype = 'image' | 'class_label' | 'embedding' | 'bbox' | 'text' | 'generic';
export type SampleCompression = 'none' | 'deflate' | 'jpeg' | 'png';
export type ChunkCompression = 'none' | 'deflate';

export interface Refs {
  format: typeof FORMAT_VERSION;
  name: string;
  head: string;
  refs: Record<string, string>;
  /** Immutable names of versions: resolved after refs, never moved by a commit. */
  tags?: Record<string, string>;
}

export interface ChunkRef {
  /** SHA-256 hex of the stored bytes; the chunk lives at chunks/<hash[0..2]>/<hash>. */
  hash: string;
  /** Length of the stored bytes. */
  bytes: number;
  samples: number;
  /** SHA-256 hex of body bytes [0, P): lets a reader fetch the header alone. */
  headerHash: string;
}

export interface Quant {
  scale: number[];
  zeroPoint: number[];
}

export interface TensorMeta {
  htype: Htype;
  dtype: Dtype;
  /** Shape of one sample; null entries vary from sample to sample. */
  shape: (number | null)[];
  layout?: string;
  classNames?: string[];
  quant?: Quant;
  sampleCompression: SampleCompression;
  chunkCompression: ChunkCompression;
  /**
   * The samples are files where they already are: the chunks hold each sample's URL (UTF-8), and
   * the file at it is the payload, in `sampleCompression` (FORMAT.md, "Linked tensors").
   */
  linked?: true;
  chunks: ChunkRef[];
  /**
   * Every chunk's header, concatenated in chunk order, in one file (FORMAT.md, "Header index"):
   * a reader that reads parts of many chunks learns where their samples lie in one request.
   */
  headers?: HeaderIndexRef;
}

/** A tensor's header index: the file chunks/<hash[0..2]>/<hash>, of `bytes` bytes. */
export interface HeaderIndexRef {
  hash: string;
  bytes: number;
}

/** A tensor's description without its chunks (nor their header index): what a writer starts from. */
export type TensorSpec = Omit<TensorMeta, 'chunks' | 'headers'>;

/** `meta` with other chunks: its header index describes the old ones, so it goes. */
export function withChunks(meta: TensorMeta, chunks: ChunkRef[]): TensorMeta {
  const { headers: _stale, ...rest } = meta;
  return { ...rest, chunks };
}

/** `meta` as a writer's starting point: its chunks and their header index left out. */
export function specOf(meta: TensorMeta | TensorSpec): TensorSpec {
  const { chunks: _chunks, headers: _headers, ...spec } = meta as TensorMeta;
  return spec;
}

export interface Manifest {
  format: typeof FORMAT_VERSION;
  parent: string | null;
  message: string;
  created: string;
  length: number;
  splits: Record<string, [number, number][]>;
  tensors: Record<string, TensorMeta>;
}

export const DTYPE_BYTES: Record<Exclude<Dtype, 'bytes'>, number> = {
  uint8: 1, int8: 1, uint16: 2, int16: 2, int32: 4, uint32: 4, float16: 2, float32: 4,
};

export const REFS_PATH = 'edgelake.json';
export const versionPath = (versionId: string): string => `versions/${versionId}.json`;
export const chunkPath = (hash: string): string => `chunks/${hash.slice(0, 2)}/${hash}`;
