import { expect, test } from 'vitest';
import { huffmanTableFor } from '../../../../src/format/image/jpeg/huffman.js';
import { STANDARD_TABLES } from '../../../../src/format/image/jpeg/huffman-standard.js';

const bytes = ({ counts, values }: { counts: number[]; values: number[] }) => [Uint8Array.from(counts), Uint8Array.from(values)] as const;

test('files that define the same Huffman table share one, built once; other tables are their own', () => {
  const [counts, values] = bytes(STANDARD_TABLES.dc[0]);
  const first = huffmanTableFor(counts, values, 'DC table 0');
  expect(huffmanTableFor(counts.slice(), values.slice(), 'DC table 0 of another file')).toBe(first);
  const other = huffmanTableFor(...bytes(STANDARD_TABLES.dc[1]), 'DC table 1');
  expect(other).not.toBe(first);

  // The table keeps its own symbols: the file's bytes may be reused once it is read.
  values.fill(0xff);
  expect([...first.values]).toEqual(STANDARD_TABLES.dc[0].values);
  expect(huffmanTableFor(counts, values, 'changed symbols')).not.toBe(first);
});

test('an impossible table is refused every time it is seen, never kept', () => {
  const counts = new Uint8Array(16);
  counts[0] = 3; // three 1-bit codes
  const values = Uint8Array.of(1, 2, 3);
  for (let i = 0; i < 2; i++) expect(() => huffmanTableFor(counts, values, 'AC table 2')).toThrow(/AC table 2 has more codes of 1 bits than fit/);
});
