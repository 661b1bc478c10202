import { EdgelakeError } from '../../errors.js';
import type { TensorMeta } from '../../format/manifest.js';
import { nameInQuery, queryError, type Expr } from './parse.js';

/** A sample's array (a tensor's value, a slice of one), row-major. */
export interface NdArray {
  data: ArrayLike<number>;
  shape: number[];
}

export type Value = number | string | NdArray;

/** One sample's values of the tensors an expression reads: numbers for scalars, arrays otherwise. */
export type Sample = Record<string, Value>;

/** An expression made ready to run on sample after sample, and the tensors it reads. */
export interface Compiled {
  run(sample: Sample): Value;
  /** Whether a sample is selected: its value's truth, as NumPy's bool() (an array of several elements is refused). */
  test(sample: Sample): boolean;
  /** Its value as a number, to sort by: an array must be reduced or indexed first. */
  key(sample: Sample): number;
  tensors: Set<string>;
  /**
   * Its reductions of a whole tensor (`mean(image)`), by the name a caller may put in a sample
   * once it has computed them for a batch at once (on a device): run uses such a value when there.
   */
  reductions: Map<string, { fn: Reduction; tensor: string }>;
}

export type Reduction = 'mean' | 'sum' | 'min' | 'max';

/**
 * Compiles an expression against a dataset's tensors (and `extra` values the caller computes, such
 * as a learner's uncertainty): names are checked, class names compared with a class label become
 * its index, and a mistake is refused with its column.
 */
