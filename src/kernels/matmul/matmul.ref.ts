import { EdgelakeError } from '../../errors.js';

export type Activation = 'none' | 'relu';
const ACTIVATIONS: readonly Activation[] = ['none', 'relu'];

/** out (m x n, row-major) = activation(op(a) op(b) + bias), or out += op(a) op(b). */
export interface MatmulArgs<B> {
  /** float32 buffers (Float32Array on the CPU). */
  a: B;
  b: B;
  out: B;
  m: number;
  n: number;
  k: number;
  /** false: a is m x k row-major; true: a is stored k x m (its transpose is used). */
  transA?: boolean;
  /** false: b is k x n row-major; true: b is stored n x k. */
  transB?: boolean;
  /** Length n, added to every row of the product. */
  bias?: B;
  /** Applied after the bias. */
  activation?: Activation;
  /** out += product (gradient accumulation); not combined with bias or activation. */
  accumulate?: boolean;
}

/** The float32 element counts each operand needs, after checking the shape and the options. */
export interface MatmulSizes {
  a: number;
  b: number;
  out: number;
  bias: number;
}

/** Validates `args` (not the buffers) and says how many floats each operand holds at least. */
export function matmulSizes<B>(args: MatmulArgs<B>, kernel = 'matmul'): MatmulSizes {
  const { m, n, k } = args;
  const fail = (why: string): never => {
    throw new EdgelakeError('invalid-input', `${kernel} ${m}x${n}x${k}: ${why}`);
  };
  for (const [name, value] of Object.entries({ m, n, k })) {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** 31) fail(`${name} must be an integer in 0..2^31, got ${value}`);
  }
  const activation = args.activation ?? 'none';
  if (!ACTIVATIONS.includes(activation)) fail(`activation must be one of ${ACTIVATIONS.join(', ')}, got '${activation}'`);
  if (args.accumulate && (args.bias !== undefined || activation !== 'none')) {
    fail('accumulate adds the bare product to out: it does not combine with bias or activation');
  }
  if (args.a === args.out || args.b === args.out || (args.bias !== undefined && args.bias === args.out)) {
    fail('out must not be an input (a, b or bias)');
  }
  return { a: m * k, b: k * n, out: m * n, bias: args.bias === undefined ? 0 : n };
}

/**
 * CPU reference of encodeMatmul: each dot product summed in double and rounded once to float32,
 * so it is at least as accurate as the GPU's float32 sums it checks.
 */
export function matmulRef(args: MatmulArgs<Float32Array>): void {
  const sizes = matmulSizes(args);
  const { a, b, out, bias, m, n, k } = args;
  for (const [name, array, needed] of [['a', a, sizes.a], ['b', b, sizes.b], ['out', out, sizes.out], ['bias', bias, sizes.bias]] as const) {
    if (array !== undefined && array.length < needed) {
      throw new EdgelakeError('invalid-input', `matmul ${m}x${n}x${k}: ${name} holds ${array.length} floats, needs ${needed}`);
    }
  }
  // Strides of op(a)[i][p] and op(b)[p][j] in the stored arrays.
  const [aRow, aDepth] = args.transA ? [1, m] : [k, 1];
  const [bDepth, bCol] = args.transB ? [1, k] : [n, 1];
  const relu = args.activation === 'relu';
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * aRow + p * aDepth] * b[p * bDepth + j * bCol];
      if (args.accumulate) sum += out[i * n + j];
      if (bias) sum += bias[j];
      out[i * n + j] = relu ? Math.max(sum, 0) : sum;
    }
  }
}
