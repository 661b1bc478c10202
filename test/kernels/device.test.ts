import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { missing } from '../support/system.js';
import { describeAdapter, type EdgelakeError, formatAdapter, getDevice, type GpuProvider } from '../../src/index.js';
import { getNodeDevice } from '../../src/node.js';

const info = {
  vendor: 'acme',
  architecture: 'rdna9',
  device: 'x1',
  description: 'Acme X1',
  isFallbackAdapter: false,
};

/** An adapter that records what requestDevice asked for; its devices can be lost on demand. */
function fakeAdapter(features: string[] = []) {
  const requests: GPUDeviceDescriptor[] = [];
  const lose: ((info: GPUDeviceLostInfo) => void)[] = [];
  const adapter = {
    info,
    features: new Set(features),
    limits: {
      maxStorageBufferBindingSize: 2 ** 30,
      maxBufferSize: 2 ** 32,
      maxStorageBuffersPerShaderStage: 10,
      maxComputeWorkgroupStorageSize: 32768,
    },
    async requestDevice(descriptor: GPUDeviceDescriptor) {
      requests.push(descriptor);
      const lost = new Promise<GPUDeviceLostInfo>((resolve) => lose.push(resolve));
      const features = new Set(descriptor.requiredFeatures);
      return { label: descriptor.label, features, adapterInfo: info, lost };
    },
  } as unknown as GPUAdapter;
  return { adapter, requests, lose };
}

function fakeProvider(adapter: GPUAdapter | null | Error): GpuProvider & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    name: 'the fake provider',
    help: 'install the fake driver',
    calls,
    async requestAdapter(options) {
      calls.push(options);
      if (adapter instanceof Error) throw adapter;
      return adapter;
    },
  };
}

async function errorOf(promise: Promise<unknown>): Promise<EdgelakeError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  // By name, not instanceof: a test below imports a fresh copy of the modules.
  if (!(error instanceof Error) || error.name !== 'EdgelakeError') {
    throw new Error(`expected an EdgelakeError, got ${String(error)}`);
  }
  return error as EdgelakeError;
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('getDevice', () => {
  test('returns null when the provider has no adapter: callers run CPU references', async () => {
    const provider = fakeProvider(null);
    expect(await getDevice({ provider, required: false, powerPreference: 'high-performance' })).toBeNull();
    expect(provider.calls).toEqual([{ powerPreference: 'high-performance' }]);
  });

  test('throws gpu-unavailable saying what was tried and how to fix it, when required', async () => {
    const error = await errorOf(getDevice({ provider: fakeProvider(null), required: true }));
    expect(error.code).toBe('gpu-unavailable');
    expect(error.message).toMatch(/the fake provider returned no adapter.*install the fake driver/);
  });

  test('EDGELAKE_REQUIRE_GPU=1 makes a missing adapter an error unless required: false', async () => {
    vi.stubEnv('EDGELAKE_REQUIRE_GPU', '1');
    expect((await errorOf(getDevice({ provider: fakeProvider(null) }))).code).toBe('gpu-unavailable');
    expect(await getDevice({ provider: fakeProvider(null), required: false })).toBeNull();
  });

  test('a provider that fails (a native module that will not load) counts as no adapter', async () => {
    const provider = fakeProvider(new Error('dawn.node: cannot open shared object'));
    expect(await getDevice({ provider, required: false })).toBeNull();
    const error = await errorOf(getDevice({ provider, required: true }));
    expect(error.message).toMatch(/the fake provider failed \(dawn.node: cannot open shared object\)/);
  });

  test('without a provider it uses navigator.gpu, and names it when absent', async () => {
    vi.stubGlobal('navigator', {});
    const error = await errorOf(getDevice({ required: true }));
    expect(error.message).toMatch(/navigator.gpu is absent.*getNodeDevice/);
    const { adapter } = fakeAdapter();
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => adapter } });
    expect((await getDevice())?.adapter.description).toBe('Acme X1');
  });

  test("a caller's device is used as is, described by its adapterInfo", async () => {
    const provider = fakeProvider(null);
    const device = { adapterInfo: info, features: new Set(['shader-f16']) } as unknown as GPUDevice;
    const gpu = await getDevice({ device, provider, required: true });
    expect(gpu?.device).toBe(device);
    const { isFallbackAdapter, ...names } = info;
    expect(gpu?.adapter).toEqual({ ...names, isFallback: isFallbackAdapter, features: ['shader-f16'] });
    expect(provider.calls).toEqual([]);
  });

  test("asks for the adapter's limits, and shader-f16 / timestamp-query if offered", async () => {
    const rich = fakeAdapter(['timestamp-query', 'subgroups', 'shader-f16']);
    const gpu = await getDevice({ provider: fakeProvider(rich.adapter) });
    expect(rich.requests[0].requiredFeatures).toEqual(['shader-f16', 'timestamp-query']);
    expect(rich.requests[0].requiredLimits).toEqual(rich.adapter.limits);
    expect(gpu?.adapter.features).toEqual(['shader-f16', 'timestamp-query']);
    const plain = fakeAdapter(['subgroups']);
    await getDevice({ provider: fakeProvider(plain.adapter) });
    expect(plain.requests[0].requiredFeatures).toEqual([]);
  });

  test('shares one device per provider, and forgets it once lost', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const fake = fakeAdapter();
    const provider = fakeProvider(fake.adapter);
    const first = await getDevice({ provider });
    expect((await getDevice({ provider }))?.device).toBe(first?.device);
    expect(provider.calls).toHaveLength(1);

    fake.lose[0]({ reason: 'unknown', message: 'GPU process crashed' } as GPUDeviceLostInfo);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(warn.mock.calls).toEqual([['edgelake: WebGPU device lost (unknown): GPU process crashed']]);
    const second = await getDevice({ provider });
    expect(second?.device).not.toBe(first?.device);
    expect(provider.calls).toHaveLength(2);
  });

  test('formatAdapter makes one line for logs', () => {
    expect(formatAdapter(describeAdapter(fakeAdapter().adapter))).toBe('Acme X1 (acme, rdna9)');
  });
});

