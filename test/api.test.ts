import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as edgelake from '../src/index.js';
import * as edgelakeFormat from '../src/format/index.js';
import * as edgelakeKernels from '../src/kernels/index.js';
import * as edgelakeNode from '../src/node.js';

describe('public API', () => {
  it('edgelake exports exactly this list (a change here is a change to the public API)', () => {
    expect(Object.keys(edgelake).sort()).toMatchInlineSnapshot(`
      [
        "ActiveLearner",
        "ChunkCache",
        "CorruptTransferError",
        "CpuBackend",
        "Dataset",
        "EdgelakeError",
        "GpuBackend",
        "HttpSource",
        "IdbChunkStore",
        "IdbLabelStore",
        "Loader",
        "MemoryChunkStore",
        "MemoryLabelStore",
        "MemorySource",
        "Model",
        "Optimizer",
        "Pool",
        "RetryLaterError",
        "S3Source",
        "STRATEGIES",
        "STRATEGY_REGISTRY",
        "View",
        "backendFor",
        "batchArray",
        "batchBuffer",
        "browserWorkerPool",
        "byRank",
        "byScore",
        "checkout",
        "cnn",
        "coldStart",
        "commitDataset",
        "commitLabels",
        "createBranch",
        "createModel",
        "createTag",
        "datasetChain",
        "decodeImage",
        "decodeSafetensors",
        "describeAdapter",
        "diffVersions",
        "encodeSafetensors",
        "fetchBytes",
        "formatAdapter",
        "getDevice",
        "head",
        "hybridSelect",
        "isEdgelakeError",
        "kCenterGreedy",
        "listViews",
        "loadModel",
        "loadWeights",
        "materialize",
        "mlp",
        "openDataset",
        "openSink",
        "openSource",
        "openTransport",
        "openVersion",
        "openView",
        "parseS3Url",
        "planFetch",
        "query",
        "randomSelect",
        "readChunk",
        "remoteChain",
        "saveModel",
        "saveView",
        "strategyFor",
        "strategyNeeds",
        "topK",
        "versionLog",
        "withCache",
        "withConcurrency",
        "withMetrics",
        "withRetry",
        "withVerify",
      ]
    `);
  });

  it('edgelake stays small: at most 90 runtime values (types are free)', () => {
    expect(Object.keys(edgelake).length).toBeLessThanOrEqual(90);
  });

  it('edgelake/node exports exactly this list', () => {
    expect(Object.keys(edgelakeNode).sort()).toMatchInlineSnapshot(`
      [
        "FileSource",
        "FolderSink",
        "FsChunkStore",
        "FsLabelStore",
        "getNodeDevice",
        "learningCurvesSvg",
        "nodeGpuProvider",
        "nodeWorkerPool",
        "openDataset",
        "openSinkNode",
        "openSourceNode",
        "openTransportNode",
        "runCli",
        "s3FromEnvironment",
        "useNodeCodecs",
      ]
    `);
  });

  it('edgelake/format exports exactly this list', () => {
    expect(Object.keys(edgelakeFormat).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_LIMITS",
        "DEFAULT_LINKED_CHUNK_SAMPLES",
        "DEFAULT_MAX_PIXELS",
        "DTYPE_BYTES",
        "FORMAT_VERSION",
        "HttpSink",
        "MemorySink",
        "REFS_PATH",
        "TensorWriter",
        "buildIdx",
        "buildImageFolder",
        "buildLinked",
        "chunkHeaderBytes",
        "chunkPath",
        "commitChild",
        "commitVersion",
        "contentHash",
        "crc32",
        "decodeChunk",
        "decodeImageSync",
        "decodeJpeg",
        "decodePng",
        "decodeSamplePayload",
        "decodedSampleBytes",
        "deflate",
        "describeWhere",
        "encodeChunk",
        "fixedSampleBytes",
        "inflateBounded",
        "jpegScaleFor",
        "packJpegCoefficients",
        "parseChunkHeader",
        "parseIdx",
        "parseJson",
        "readJpegCoefficients",
        "resizeArea",
        "sha256Hex",
        "sniffImageType",
        "thumbnail",
        "toRgb",
        "unpackJpegCoefficients",
        "useInflate",
        "useSha256",
        "validateManifest",
        "validateRefs",
        "verifyChunkHeader",
        "verifyContentAddress",
        "verifySamplePayload",
        "versionPath",
      ]
    `);
  });

  it('edgelake/kernels exports exactly this list', () => {
    expect(Object.keys(edgelakeKernels).sort()).toMatchInlineSnapshot(`
      [
        "BatchUploader",
        "BufferPool",
        "COLUMN_SUM_CHUNK",
        "DECODE_ITEM_BYTES",
        "DRAWS_PER_OP",
        "FIT_DRAW",
        "GRAY",
        "GpuTimer",
        "IDCT_RANGE_LIMIT",
        "MAX_FIT_BOX",
        "MAX_FIT_OUTPUT",
        "MAX_KERNEL_WIDTH",
        "MAX_OPS",
        "MEAN_WORKGROUP",
        "MIX_DRAW",
        "NOISE_DRAW",
        "PARAM_STRIDE",
        "ROW_STATS_MAX_SIZE",
        "ROW_STATS_WORKGROUP",
        "STAGED_MATMUL_TILING",
        "SUM_PER_THREAD",
        "SUM_WORKGROUP",
        "Transients",
        "UNCERTAINTY_MEASURES",
        "acquireBuffer",
        "adamRef",
        "adamWgsl",
        "assertDeviceAlive",
        "augmentMeanWgsl",
        "augmentMix",
        "augmentParams",
        "augmentRef",
        "augmentWgsl",
        "boxScale",
        "bufferPool",
        "cachedBindGroup",
        "centerBox",
        "checkColumnSum",
        "checkJpegArrays",
        "checkReluBackward",
        "checkUncertainty",
        "colorRef",
        "columnSumRef",
        "columnSumWgsl",
        "compileAugment",
        "computePipeline",
        "conv2dBackwardInputRef",
        "conv2dBackwardWeightRef",
        "conv2dDilateWgsl",
        "conv2dPackWgsl",
        "conv2dRef",
        "conv2dWeightGradWgsl",
        "conv2dWeightReduceWgsl",
        "conv2dWgsl",
        "convOutputSize",
        "convPlan",
        "createBindGroup",
        "decodePlan",
        "decodeRef",
        "decodeWgsl",
        "describeAdapter",
        "dropoutBackwardRef",
        "dropoutInPlaceWgsl",
        "dropoutRef",
        "dropoutWgsl",
        "encodeAdam",
        "encodeAugment",
        "encodeColumnSum",
        "encodeConv2d",
        "encodeConv2dBackwardInput",
        "encodeConv2dBackwardWeight",
        "encodeDecode",
        "encodeDropout",
        "encodeDropoutBackward",
        "encodeFit",
        "encodeJpegBatch",
        "encodeJpegReconstruct",
        "encodeMatmul",
        "encodeMaxPool",
        "encodeMaxPoolBackward",
        "encodeMixLabels",
        "encodeReluBackward",
        "encodeRowStats",
        "encodeSgd",
        "encodeSoftmax",
        "encodeSoftmaxCrossEntropy",
        "encodeSum",
        "encodeUncertainty",
        "fitBox",
        "fitPlan",
        "fitRandom",
        "fitRef",
        "fitWgsl",
        "formatAdapter",
        "getDevice",
        "halfToFloat",
        "hash4",
        "idctRef",
        "jpegBatchLayout",
        "jpegColorWgsl",
        "jpegIdctWgsl",
        "jpegPlan",
        "logOnePlus",
        "lossWgsl",
        "lossWorkgroupSize",
        "matmulRef",
        "matmulSizes",
        "matmulTiling",
        "matmulWgsl",
        "maxPoolBackwardRef",
        "maxPoolBackwardWgsl",
        "maxPoolRef",
        "maxPoolWgsl",
        "meanGrayRef",
        "mixLabels",
        "mixLabelsWgsl",
        "orientationSteps",
        "packImages",
        "paramsBindGroup",
        "pcgHash",
        "poolOutputSize",
        "poolPlan",
        "randomResizedBox",
        "randomWgsl",
        "readBuffer",
        "reconstructJpegRef",
        "releaseBuffer",
        "reluBackwardInPlaceWgsl",
        "reluBackwardRef",
        "reluBackwardWgsl",
        "rowStatsFits",
        "rowStatsOnDevice",
        "rowStatsPlan",
        "rowStatsRef",
        "rowStatsWgsl",
        "scaleBox",
        "sgdRef",
        "sgdWgsl",
        "shaderHeader",
        "shuffleInPlace",
        "sizeClass",
        "softmaxCrossEntropyRef",
        "softmaxRef",
        "storageBinding",
        "sumPlan",
        "sumRef",
        "sumWgsl",
        "treeSum",
        "uncertaintyRef",
        "uncertaintyWgsl",
        "uniform",
        "uniform24",
        "unpackJpegPixels",
        "uploadBuffer",
        "uploadJpegBatch",
        "uploadJpegCoefficients",
        "watchDevice",
        "workgroupGrid",
        "writeJpegBatch",
      ]
    `);
  });

  it('package.json maps each entry to its built file and types', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    expect(pkg.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './node': { types: './dist/node.d.ts', default: './dist/node.js' },
      './kernels': { types: './dist/kernels/index.d.ts', default: './dist/kernels/index.js' },
      './format': { types: './dist/format/index.d.ts', default: './dist/format/index.js' },
      './tfjs': { types: './dist/tfjs.d.ts', default: './dist/tfjs.js' },
      './onnx': { types: './dist/onnx.d.ts', default: './dist/onnx.js' },
    });
  });

  it('edgelake/tfjs and edgelake/onnx export their adapters and import neither TF.js nor ONNX Runtime: optional peers', async () => {
    expect(Object.keys(await import('../src/tfjs.js'))).toEqual(['tfjsLearner']);
    expect(Object.keys(await import('../src/onnx.js'))).toEqual(['onnxEmbedder']);
    for (const file of ['tfjs', 'onnx']) expect(readFileSync(`src/runtime/model/adapters/${file}.ts`, 'utf8')).not.toMatch(/^\s*(import|export)\b[^;]*from '(@tensorflow|onnxruntime)/m);
  });

  it('importing the entries sets nothing global: SHA-256 is still WebCrypto until openDataset or the CLI chooses Node\'s', async () => {
    const digest = crypto.subtle.digest.bind(crypto.subtle);
    let calls = 0;
    const spy = (algorithm: AlgorithmIdentifier, data: BufferSource) => (calls++, digest(algorithm, data));
    Object.defineProperty(crypto.subtle, 'digest', { value: spy, configurable: true });
    try {
      await edgelakeFormat.sha256Hex(new Uint8Array([1, 2, 3]));
      expect(calls).toBe(1);
    } finally {
      Object.defineProperty(crypto.subtle, 'digest', { value: digest, configurable: true });
    }
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
