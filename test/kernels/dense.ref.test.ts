import { describe, expect, test } from 'vitest';
import { type ColumnSumArgs, columnSumRef, reluBackwardRef } from '../../src/kernels/index.js';

const f32 = (...values: number[]) => new Float32Array(values);

describe('dense backward CPU references, against values computed by hand', () => {
  test('reluBackward passes the gradient where the output is positive', () => {
    const gradInput = new Float32Array(5);
    reluBackwardRef({ gradOutput: f32(1, 2, 3, 4, 5), output: f32(0.5, 0, -1, NaN, 2), gradInput, count: 5 });
    expect([...gradInput]).toEqual([1, 0, 0, 0, 5]);
  });

  test('reluBackward in place, and only the first count elements', () => {
    const grad = f32(1, 2, 3, 4);
    reluBackwardRef({ gradOutput: grad, output: f32(-1, 1, -1, -1), gradInput: grad, count: 3 });
    expect([...grad]).toEqual([0, 2, 0, 4]);
  });

  test('columnSum: the bias gradient sums each column over the batch', () => {
    // 3 rows x 2 columns.
    const input = f32(1, 10, 2, 20, 3, 30);
    const output = new Float32Array(2);
    columnSumRef({ input, output, rows: 3, cols: 2 });
    expect([...output]).toEqual([6, 60]);
    columnSumRef({ input, output, rows: 3, cols: 2, accumulate: true });
    expect([...output]).toEqual([12, 120]);
    columnSumRef({ input, output, rows: 0, cols: 2 });
    expect([...output]).toEqual([0, 0]);
  });

  test('bad arguments are EdgelakeErrors', () => {
    const input = f32(1, 2, 3, 4);
    const bad: Partial<ColumnSumArgs<Float32Array>>[] = [{ rows: -1 }, { cols: 0.5 }, { rows: 3 }, { output: f32() }, { output: input }];
    for (const change of bad) {
      const call = () => columnSumRef({ input, output: new Float32Array(2), rows: 2, cols: 2, ...change });
      expect(call, JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    }
    const relu = (change: object) => () => reluBackwardRef({ gradOutput: input, output: f32(1, 1, 1, 1), gradInput: new Float32Array(4), count: 4, ...change });
    expect(relu({ count: 5 })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    expect(relu({ count: -1 })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
    const output = f32(1, 1, 1, 1);
    expect(relu({ output, gradInput: output })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
  });
});
