/**
 * TensorFlow.js for tests and benchmarks, as a user would run it in Node beside edgelake: its
 * Node builds ship no gradients (those come with the ESM builds), so the ESM builds of tfjs-core,
 * tfjs-layers, tfjs-data and the CPU and WebGPU backends are bundled once with esbuild and imported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TF from '@tensorflow/tfjs-core';
import type * as TFD from '@tensorflow/tfjs-data';
import type * as TFL from '@tensorflow/tfjs-layers';
import { build } from 'esbuild';

export type Tfjs = typeof TF & typeof TFL & { data: typeof TFD } & { WebGPUBackend: new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => TF.KernelBackend };

let loaded: Promise<Tfjs> | undefined;

/** TF.js (core with every gradient, layers, data, the CPU and WebGPU backends), loaded once per process. */
export function loadTfjs(): Promise<Tfjs> {
  loaded ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelake-tfjs-'));
    const outfile = join(dir, 'tfjs.mjs');
    try {
      await build({
        stdin: {
          contents: [
            "export * from '@tensorflow/tfjs-core';", "export * from '@tensorflow/tfjs-layers';", "export * as data from '@tensorflow/tfjs-data';", "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
            "import '@tensorflow/tfjs-backend-cpu';", "export { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';",
          ].join('\n'),
          resolveDir: process.cwd(),
        },
        bundle: true, format: 'esm', platform: 'node', mainFields: ['module', 'main'], outfile, logLevel: 'error',
        // tfjs-core's Node platform require()s 'util' at load, which an ESM bundle must provide.
        banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      });
      return (await import(pathToFileURL(outfile).href)) as Tfjs;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return loaded;
}

/**
 * Selects TF.js's WebGPU backend built on `device` (edgelake's: same adapter, same queue), as
 * `tf.tensor({ buffer })` needs for a loader's buffers; returns false, with the reason, if it fails.
 */
export async function useTfjsOn(tf: Tfjs, device: GPUDevice): Promise<{ ok: boolean; why: string }> {
  let failure = '';
  // The backend's constructor only checks that navigator.gpu exists; the device is ours.
  const g = globalThis as { navigator?: { gpu?: unknown } };
  g.navigator ??= {};
  g.navigator.gpu ??= { requestAdapter: () => Promise.resolve(null) };
  tf.registerBackend('webgpu', () => {
    try {
      return new tf.WebGPUBackend(device, device.adapterInfo);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }, 3);
  if (await tf.setBackend('webgpu')) return { ok: true, why: "WebGPU backend on edgelake's dawn-node device (same adapter and queue)" };
  return { ok: false, why: `the WebGPU backend failed to start (${failure || 'see the log above'})` };
}
