/// <reference types="@webgpu/types" preserve="true" />
// edgelake/format: the dataset format of docs/FORMAT.md: manifests and their validation, the chunk
// codec, hashing and content addresses, limits, image codecs, and the builders that write datasets.
export {
  FORMAT_VERSION, DTYPE_BYTES, REFS_PATH, chunkPath, versionPath, withChunks,
  type Refs, type Manifest, type TensorMeta, type ChunkRef, type HeaderIndexRef, type Quant,
  type Dtype, type Htype, type SampleCompression, type ChunkCompression,
} from './manifest.js';
export { validateManifest, validateRefs, parseJson, fixedSampleBytes, decodedSampleBytes, chunkHeaderBytes } from './validate.js';
export {
  encodeChunk, decodeChunk, decodeSamplePayload, parseChunkHeader, verifyChunkHeader, verifySamplePayload,
  type ChunkHeader, type DecodedChunk,
} from './chunk.js';
export { sha256Hex, crc32, useSha256, type Sha256 } from './hash.js';
export { contentHash, verifyContentAddress } from './content-address.js';
export { inflateBounded, deflate, useInflate, type BoundedInflate } from './inflate.js';
export { DEFAULT_LIMITS, DEFAULT_MAX_PIXELS, describeWhere, type ReadLimits, type Where } from './limits.js';
export { MemorySink, type Sink } from './sink.js';
export { HttpSink, type HttpSinkOptions } from './http-sink.js';
export { TensorWriter, type TensorSpec } from './builders/tensor-writer.js';
export { encodeHeaderIndex, headerIndexOffsets } from './header-index.js';
export { commitChild, commitVersion, type CommitOptions, type Committed } from './builders/commit.js';
export { buildIdx, type BuildIdxOptions, type IdxSplit } from './builders/build-idx.js';
export { parseIdx, type IdxArray } from './builders/idx.js';
export { buildImageFolder, type BuildImageFolderOptions, type ImageFile } from './builders/build-imagefolder.js';
export { buildLinked, DEFAULT_LINKED_CHUNK_SAMPLES, type BuildLinkedOptions, type LinkedEntry } from './builders/build-linked.js';
export {
  decodeImageSync, decodeJpeg, decodePng, sniffImageType, thumbnail, toRgb, resizeArea,
  jpegScaleFor, packJpegCoefficients, unpackJpegCoefficients, readJpegCoefficients,
  type DecodedImage, type DecodeOptions, type ImageType, type ReadJpegOptions,
} from './image/index.js';
