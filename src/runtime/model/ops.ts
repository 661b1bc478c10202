import { encodeConv2d, encodeConv2dBackwardInput, encodeConv2dBackwardWeight } from '../../kernels/conv/conv.js';
import {
  conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dRef,
  type Conv2dArgs, type Conv2dBackwardInputArgs, type Conv2dBackwardWeightArgs,
} from '../../kernels/conv/conv.ref.js';
import { encodeColumnSum, encodeReluBackward } from '../../kernels/dense/dense.js';
import { columnSumRef, reluBackwardRef, type ColumnSumArgs, type ReluBackwardArgs } from '../../kernels/dense/dense.ref.js';
import { encodeDropout, encodeDropoutBackward } from '../../kernels/dropout/dropout.js';
import { dropoutBackwardRef, dropoutRef, type DropoutArgs, type DropoutBackwardArgs } from '../../kernels/dropout/dropout.ref.js';
import { encodeSoftmax, encodeSoftmaxCrossEntropy } from '../../kernels/loss/loss.js';
import { softmaxCrossEntropyRef, softmaxRef, type SoftmaxArgs, type SoftmaxCrossEntropyArgs } from '../../kernels/loss/loss.ref.js';
import { encodeMatmul } from '../../kernels/matmul/matmul.js';
import { matmulRef, type MatmulArgs } from '../../kernels/matmul/matmul.ref.js';
import { encodeAdam, encodeSgd } from '../../kernels/optimizer/optimizer.js';
import { adamRef, sgdRef, type AdamArgs, type SgdArgs } from '../../kernels/optimizer/optimizer.ref.js';
import type { Transients } from '../../kernels/pipelines.js';
import { encodeMaxPool, encodeMaxPoolBackward } from '../../kernels/pool/pool.js';
import { maxPoolBackwardRef, maxPoolRef, type MaxPoolArgs, type MaxPoolBackwardArgs } from '../../kernels/pool/pool.ref.js';
import { encodeSum } from '../../kernels/reduce/reduce.js';
import { sumRef, type SumArgs } from '../../kernels/reduce/reduce.ref.js';
import { encodeUncertainty } from '../../kernels/uncertainty/uncertainty.js';
import { uncertaintyRef, type UncertaintyArgs } from '../../kernels/uncertainty/uncertainty.ref.js';

/**
 * The one place a model op is wired: its arguments (Ops) and its two implementations (OPS).
 * A new op is an entry in each, beside its kernel family; both backends read OPS.
 */

/** Every op a model uses, by name, with its arguments over buffers of type B. */
export interface Ops<B> {
  matmul: MatmulArgs<B>;
  reluBackward: ReluBackwardArgs<B>;
  columnSum: ColumnSumArgs<B>;
  conv2d: Conv2dArgs<B>;
  conv2dBackwardInput: Conv2dBackwardInputArgs<B>;
  conv2dBackwardWeight: Conv2dBackwardWeightArgs<B>;
  maxPool: MaxPoolArgs<B, B>;
  maxPoolBackward: MaxPoolBackwardArgs<B, B>;
  softmax: SoftmaxArgs<B>;
  softmaxCrossEntropy: SoftmaxCrossEntropyArgs<B, B>;
  sum: SumArgs<B>;
  dropout: DropoutArgs<B>;
  dropoutBackward: DropoutBackwardArgs<B>;
  sgd: SgdArgs<B>;
  adam: AdamArgs<B>;
  uncertainty: UncertaintyArgs<B>;
}
export type OpName = keyof Ops<unknown>;

/** How one op runs on each backend. */
export interface OpKernels<K extends OpName> {
  /** The CPU reference; typed arrays stand in for the tensors (Int32Array labels, Uint32Array argmax). */
  ref: (args: never) => void;
  /** Records the op into a pass the caller owns; transients go once the pass is submitted. */
  encode: (device: GPUDevice, pass: GPUComputePassEncoder, args: Ops<GPUBuffer>[K], transients: Transients) => Transients;
}

export const OPS: { readonly [K in OpName]: OpKernels<K> } = {
  matmul: { ref: matmulRef, encode: encodeMatmul },
  reluBackward: { ref: reluBackwardRef, encode: encodeReluBackward },
  columnSum: { ref: columnSumRef, encode: encodeColumnSum },
  conv2d: { ref: conv2dRef, encode: encodeConv2d },
  conv2dBackwardInput: { ref: conv2dBackwardInputRef, encode: encodeConv2dBackwardInput },
  conv2dBackwardWeight: { ref: conv2dBackwardWeightRef, encode: encodeConv2dBackwardWeight },
  maxPool: { ref: maxPoolRef, encode: encodeMaxPool },
  maxPoolBackward: { ref: maxPoolBackwardRef, encode: encodeMaxPoolBackward },
  softmax: { ref: softmaxRef, encode: encodeSoftmax },
  softmaxCrossEntropy: { ref: softmaxCrossEntropyRef, encode: encodeSoftmaxCrossEntropy },
  sum: { ref: sumRef, encode: encodeSum },
  dropout: { ref: dropoutRef, encode: encodeDropout },
  dropoutBackward: { ref: dropoutBackwardRef, encode: encodeDropoutBackward },
  sgd: { ref: sgdRef, encode: encodeSgd },
  adam: { ref: adamRef, encode: encodeAdam },
  uncertainty: { ref: uncertaintyRef, encode: encodeUncertainty },
};