export function compile(expr: Expr, tensors: Record<string, TensorMeta>, text: string, extra: ReadonlySet<string> = new Set(), at = expr.at): Compiled {
  const used = new Set<string>();
  const reductions: Compiled['reductions'] = new Map();
  const fail = (message: string, at: number): never => {
    throw queryError(text, message, at);
  };
  const isText = (e: Expr) => e.kind === 'tensor' && Object.hasOwn(tensors, e.name) && isTextTensor(tensors[e.name]);
  /** The string literals compared with text: those stay strings. */
  const texts = new Set<Expr>();
  /** A string compared with a class label tensor is that class's index; with text, a string; with anything else it is a mistake. */
  const classIndex = (side: Expr, other: Expr): Expr => {
    if (other.kind !== 'string' || side.kind !== 'tensor' || !Object.hasOwn(tensors, side.name)) return other; // a string left is refused below
    if (isText(side)) {
      texts.add(other);
      return other;
    }
    const names = tensors[side.name].classNames;
    if (!names) return fail(`tensor ${side.name} has no class names to compare '${other.value}' with`, other.at);
    const index = names.indexOf(other.value);
    if (index < 0) fail(`tensor ${side.name} has no class '${other.value}' (classes: ${names.join(', ')})`, other.at);
    return { kind: 'number', value: index, at: other.at };
  };
  /** Whether an expression's values are a float32 tensor's own: the tensor, its elements, its min or max, negated. */
  const isFloat32 = (e: Expr): boolean => {
    if (e.kind === 'tensor') return Object.hasOwn(tensors, e.name) && tensors[e.name].dtype === 'float32';
    if (e.kind === 'index') return isFloat32(e.target);
    if (e.kind === 'call') return (e.name === 'min' || e.name === 'max') && e.args.length === 1 && isFloat32(e.args[0]);
    return e.kind === 'unary' && e.op === '-' && isFloat32(e.operand);
  };
  /** A number compared with float32 values is rounded to float32 first, as NumPy 2 casts a Python float: np.float32(0.1) == 0.1. */
  const rounded = (literal: Expr, other: Expr): Expr => {
    if (!isFloat32(other)) return literal;
    if (literal.kind === 'number') return { ...literal, value: Math.fround(literal.value) };
    const negated = literal.kind === 'unary' && literal.op === '-' && literal.operand.kind === 'number' ? literal.operand.value : undefined;
    return negated === undefined ? literal : { kind: 'number', value: Math.fround(-negated), at: literal.at };
  };
  const go = (e: Expr): ((s: Sample) => Value) => {
    switch (e.kind) {
      case 'number': {
        const v = e.value;
        return () => v;
      }
      case 'string': {
        if (texts.has(e)) {
          const v = e.value;
          return () => v;
        }
        if (Object.hasOwn(tensors, e.value) || extra.has(e.value)) fail(`'${e.value}' is a string (a class name or text); write the tensor as ${nameInQuery(e.value)}`, e.at);
        const quoted = `'${e.value.replaceAll("'", "''")}'`;
        const uses = Object.keys(tensors).flatMap((name) => {
          const t = nameInQuery(name);
          return tensors[name].classNames ? [`${t} == ${quoted}`] : isTextTensor(tensors[name]) ? [`${t} == ${quoted}`, `contains(${t}, ${quoted})`] : [];
        });
        if (uses.length === 0) fail(`a string is a class name or text, and this dataset has no class label or text tensor to compare ${quoted} with`, e.at);
        return fail(`a string is a class name or text, compared with a class label or text tensor (${uses.join(' or ')})`, e.at);
      }
      case 'tensor': {
        if (!Object.hasOwn(tensors, e.name) && !extra.has(e.name)) fail(`no tensor '${e.name}' (tensors: ${[...Object.keys(tensors), ...extra].join(', ')})`, e.at);
        used.add(e.name);
        const name = e.name;
        return (s) => s[name];
      }
      case 'call': {
        const [only] = e.args;
        const fixed = e.name === 'shape' && e.args.length === 1 && only.kind === 'tensor' && Object.hasOwn(tensors, only.name) ? tensors[only.name].shape : undefined;
        if (fixed?.every((d) => d !== null)) {
          // The manifest's shape: the tensor's chunks need not be read for it.
          const shape = { data: fixed as number[], shape: [fixed.length] };
          return () => shape;
        }
        if (e.name === 'contains') {
          // Deep Lake's CONTAINS(text, 'word'): whether the text holds the string, case and all.
          const [text, part] = e.args;
          if (e.args.length !== 2 || !isText(text) || part.kind !== 'string') fail(`contains takes a text tensor and a string: contains(caption, 'dog')`, e.at);
          texts.add(part);
          const [haystack, needle] = [go(text), go(part)];
          return (s) => +(haystack(s) as string).includes(needle(s) as string);
        }
        const args = e.args.map(go);
        if (e.name === 'shape') {
          if (args.length !== 1) fail('shape takes one tensor', e.at);
          return (s) => {
            const v = args[0](s);
            return { data: typeof v === 'object' ? v.shape : [], shape: [typeof v === 'object' ? v.shape.length : 0] };
          };
        }
        if (!Object.hasOwn(REDUCTIONS, e.name)) fail(`no function '${e.name}' (functions: ${[...Object.keys(REDUCTIONS), 'shape', 'contains'].join(', ')})`, e.at);
        if (args.length !== 1) fail(`${e.name} takes one argument`, e.at);
        const fn = e.name as Reduction;
        const reduce = (xs: ArrayLike<number>) => (xs.length === 0 && (fn === 'min' || fn === 'max') ? fail(`${fn} of an empty array`, e.at) : REDUCTIONS[fn](xs));
        const whole = e.args[0];
        if (whole.kind === 'tensor') {
          const key = `${fn}(${whole.name})`;
          reductions.set(key, { fn, tensor: whole.name });
          return (s) => (Object.hasOwn(s, key) ? s[key] : reduce(numbersOf(args[0](s), e.name, e.at, fail)));
        }
        return (s) => reduce(numbersOf(args[0](s), e.name, e.at, fail));
      }
      case 'index': {
        const target = go(e.target);
        const parts = e.parts.map((p) => (p.kind === 'at' ? { kind: 'at' as const, index: go(p.index) } : { kind: 'slice' as const, start: p.start && go(p.start), stop: p.stop && go(p.stop), step: p.step && go(p.step) }));
        return (s) => index(target(s), parts, s, e.at, fail);
      }
      case 'unary': {
        const operand = go(e.operand);
        const at = startOf(e.operand);
        return e.op === '-' ? (s) => -scalar(operand(s), '-', e.at, fail) : (s) => (truthy(operand(s), at, fail) ? 0 : 1);
      }
      case 'in': {
        const operand = go(e.operand);
        const values = e.values.map((v) => go(rounded(classIndex(e.operand, v), e.operand)));
        return (s) => {
          const v = operand(s);
          const found = values.some((f) => same(v, f(s), 'in', e.at, fail));
          return found !== e.negated ? 1 : 0;
        };
      }
      case 'binary': {
        const compared = (side: Expr, other: Expr) => (COMPARISONS.has(e.op) ? rounded(classIndex(other, side), other) : classIndex(other, side));
        const [left, right] = [go(compared(e.left, e.right)), go(compared(e.right, e.left))];
        const [l, r] = [startOf(e.left), startOf(e.right)];
        if (e.op === 'and') return (s) => (truthy(left(s), l, fail) && truthy(right(s), r, fail) ? 1 : 0);
        if (e.op === 'or') return (s) => (truthy(left(s), l, fail) || truthy(right(s), r, fail) ? 1 : 0);
        if (e.op === '==') return (s) => (same(left(s), right(s), e.op, e.at, fail) ? 1 : 0);
        if (e.op === '!=') return (s) => (same(left(s), right(s), e.op, e.at, fail) ? 0 : 1);
        const f = ARITHMETIC[e.op];
        return (s) => f(scalar(left(s), e.op, e.at, fail), scalar(right(s), e.op, e.at, fail));
      }
    }
  };
  const run = go(expr);
  const start = startOf(expr);
  return { run, test: (s) => truthy(run(s), start, fail), key: (s) => scalar(run(s), 'order by', at, fail), tensors: used, reductions };
}

/** A tensor whose samples a query reads as text (UTF-8): text htype, stored as bytes. */
export const isTextTensor = (t: TensorMeta) => t.htype === 'text' && t.dtype === 'bytes';