// The real thing: dawn-node on whatever Vulkan driver this machine has (Mesa lavapipe in CI).
const real = await getNodeDevice({ required: false });
afterAll(() => real?.device.destroy());
const vulkan = 'a Vulkan driver (Mesa lavapipe)';
const noAdapter = missing(vulkan, 'apt-get install mesa-vulkan-drivers', real !== null);

describe.skipIf(noAdapter)('getNodeDevice', () => {
  test('finds the adapter, names it, and installs the WebGPU globals', async () => {
    const gpu = real!;
    const features = gpu.adapter.features.join(', ');
    console.log(`getNodeDevice: ${formatAdapter(gpu.adapter)}; features ${features}`);
    expect(gpu.adapter.description).not.toBe('');
    expect(gpu.adapter.features).toEqual([...gpu.device.features].sort());
    expect(gpu.device.label).toBe('edgelake');
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(typeof GPUBufferUsage.STORAGE).toBe('number');
    expect(typeof GPUMapMode.READ).toBe('number');
    expect((await getNodeDevice())?.device).toBe(gpu.device);
  });

  test('a dawn-node device passed back in is used as is', async () => {
    const gpu = await getDevice({ device: real!.device });
    expect(gpu?.device).toBe(real!.device);
    expect(gpu?.adapter.description).toBe(real!.adapter.description);
  });
});

describe('getNodeDevice when the native module cannot load', () => {
  test('is no adapter, with a message naming the load error', async () => {
    vi.resetModules();
    vi.doMock('webgpu', () => ({
      globals: {},
      create() {
        throw new Error('dawn.node: GLIBC_2.38 not found');
      },
    }));
    try {
      const { getNodeDevice: fresh } = await import('../../src/kernels/device.node.js');
      expect(await fresh({ required: false })).toBeNull();
      const error = await errorOf(fresh({ required: true }));
      expect(error.code).toBe('gpu-unavailable');
      expect(error.message).toMatch(/cannot load the 'webgpu' native module.*GLIBC_2.38 not found/);
      expect(error.message).toMatch(/mesa-vulkan-drivers/);
    } finally {
      vi.doUnmock('webgpu');
    }
  });
});
