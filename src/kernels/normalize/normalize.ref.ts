import { EdgelakeError } from '../../errors.js';

/**
 * CPU reference of the normalize kernel: out[i] = (input[i] * scale - mean[c]) / std[c] with
 * c = i % channels, in float32 step by step exactly as the shader computes it (see
 * normalize.wgsl.ts), so GPU and CPU agree bit for bit.
 */
export function normalizeU8(
  input: Uint8Array,
  channels: number,
  mean: readonly number[],
  std: readonly number[],
  scale: number,
): Float32Array {
  const stats = normalizeStats(channels, mean, std, scale);
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const c = (i % channels) * 2;
    // Both steps are single float32 operations: rounding the exact double result once.
    out[i] = Math.fround(input[i] - stats[c]) * stats[c + 1];
  }
  return out;
}

/** Per channel (mean / scale, scale / std) in float32: the table the shader reads. */
export function normalizeStats(
  channels: number,
  mean: readonly number[],
  std: readonly number[],
  scale: number,
): Float32Array {
  if (!Number.isInteger(channels) || channels < 1) {
    const why = `channels must be a positive integer, got ${channels}`;
    throw new EdgelakeError('invalid-input', `normalize: ${why}`);
  }
  if (mean.length !== channels || std.length !== channels) {
    throw new EdgelakeError(
      'invalid-input',
      `normalize: ${channels} channels need ${channels} means and stds, got ${mean.length} and ${std.length}`,
    );
  }
  if (!Number.isFinite(scale) || scale === 0) {
    throw new EdgelakeError('invalid-input', `normalize: scale must be finite and non-zero, got ${scale}`);
  }
  const stats = new Float32Array(channels * 2);
  for (let c = 0; c < channels; c++) {
    if (!Number.isFinite(mean[c]) || !Number.isFinite(std[c]) || std[c] === 0) {
      throw new EdgelakeError(
        'invalid-input',
        `normalize: channel ${c} needs a finite mean and a finite non-zero std, got ${mean[c]} and ${std[c]}`,
      );
    }
    stats[c * 2] = mean[c] / scale;
    stats[c * 2 + 1] = scale / std[c];
    if (!Number.isFinite(stats[c * 2]) || !Number.isFinite(stats[c * 2 + 1])) {
      const why = `channel ${c} overflows float32 with scale ${scale}`;
      throw new EdgelakeError('invalid-input', `normalize: ${why}`);
    }
  }
  return stats;
}
