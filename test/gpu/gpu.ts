import { afterAll, afterEach, beforeEach, describe, test } from 'vitest';
import { formatAdapter, type Gpu, isEdgelakeError } from '../../src/index.js';
import { getNodeDevice } from '../../src/node.js';

/**
 * The one way GPU tests get a device: opened once per test file with dawn-node, or null
 * (the tests skip with a line saying why; under EDGELAKE_REQUIRE_GPU=1 the file fails instead).
 *
 *   gpuDescribe('decode', (gpu) => { test('...', async () => { gpu.device... }) })
 *
 * Each test runs inside a validation error scope and must destroy every buffer it creates.
 */
export const gpu: Gpu | null = await open();

async function open(): Promise<Gpu | null> {
  try {
    const opened = await getNodeDevice({ required: true });
    console.log(`WebGPU adapter: ${formatAdapter(opened!.adapter)}`);
    return opened;
  } catch (error) {
    if (!isEdgelakeError(error, 'gpu-unavailable') || process.env.EDGELAKE_REQUIRE_GPU === '1') {
      throw error;
    }
    console.warn(`skipping: no WebGPU adapter (${error.message.replace(/^No WebGPU adapter: /, '')})`);
    return null;
  }
}

const live = new Set<GPUBuffer>();
if (gpu) {
  trackBuffers(gpu.device);
  afterAll(() => gpu.device.destroy());
}

// Wraps this device's createBuffer so that each buffer knows when it was destroyed.
function trackBuffers(device: GPUDevice): void {
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor) => {
    const buffer = create(descriptor);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    live.add(buffer);
    return buffer;
  };
}

export function gpuDescribe(name: string, fn: (gpu: Gpu) => void): void {
  if (!gpu) {
    describe.skip(name, () => test('needs a WebGPU adapter', () => {}));
    return;
  }
  const { device } = gpu;
  describe(name, () => {
    let before = new Set<GPUBuffer>();
    beforeEach(() => {
      before = new Set(live);
      device.pushErrorScope('validation');
    });
    afterEach(async () => {
      const error = await device.popErrorScope();
      const leaked = [...live].filter((buffer) => !before.has(buffer));
      for (const buffer of leaked) buffer.destroy(); // so one failure does not cascade
      if (error) throw new Error(`WebGPU validation error: ${error.message}`);
      if (leaked.length > 0) {
        const labels = leaked.map((buffer) => `'${buffer.label}'`).join(', ');
        throw new Error(`the test leaked ${leaked.length} GPU buffer(s), never destroyed: ${labels}`);
      }
    });
    fn(gpu);
  });
}
