import { EdgelakeError } from '../../errors.js';

/** gradInput[i] = output[i] > 0 ? gradOutput[i] : 0, for i < count: ReLU's backward pass from its output. */
export interface ReluBackwardArgs<B> {
  gradOutput: B;
  /** The ReLU's output (its forward result), float32. */
  output: B;
  /** May be gradOutput itself (in place), not output. */
  gradInput: B;
  count: number;
}

/** output[c] (+)= sum over r of input[r * cols + c]: a dense layer's bias gradient. */
export interface ColumnSumArgs<B> {
  /** rows x cols, row-major. */
  input: B;
  /** cols values; not input. */
  output: B;
  rows: number;
  cols: number;
  /** Add to output instead of overwriting it (gradient accumulation). */
  accumulate?: boolean;
}

/** Validates the counts and the aliasing the GPU kernels cannot bind; CPU and GPU share it. */
export function checkReluBackward<B>(args: ReluBackwardArgs<B>): void {
  checkCount('reluBackward', 'count', args.count);
  if (args.gradInput === args.output) {
    throw new EdgelakeError('invalid-input', 'reluBackward: gradInput must not be output (it may be gradOutput, in place)');
  }
}

export function checkColumnSum<B>(args: ColumnSumArgs<B>): void {
  checkCount('columnSum', 'rows', args.rows);
  checkCount('columnSum', 'cols', args.cols);
  if (args.input === args.output) throw new EdgelakeError('invalid-input', 'columnSum: output must not be input');
}

function checkCount(kernel: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 31) {
    throw new EdgelakeError('invalid-input', `${kernel}: ${name} must be an integer in 0..2^31, got ${value}`);
  }
}

function checkLength(kernel: string, name: string, array: Float32Array, needed: number): void {
  if (array.length < needed) {
    throw new EdgelakeError('invalid-input', `${kernel}: ${name} holds ${array.length} floats, needs ${needed}`);
  }
}

/** CPU reference of encodeReluBackward; exact (a select, no arithmetic). */
export function reluBackwardRef(args: ReluBackwardArgs<Float32Array>): void {
  checkReluBackward(args);
  const { gradOutput, output, gradInput, count } = args;
  checkLength('reluBackward', 'gradOutput', gradOutput, count);
  checkLength('reluBackward', 'output', output, count);
  checkLength('reluBackward', 'gradInput', gradInput, count);
  for (let i = 0; i < count; i++) gradInput[i] = output[i] > 0 ? gradOutput[i] : 0;
}

/** CPU reference of encodeColumnSum: each column summed in double, rounded once to float32. */
export function columnSumRef(args: ColumnSumArgs<Float32Array>): void {
  checkColumnSum(args);
  const { input, output, rows, cols } = args;
  checkLength('columnSum', 'input', input, rows * cols);
  checkLength('columnSum', 'output', output, cols);
  for (let c = 0; c < cols; c++) {
    let sum = args.accumulate ? output[c] : 0;
    for (let r = 0; r < rows; r++) sum += input[r * cols + c];
    output[c] = sum;
  }
}
