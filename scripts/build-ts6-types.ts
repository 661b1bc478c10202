/**
 * The entries' declarations for TypeScript 6 and later (package.json exports, "types"): the same
 * as dist/*.d.ts without their first line, the `@webgpu/types` reference, since those versions'
 * DOM lib declares WebGPU itself and the two clash. TypeScript 5 gets dist/*.d.ts ("types@<6").
 *
 *   npx tsx scripts/build-ts6-types.ts   (after tsc -p tsconfig.build.json; part of npm run build)
 */
import { readFileSync, writeFileSync } from 'node:fs';

const ENTRIES = ['index', 'node', 'kernels/index', 'format/index', 'tfjs', 'onnx'];

for (const entry of ENTRIES) {
  const file = `dist/${entry}.d.ts`;
  const [first, ...rest] = readFileSync(file, 'utf8').split('\n');
  if (!first.includes('@webgpu/types')) throw new Error(`${file} does not start with the @webgpu/types reference`);
  writeFileSync(`dist/${entry}.ts6.d.ts`, rest.join('\n'));
}
