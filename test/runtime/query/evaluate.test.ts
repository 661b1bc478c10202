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
};
/** np.arange(20).reshape(4, 5, 1) */
const image = { data: Array.from({ length: 20 }, (_, i) => i), shape: [4, 5, 1] };
const sample: Sample = { image, label: 1, score: 0.5 };

function run(expr: string): Value {
  const text = `select * where ${expr}`;
  return compile(parseQuery(text).where!, tensors, text).run(sample);
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
    expect(run('label in (\'Sandal\', "It\'s")')).toBe(1);
    const refused: [string, string][] = [
      ["score == 'Sandal'", "tensor score has no class names to compare 'Sandal' with at column 25"],
      ["label + 0 == 'Sandal'", "a string is a class name, compared with a class label tensor (label == 'Sandal') at column 29"],
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
    expect(() => compile(parseQuery(text).where!, tensors, text)).toThrow("no tensor 'labl' (tensors: image, label, score) at line 2, column 6\n  \tand labl == 2\n  \t    ^");
  });
});
