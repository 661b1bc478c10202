// buildLinked: the files' format from their links, each read as FORMAT.md's reader reads it.
import { describe, expect, it } from 'vitest';
import { buildLinked, MemorySink } from '../../../src/format/index.js';
import { linkedFormat } from '../../../src/format/builders/build-linked.js';

describe('buildLinked', () => {
  it("takes the format from where a link's path ends: at ? or # in a URL or relative link, nowhere in an absolute path", async () => {
    expect(linkedFormat(['https://host/a.png?size=large', 'photos/b%23c.png#top', 'file:///x/d%3F.png'])).toBe('png');
    expect(linkedFormat(['/photos/d#1.jpg', '/photos/h?x.jpeg'])).toBe('jpeg');
    expect(() => linkedFormat(['photos/d#1.jpg'])).toThrow(/"photos\/d#1\.jpg" ends in neither \.jpg, \.jpeg nor \.png/); // a relative link's # starts its fragment
    const built = await buildLinked(new MemorySink(), [{ link: '/photos/d#1.jpg' }], { created: '2026-12-07T00:00:00Z' });
    expect(built.manifest.tensors.image.sampleCompression).toBe('jpeg');
  });
});
