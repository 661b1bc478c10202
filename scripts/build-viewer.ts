/**
 * Bundles the dataset viewer (src/viewer) into one static folder: index.html, viewer.js (the
 * page and the edgelake code it uses, bundled with esbuild) and style.css. Any static host serves
 * it; `edgelake view` serves it from the package's dist/viewer. `npm run build` runs this after tsc.
 *
 *   npx tsx scripts/build-viewer.ts [OUT_DIR]      (default dist/viewer)
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const SRC = fileURLToPath(new URL('../src/viewer/', import.meta.url));
export const VIEWER_DIR = fileURLToPath(new URL('../dist/viewer/', import.meta.url));

export async function buildViewer(outDir = VIEWER_DIR): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(SRC, 'main.ts')],
    outfile: join(outDir, 'viewer.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'style.css']) await copyFile(join(SRC, file), join(outDir, file));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? VIEWER_DIR);
  await buildViewer(out);
  console.log(`build-viewer: wrote ${out}`);
}
