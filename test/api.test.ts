import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as edgelake from '../src/index.js';
import * as edgelakeNode from '../src/node.js';

describe('public API', () => {
  it('edgelake exports exactly this list (a change here is a change to the public API)', () => {
    expect(Object.keys(edgelake).sort()).toMatchInlineSnapshot(`
      [
        "BatchUploader",
        "BufferPool",
        "ChunkCache",
        "CpuBatchTransform",
        "DEFAULT_LIMITS",
        "DTYPE_BYTES",
        "Dataset",
        "EdgelakeError",
        "EpochOrder",
        "FORMAT_VERSION",
        "GpuBatchTransform",
        "GpuTimer",
        "HttpSource",
        "IdbChunkStore",
        "Loader",
        "MemoryChunkStore",
        "MemorySink",
        "MemorySource",
        "REFS_PATH",
        "RetryLaterError",
        "S3Source",
        "TensorWriter",
        "Transients",
        "View",
        "WorkerPool",
        "acquireBuffer",
        "augmentMix",
        "augmentParams",
        "augmentRef",
        "browserWorkerPool",
        "bufferPool",
        "buildIdx",
        "buildImageFolder",
        "chunkHeaderBytes",
        "chunkPath",
        "chunkStarts",
        "chunksCovering",
        "commitVersion",
        "compileAugment",
        "crc32",
        "decodeChunk",
        "decodeImage",
        "decodeJpeg",
        "decodePng",
        "decodeRef",
        "decodeSample",
        "decodeSamplePayload",
        "decodeSamples",
        "deflate",
        "describeAdapter",
        "encodeAugment",
        "encodeChunk",
        "encodeDecode",
        "encodeMixLabels",
        "fixedSampleBytes",
        "formatAdapter",
        "getDevice",
        "halfToFloat",
        "hash4",
        "inflateBounded",
        "inlinePool",
        "isEdgelakeError",
        "locateSample",
        "mixLabels",
        "openDataset",
        "openSource",
        "openVersion",
        "parseChunkHeader",
        "parseIdx",
        "parseJson",
        "parseS3Url",
        "pcgHash",
        "randomWgsl",
        "readBuffer",
        "readChunk",
        "releaseBuffer",
        "resizeArea",
        "sha256Hex",
        "sniffImageType",
        "thumbnail",
        "toRgb",
        "uniform",
        "uniform24",
        "uploadBuffer",
        "validateManifest",
        "validateRefs",
        "verifyChunkHeader",
        "verifySamplePayload",
        "versionPath",
        "withCache",
        "withConcurrency",
        "withMetrics",
        "withRetry",
      ]
    `);
  });

  it('edgelake/node exports exactly this list', () => {
    expect(Object.keys(edgelakeNode).sort()).toMatchInlineSnapshot(`
      [
        "FileSource",
        "FolderSink",
        "FsChunkStore",
        "getNodeDevice",
        "nodeGpuProvider",
        "nodeWorkerPool",
        "openDataset",
        "openSourceNode",
        "runCli",
        "s3FromEnvironment",
      ]
    `);
  });

  it('platform-neutral modules never import node:* or a *.node.ts module (browser builds must not)', () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
    const neutral = files('src').filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.node.ts') && f !== join('src', 'node.ts') && !f.startsWith(join('src', 'cli')));
    const offenders = neutral.filter((f) => /from ['"](node:|[^'"]*\.node\.js['"])|import\(['"]node:/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
