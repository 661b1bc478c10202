import { EdgelakeError } from '../errors.js';

/**
 * Where adapters come from: `navigator.gpu` in browsers, the `webgpu` package in Node (see
 * `edgelake/node`), or a fake in tests. `name` and `help` only improve the error message.
 */
export interface GpuProvider {
  requestAdapter(options?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
  /** What was tried, e.g. "navigator.gpu". */
  readonly name?: string;
  /** How to get an adapter when there is none, e.g. which driver to install. */
  readonly help?: string;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Features of the device edgelake got (or of the adapter, before a device exists). */
  features: string[];
  isFallback?: boolean;
}

/** A device edgelake can run kernels on, and what it runs on. */
export interface Gpu {
  device: GPUDevice;
  adapter: AdapterDescription;
}

export interface GetDeviceOptions {
  /** A device the caller owns (shared with TensorFlow.js, ONNX Runtime Web...): used as is. */
  device?: GPUDevice | undefined;
  /** Defaults to `navigator.gpu`. */
  provider?: GpuProvider;
  /** Throw 'gpu-unavailable' instead of returning null; defaults to EDGELAKE_REQUIRE_GPU=1. */
  required?: boolean;
  powerPreference?: GPUPowerPreference;
}

/** Limits worth raising to what the adapter offers: big batches need big storage bindings. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
] as const;
const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query'];

// One device per provider and power preference, so every part of edgelake shares its buffers.
const cached = new WeakMap<GpuProvider, Map<string, Promise<Gpu | null>>>();

/**
 * A WebGPU device, or null when there is no adapter (callers then run CPU references). Calls
 * share one device; once it is lost (or destroyed, when `lost` settles) the next call opens a
 * new one.
 */
export async function getDevice(options: GetDeviceOptions = {}): Promise<Gpu | null> {
  if (options.device) return { device: options.device, adapter: describeAdapter(options.device) };
  const required = options.required ?? requireGpuFromEnv();
  const provider = options.provider ?? browserProvider();
  if (!provider) {
    const why = 'navigator.gpu is absent: this runtime has no WebGPU';
    const help = "use a browser with WebGPU, or in Node getNodeDevice() from 'edgelake/node'";
    return unavailable(required, why, help);
  }
  const key = options.powerPreference ?? 'default';
  let byKey = cached.get(provider);
  if (!byKey) cached.set(provider, (byKey = new Map()));
  let pending = byKey.get(key);
  if (!pending) {
    const mine = openDevice(provider, options.powerPreference, () => {
      if (byKey.get(key) === mine) byKey.delete(key);
    });
    byKey.set(key, (pending = mine));
  }
  const name = provider.name ?? 'the WebGPU provider';
  let gpu: Gpu | null;
  try {
    gpu = await pending;
  } catch (error) {
    if (byKey.get(key) === pending) byKey.delete(key);
    return unavailable(required, `${name} failed`, provider.help, error);
  }
  if (gpu) return gpu;
  // No adapter now does not mean never: a driver may be installed, a GPU process restarted.
  if (byKey.get(key) === pending) byKey.delete(key);
  return unavailable(required, `${name} returned no adapter`, provider.help);
}

async function openDevice(
  provider: GpuProvider,
  powerPreference: GPUPowerPreference | undefined,
  forget: () => void,
): Promise<Gpu | null> {
  const adapter = await provider.requestAdapter(powerPreference ? { powerPreference } : undefined);
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({
    label: 'edgelake',
    requiredFeatures: WANTED_FEATURES.filter((f) => adapter.features.has(f)),
    requiredLimits,
    defaultQueue: { label: 'edgelake queue' },
  });
  void device.lost.then((info) => {
    forget();
    if (info.reason !== 'destroyed') {
      console.warn(`edgelake: WebGPU device lost (${info.reason}): ${info.message}`);
    }
  });
  return { device, adapter: { ...describeAdapter(adapter), features: sorted(device.features) } };
}

function unavailable(required: boolean, why: string, help?: string, cause?: unknown): null {
  if (!required) return null;
  const detail = cause === undefined ? '' : ` (${cause instanceof Error ? cause.message : String(cause)})`;
  const fix = help ? `; ${help}` : '';
  const note = 'an error because required or EDGELAKE_REQUIRE_GPU=1, else kernels run their CPU references';
  throw new EdgelakeError('gpu-unavailable', `No WebGPU adapter: ${why}${detail}${fix} (${note}).`, {
    cause,
  });
}

/** Vendor, architecture, description and features of an adapter or of a device's adapter. */
export function describeAdapter(source: GPUAdapter | GPUDevice): AdapterDescription {
  // Older browsers have GPUDevice without adapterInfo; describe what we can.
  const info: Partial<GPUAdapterInfo> | undefined =
    'adapterInfo' in source ? source.adapterInfo : 'info' in source ? source.info : undefined;
  const description: AdapterDescription = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    features: sorted(source.features),
  };
  if (info?.isFallbackAdapter !== undefined) description.isFallback = info.isFallbackAdapter;
  return description;
}

/** One line for logs: "llvmpipe: Mesa 25.0.7 (mesa, software, fallback)". */
export function formatAdapter(adapter: AdapterDescription): string {
  const name = adapter.description || adapter.device || 'unnamed adapter';
  const tags = [adapter.vendor, adapter.architecture, adapter.isFallback ? 'fallback' : '']
    .filter(Boolean)
    .join(', ');
  return tags ? `${name} (${tags})` : name;
}

/** EDGELAKE_REQUIRE_GPU=1 where there is a process environment (Node, Electron, bundlers). */
export function requireGpuFromEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.EDGELAKE_REQUIRE_GPU === '1';
}

function browserProvider(): GpuProvider | undefined {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return undefined;
  let provider = providers.get(gpu);
  if (!provider) {
    provider = {
      name: 'navigator.gpu',
      help: 'WebGPU may be disabled or blocklisted for this GPU; check chrome://gpu or the browser flags',
      requestAdapter: (options) => gpu.requestAdapter(options),
    };
    providers.set(gpu, provider);
  }
  return provider;
}
const providers = new WeakMap<GPU, GpuProvider>();

function sorted(features: GPUSupportedFeatures): string[] {
  return [...features].sort();
}

/**
 * Whether `device` runs on the CPU (lavapipe, SwiftShader): such drivers run invocations as SIMD
 * lanes but load memory lane by lane, so kernels there give each invocation more work.
 */
export function isCpuAdapter(device: GPUDevice): boolean {
  const info: Partial<GPUAdapterInfo> | undefined = 'adapterInfo' in device ? device.adapterInfo : undefined;
  if (!info) return false;
  return info.isFallbackAdapter === true || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
}
