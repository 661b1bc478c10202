import { EdgelakeError } from '../errors.js';

// Argument checks shared by the selection helpers and the strategies: each names the function
// and the candidate at fault.

export function fail(fn: string, why: string): never {
  throw new EdgelakeError('invalid-input', `${fn}: ${why}`);
}

export function checkK(fn: string, k: number): void {
  if (!Number.isInteger(k) || k < 0) fail(fn, `k must be a non-negative integer, got ${k}`);
}

/** Ids must fit the Uint32Array we return and be distinct, or "k distinct ids" would not hold. */
export function checkCandidates(fn: string, candidates: ArrayLike<number>): void {
  const seen = new Set<number>();
  for (let i = 0; i < candidates.length; i++) {
    const id = candidates[i];
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) fail(fn, `candidate ${i} (${id}) is not an integer in [0, 2^32)`);
    if (seen.has(id)) fail(fn, `candidate ${id} appears twice`);
    seen.add(id);
  }
}

export function checkEmbeddings(fn: string, candidates: ArrayLike<number>, embeddings: Float32Array | undefined, dims: number | undefined): void {
  if (!Number.isInteger(dims) || (dims as number) < 1) fail(fn, `dims must be a positive integer, got ${dims}`);
  const d = dims as number;
  if (!(embeddings instanceof Float32Array)) fail(fn, 'embeddings must be a Float32Array');
  if (embeddings.length !== candidates.length * d) {
    fail(fn, `embeddings hold ${embeddings.length} floats, ${candidates.length} candidates x ${d} dims = ${candidates.length * d} needed`);
  }
  // NaN distances would compare false everywhere and silently bias the choice.
  for (let i = 0; i < embeddings.length; i++) {
    if (!Number.isFinite(embeddings[i])) fail(fn, `embedding of candidate ${candidates[Math.floor(i / d)]} has a non-finite value`);
  }
}

export function checkLabelled(fn: string, labelled: Float32Array | undefined, dims: number): void {
  if (labelled === undefined) return;
  if (!(labelled instanceof Float32Array)) fail(fn, 'labelledEmbeddings must be a Float32Array');
  if (labelled.length % dims !== 0) fail(fn, `labelledEmbeddings hold ${labelled.length} floats, not a multiple of dims ${dims}`);
  for (let i = 0; i < labelled.length; i++) {
    if (!Number.isFinite(labelled[i])) fail(fn, `labelled embedding row ${Math.floor(i / dims)} has a non-finite value`);
  }
}

export function toIds(candidates: ArrayLike<number>, positions: ArrayLike<number>): Uint32Array {
  const ids = new Uint32Array(positions.length);
  for (let i = 0; i < positions.length; i++) ids[i] = candidates[positions[i]];
  return ids;
}
