// A query's expressions run on one sample: NumPy's indexing and slicing, SQL's strings, and the mistakes refused with their place.
import { describe, expect, it } from 'vitest';
import { compile, type Sample, type Value } from '../../../src/runtime/query/evaluate.js';
import { parseQuery } from '../../../src/runtime/query/parse.js';
import type { TensorMeta } from '../../../src/format/manifest.js';

const meta = (m: Pick<TensorMeta, 'htype' | 'dtype' | 'shape'> & Partial<TensorMeta>): TensorMeta => ({ sampleCompression: 'none', chunkCompression: 'none', chunks: [], ...m });
const tensors = {
  image: meta({ htype: 'image', dtype: 'uint8', shape: [4, 5, 1] }),
  label: meta({ htype: 'class_label', dtype: 'int32', shape: [], classNames: ['T-shirt/top', "It's", 'Sandal'] }),
  score: meta({ htype: 'generic', dtype: 'float32', shape: [] }),
  'my-tensor': meta({ htype: 'generic', dtype: 'int32', shape: [] }),
  version: meta({ htype: 'generic', dtype: 'int32', shape: [] }),
};
/** np.arange(20).reshape(4, 5, 1) */
const image = { data: Array.from({ length: 20 }, (_, i) => i), shape: [4, 5, 1] };
const sample: Sample = { image, label: 1, score: 0.5, 'my-tensor': 7, version: 3 };

function run(expr: string, values: Partial<Sample> = {}): Value {
  const text = `select * where ${expr}`;
  return compile(parseQuery(text).where!, tensors, text).run({ ...sample, ...values } as Sample);
}
/** What `where EXPR` makes of a sample: selected or not. */
function selects(expr: string, values: Partial<Sample> = {}): boolean {
  const text = `select * where ${expr}`;
  return compile(parseQuery(text).where!, tensors, text).test({ ...sample, ...values } as Sample);
}
const array = (expr: string) => {
  const v = run(expr);
  return typeof v === 'object' ? { data: Array.from(v.data), shape: v.shape } : v;
};

