import { runCli } from '../../src/node.js';

/** Runs an edgelake command in-process and returns its exit code and what it printed. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

export { SUBSET_DIR as SUBSET, FASHION_CLASSES, buildSubsetArgs } from '../../scripts/make-subset.js';
