// What the viewer reads from its own URL: the page size, and the dataset's URL against the page's.
import { describe, expect, it } from 'vitest';
import { pageSizeOf, resolveRoot } from '../../src/viewer/params.js';

const PAGE = 'http://127.0.0.1:8090/?dataset=x';

describe('the viewer page\'s parameters', () => {
  it('?page-size= is a whole number of samples, 1..500, 48 when absent or not a number', () => {
    expect(['1.5', '7.9', '0.5', '3', '-2', '900', 'Infinity', '', 'ten', null].map(pageSizeOf)).toEqual([1, 7, 1, 3, 1, 500, 500, 48, 48, 48]);
  });

  it('resolves a dataset against the page, leaving a pattern\'s file names for the reader to encode', () => {
    // The names as typed: the reader encodes each file's name once (two%20words, not two%2520words).
    expect(resolveRoot('data/two words-{00000..00001}-of-00002.parquet', PAGE)).toBe('http://127.0.0.1:8090/data/two words-{00000..00001}-of-00002.parquet');
    expect(resolveRoot('data/café-{0..1}.tar', PAGE)).toBe('http://127.0.0.1:8090/data/café-{0..1}.tar');
    expect(resolveRoot('data/a"b-{0..1}.tar', 'http://127.0.0.1:8090/viewer/index.html')).toBe('http://127.0.0.1:8090/viewer/data/a"b-{0..1}.tar');
    expect(resolveRoot('/shards/train-{000..009}.tar', 'http://127.0.0.1:8090/viewer/')).toBe('http://127.0.0.1:8090/shards/train-{000..009}.tar');
    // Dataset folders and URLs resolve as URLs do.
    expect(['data/', 'nowhere', '../up/', 'https://example.org', 'https://example.org/data/fashion-mnist/', 's3://bucket/data'].map((t) => resolveRoot(t, 'http://127.0.0.1:8090/viewer/')))
      .toEqual(['http://127.0.0.1:8090/viewer/data/', 'http://127.0.0.1:8090/viewer/nowhere', 'http://127.0.0.1:8090/up/', 'https://example.org/', 'https://example.org/data/fashion-mnist/', 's3://bucket/data']);
  });
});
