import { getDevice, type GetDeviceOptions, type Gpu, type GpuProvider } from './device.js';
import { filterNativeStderr } from './native-stderr.node.js';

/**
 * Dawn clamps maxDynamic{Uniform,Storage}BuffersPerPipelineLayout to 16 on adapters that report
 * more (lavapipe, RADV) and says so on stderr from C++ on every adapter request, with no toggle:
 * edgelake never uses dynamic offsets, so the notice is noise.
 */
const DAWN_LIMIT_NOTICE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

// The native module loads on first use, once; a process that never asks for a GPU never loads it.
let loading: Promise<GPU> | undefined;

async function loadDawn(): Promise<GPU> {
  try {
    const { create, globals } = await import('webgpu');
    // GPUBufferUsage, GPUMapMode, GPUShaderStage...: set only those that are absent.
    const target = globalThis as Record<string, unknown>;
    for (const [name, value] of Object.entries(globals)) {
      if (!(name in target)) target[name] = value;
    }
    return create([]);
  } catch (error) {
    // An optional dependency: absent (--omit=optional, a browser-only install) it is no adapter, not a crash.
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes("'webgpu'")) {
      throw new Error("the optional 'webgpu' package (dawn-node) is not installed: npm install webgpu", { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot load the 'webgpu' native module: ${reason}`, { cause: error });
  }
}

/** Adapters from the `webgpu` npm package (Dawn): Vulkan on Linux, Metal on macOS, D3D12 on Windows. */
export const nodeGpuProvider: GpuProvider = {
  name: "the 'webgpu' package (dawn-node)",
  help:
    'on Linux install a Vulkan driver, e.g. Mesa lavapipe: apt-get install mesa-vulkan-drivers ' +
    'libvulkan1 (or run scripts/setup-debian.sh)',
  async requestAdapter(options) {
    const gpu = await (loading ??= loadDawn());
    // Dawn builds the adapter's limits, and prints the notice, within this synchronous call.
    return filterNativeStderr(() => gpu.requestAdapter(options), DAWN_LIMIT_NOTICE);
  },
};

/**
 * getDevice() with the dawn-node provider: null without an adapter, or an EdgelakeError
 * 'gpu-unavailable' when `required` or EDGELAKE_REQUIRE_GPU=1.
 */
export function getNodeDevice(options: GetDeviceOptions = {}): Promise<Gpu | null> {
  return getDevice({ ...options, provider: options.provider ?? nodeGpuProvider });
}