describe('query expressions', () => {
  it('index and slice as NumPy does: negative from the end, bounds clamped, steps either way', () => {
    const cases: [string, number[], number[]][] = [
      ['image[::2, 1::2, 0]', [1, 3, 11, 13], [2, 2]],
      ['image[::-1, 0, 0]', [15, 10, 5, 0], [4]],
      ['image[3:0:-1, -1, 0]', [19, 14, 9], [3]],
      ['image[-1:-5:-2, 0, 0]', [15, 5], [2]],
      ['image[::-2, ::-3, 0]', [19, 16, 9, 6], [2, 2]],
      ['image[-10:2, 0, 0]', [0, 5], [2]],
      ['image[10:, 0, 0]', [], [0]],
      ['image[:-10, 0, 0]', [], [0]],
      ['image[1, 1:4]', [6, 7, 8], [3, 1]],
    ];
    for (const [expr, data, shape] of cases) expect(array(expr), expr).toEqual({ data, shape });
    expect(run('image[-1, -1, 0]')).toBe(19);
    expect(run('sum(image[::2, 1::2, 0])')).toBe(28);
  });

  it("compares class names, quotes doubled as in SQL ('It''s'), and refuses a string anywhere else", () => {
    expect(run("label == 'It''s'")).toBe(1);
    expect(run("label in ('Sandal', 'It''s')")).toBe(1);
    const refused: [string, string][] = [
      ["score == 'Sandal'", "tensor score has no class names to compare 'Sandal' with at column 25"],
      ["label + 0 == 'Sandal'", "a string is a class name or text, compared with a class label or text tensor (label == 'Sandal') at column 29"],
      ["label == 'Sneaker'", "tensor label has no class 'Sneaker' (classes: T-shirt/top, It's, Sandal) at column 25"],
    ];
    for (const [expr, message] of refused) expect(() => run(expr), expr).toThrow(message);
  });

  it('refuses what NumPy refuses: fractional indices, a step of 0, min of nothing, an array where a number goes', () => {
    const refused: [string, string][] = [
      ['sum(image[0.5:2, 0, 0]) > 0', 'slice bound 0.5 is not a whole number at column 25'],
      ['image[label / 2, 0, 0] > 0', 'index 0.5 is not a whole number at column 21'],
      ['sum(image[::0]) > 0', 'a slice step of 0 at column 25'],
      ['min(image[3:1]) > 0', 'min of an empty array at column 16'],
      ['image[0:2] == image[0:2]', "'==' needs a number; reduce an array first (mean, min, max, sum) or index it at column 27"],
      ['label in (image)', "'in' needs a number; reduce an array first (mean, min, max, sum) or index it at column 22"],
    ];
    for (const [expr, message] of refused) expect(() => run(expr), expr).toThrow(message);
    expect(run('sum(image[3:1])')).toBe(0); // as np.sum of an empty array
    expect(run('(label - 5) % 3')).toBe(-1); // % keeps the dividend's sign, as in SQL (NumPy's floor-mod would give 2)
  });

  it('points at a mistake by line and column in a query of several lines, its caret under it', () => {
    const text = "select * where label == 1\n\tand labl == 2";
    expect(() => compile(parseQuery(text).where!, tensors, text)).toThrow("no tensor 'labl' (tensors: image, label, score, my-tensor, version) at line 2, column 6\n  \tand labl == 2\n  \t    ^");
  });

  it("takes an array as a condition as NumPy's bool() does: one element is that element, more are refused; NaN is true", () => {
    expect([selects('image[1, 1]'), selects('image[0, 0]'), selects('not image[0, 0]'), selects('image[0, 0] or image[1, 1]')]).toEqual([true, false, true, true]);
    expect([selects('score', { score: NaN }), selects('not score', { score: NaN }), selects('score and 1', { score: NaN })]).toEqual([true, false, true]);
    expect([selects('score', { score: 0 }), selects('-score', { score: -0 })]).toEqual([false, false]);
    const refused: [string, string][] = [
      ['image', 'the truth of an array of 20 elements is ambiguous; reduce it first, e.g. mean(...) > 0, or index it at column 16'],
      ['shape(image)', 'the truth of an array of 3 elements is ambiguous; reduce it first, e.g. mean(...) > 0, or index it at column 16'],
      ['label == 1 and not image[0]', 'the truth of an array of 5 elements is ambiguous; reduce it first, e.g. mean(...) > 0, or index it at column 35'],
      ['image[3:1, 0, 0] or 1', 'the truth of an array of 0 elements is ambiguous; reduce it first, e.g. mean(...) > 0, or index it at column 16'],
    ];
    for (const [expr, message] of refused) expect(() => selects(expr), expr).toThrow(message);
  });

  it('compares a float32 tensor with a number as NumPy 2 does: the number rounded to float32 first; integers exactly', () => {
    const tenth = { score: Math.fround(0.1) }; // np.float32(0.1)
    const compared = (exprs: string[]) => exprs.map((e) => run(e, tenth));
    expect(compared(['score == 0.1', 'score != 0.1', 'score < 0.1', 'score <= 0.1', 'score > 0.1', 'score >= 0.1', '0.1 == score', 'score in (0.5, 0.1)'])).toEqual([1, 0, 0, 1, 0, 1, 1, 1]);
    expect(run('score == -0.1', { score: Math.fround(-0.1) })).toBe(1);
    expect(run('score == 16777217', { score: 16777216 })).toBe(1); // 2^24 + 1 is 2^24 in float32
    expect([run('label == 1.0000000001'), run('"my-tensor" == 16777217', { 'my-tensor': 16777217 })]).toEqual([0, 1]);
  });

  it('names in double quotes a tensor whose name is not a word ("my-tensor", "version"); single quotes make a class name', () => {
    expect(run('"my-tensor" * 10 + "version"')).toBe(73);
    expect(run('mean("my-tensor") == 7 and "version" in (3)')).toBe(1);
    const refused: [string, string][] = [
      ["'my-tensor' > 5", `'my-tensor' is a string (a class name or text); write the tensor as "my-tensor" at column 16`],
      ["label + 0 == 'Sandal'", "a string is a class name or text, compared with a class label or text tensor (label == 'Sandal') at column 29"],
      ['"no-""tensor" > 5', "no tensor 'no-\"tensor' (tensors: image, label, score, my-tensor, version) at column 16"],
      ['"my-tensor > 5', 'a name in double quotes that never ends at column 16'],
    ];
    for (const [expr, message] of refused) expect(() => run(expr), expr).toThrow(message);
    // A string anywhere else: the hint names the class label tensors there are, as a query writes them.
    const classes = (classNames: string[]) => meta({ htype: 'class_label', dtype: 'uint8', shape: [], classNames });
    const text = "select * where 1 == 'cat'";
    expect(() => compile(parseQuery(text).where!, { kind: classes(['cat']), 'fine-label': classes(['tabby']) }, text)).toThrow(`a string is a class name or text, compared with a class label or text tensor (kind == 'cat' or "fine-label" == 'cat') at column 21`);
    expect(() => compile(parseQuery(text).where!, { score: tensors.score }, text)).toThrow("a string is a class name or text, and this dataset has no class label or text tensor to compare 'cat' with at column 21");
  });

  it('reads numbers as JavaScript does: 5, 5.0, .5e1, 50e-1', () => {
    expect(run('5 == 5.0 and .5e1 == 5 and 50e-1 == 5 and .5E+1 == 5')).toBe(1);
  });
});
