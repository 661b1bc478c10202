/**
 * A browser user's `edgelake`: bundled for the browser it pulls in no Node module, and installing
 * it needs no dawn-node.
 */
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, test } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe('edgelake in a browser', () => {
  test('a browser bundle of the public API imports no Node module', async () => {
    const reached: string[] = [];
    // Records each Node module the bundle would need instead of failing on the first.
    const recordNode: Plugin = {
      name: 'record-node-modules',
      setup(b) {
        b.onResolve({ filter: /.*/ }, (args) => {
          if (!args.path.startsWith('node:') && !NODE_BUILTINS.has(args.path)) return undefined;
          reached.push(`${args.path} (from ${args.importer.slice(REPO.length + 1)})`);
          return { path: args.path, external: true };
        });
      },
    };
    const result = await build({
      stdin: { contents: "export * from './src/index.ts';", resolveDir: REPO, loader: 'ts' },
      bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', plugins: [recordNode],
    });
    expect(reached).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('src/runtime/loader/loader.ts'); // it did bundle the API
    expect(inputs.filter((i) => /\.node\.ts$|node_modules\/webgpu\//.test(i))).toEqual([]);
    expect(result.outputFiles[0].text).not.toMatch(/from ["']node:/);
  });

  test('its install needs no dawn-node: webgpu is optional, @webgpu/types a dependency', () => {
    const manifest = JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8'));
    expect(manifest.dependencies).not.toHaveProperty('webgpu');
    expect(manifest.dependencies).toHaveProperty('@webgpu/types');
    expect(manifest.optionalDependencies).toHaveProperty('webgpu');
    expect(manifest.files).toContain('LICENSE');
  });
});