/** A value's truth, as NumPy's bool(): non-zero (NaN included) is true, an array of one element is that element's. */
function truthy(v: Value, at: number, fail: Fail): boolean {
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (v.data.length !== 1) fail(`the truth of an array of ${v.data.length} elements is ambiguous; reduce it first, e.g. mean(...) > 0, or index it`, at);
  return v.data[0] !== 0;
}

/** The column an expression starts at (a binary expression's `at` is its operator's, an index's its '['). */
function startOf(e: Expr): number {
  return e.kind === 'index' ? startOf(e.target) : e.kind === 'binary' ? startOf(e.left) : e.kind === 'in' ? startOf(e.operand) : e.at;
}

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

const REDUCTIONS: Record<Reduction, (xs: ArrayLike<number>) => number> = {
  mean: (xs) => sumOf(xs) / xs.length,
  sum: sumOf,
  min: (xs) => extreme(xs, (a, b) => a < b),
  max: (xs) => extreme(xs, (a, b) => a > b),
};

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b, '-': (a, b) => a - b, '*': (a, b) => a * b, '/': (a, b) => a / b, '%': (a, b) => a % b,
  '<': (a, b) => +(a < b), '<=': (a, b) => +(a <= b), '>': (a, b) => +(a > b), '>=': (a, b) => +(a >= b),
};

function sumOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

function extreme(xs: ArrayLike<number>, better: (a: number, b: number) => boolean): number {
  let m = xs[0];
  for (let i = 1; i < xs.length; i++) if (better(xs[i], m)) m = xs[i];
  return m;
}

type Fail = (message: string, at: number) => never;

function numbersOf(v: Value, what: string, at: number, fail: Fail): ArrayLike<number> {
  if (typeof v === 'number') return [v];
  if (typeof v === 'string') return fail(`${what} of text`, at);
  return v.data;
}

function scalar(v: Value, what: string, at: number, fail: Fail): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return fail(`'${what}' needs a number, not text (text is compared with ==, != and in, or searched with contains)`, at);
  if (v.data.length === 1) return v.data[0];
  return fail(`'${what}' needs a number; reduce an array first (mean, min, max, sum) or index it`, at);
}

/** `==`, `!=` and `in` compare numbers (an array of one element is that element, a longer one a mistake), or text with text. */
function same(a: Value, b: Value, what: string, at: number, fail: Fail): boolean {
  if (typeof a === 'string' || typeof b === 'string') return typeof a === typeof b ? a === b : fail(`'${what}' compares text with a number`, at);
  return scalar(a, what, at, fail) === scalar(b, what, at, fail);
}

type CompiledPart = { kind: 'at'; index: (s: Sample) => Value } | { kind: 'slice'; start?: (s: Sample) => Value; stop?: (s: Sample) => Value; step?: (s: Sample) => Value };

/** NumPy-style basic indexing: an index per leading dimension (negative from the end), or start:stop:step. */
function index(v: Value, parts: CompiledPart[], s: Sample, at: number, fail: Fail): Value {
  if (typeof v !== 'object') return fail('only an array can be indexed', at);
  if (parts.length > v.shape.length) fail(`${parts.length} indices for an array of ${v.shape.length} dimensions`, at);
  const whole = (x: (s: Sample) => Value, what: string) => {
    const n = scalar(x(s), what, at, fail);
    return Number.isInteger(n) ? n : fail(`${what} ${n} is not a whole number`, at);
  };
  const picks = v.shape.map((size, d): number[] => {
    const p: CompiledPart | undefined = parts[d];
    if (!p) return Array.from({ length: size }, (_, i) => i);
    if (p.kind === 'at') {
      const n = whole(p.index, 'index');
      const i = n < 0 ? size + n : n;
      if (!(i >= 0 && i < size)) fail(`index ${n} is outside a dimension of ${size}`, at);
      return [i];
    }
    // Python's slice.indices: bounds from the end when negative, clamped; a negative step walks back from the last element.
    const step = p.step ? whole(p.step, 'slice step') : 1;
    if (step === 0) fail('a slice step of 0', at);
    const [lowest, highest] = step > 0 ? [0, size] : [-1, size - 1];
    const bound = (x: ((s: Sample) => Value) | undefined, otherwise: number) => {
      if (!x) return otherwise;
      const n = whole(x, 'slice bound');
      return Math.max(lowest, Math.min(highest, n < 0 ? size + n : n));
    };
    const start = bound(p.start, step > 0 ? lowest : highest);
    const stop = bound(p.stop, step > 0 ? highest : lowest);
    const picked: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) picked.push(i);
    return picked;
  });
  const strides = v.shape.map((_, d) => v.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  const walk = (d: number, offset: number) => {
    if (d === picks.length) return void out.push(v.data[offset]);
    for (const i of picks[d]) walk(d + 1, offset + i * strides[d]);
  };
  walk(0, 0);
  const shape = picks.map((p, d) => (parts[d]?.kind === 'at' ? -1 : p.length)).filter((n) => n >= 0);
  return shape.length === 0 ? out[0] : { data: out, shape };
}
