import type { UncertaintyMeasure } from '../../kernels/uncertainty/uncertainty.ref.js';
import type { Batch } from '../loader/loader.js';
import type { BatchSource, DataOptions, EpochStats, FitOptions } from './model.js';

/**
 * What active learning and training need of a classifier: edgelake's Model is one; an adapter
 * around a TF.js or ONNX model is another. Inputs are float32 rows (typed arrays, or GPU buffers
 * on the learner's device), as the Loader's transforms make them.
 */
export interface Learner {
  readonly classes: number;
  /** Trains on the batches (warm: a second fit goes on from the first's weights). */
  fit(source: BatchSource, options: FitOptions): Promise<EpochStats[]>;
  evaluate(source: AsyncIterable<Batch>, options?: DataOptions): Promise<{ loss: number; accuracy: number; samples: number }>;
  /** n x classes probabilities; with `passes` > 1, MC-dropout passes x n x classes. */
  predictProba(input: Float32Array | GPUBuffer, n: number, options?: { passes?: number; batchSize?: number }): Promise<Float32Array>;
  /** Per sample, higher = less sure. */
  uncertainty(input: Float32Array | GPUBuffer, n: number, measure: UncertaintyMeasure, options?: { passes?: number; batchSize?: number }): Promise<Float32Array>;
  dispose(): void;
}
