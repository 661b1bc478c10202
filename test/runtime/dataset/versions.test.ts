// The project's reader on files it did not write: the spec reader's hand-made dataset, encoded
// from FORMAT.md alone, with its own hashing, crc32 and DEFLATE settings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED, writeHandmadeDataset } from '../../spec-reader/fixture.js';
import { type OpenedVersion, openVersion, readChunk } from '../../../src/index.js';
import { FileSource } from '../../../src/node.js';
import { decodeSamplePayload } from '../../../src/format/index.js';

let dir: string;
let versionId: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-versions-'));
  versionId = writeHandmadeDataset(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every sample payload of a tensor, chunk by chunk, sample DEFLATE undone. */
async function samples(v: OpenedVersion, tensor: string): Promise<Uint8Array[]> {
  const meta = v.manifest.tensors[tensor];
  const out: Uint8Array[] = [];
  for (let c = 0; c < meta.chunks.length; c++) {
    const chunk = await readChunk(v, tensor, c);
    for (let i = 0; i < chunk.header.samples; i++) {
      out.push(decodeSamplePayload(chunk.payload(i), meta, v.limits, { tensor, chunk: c }, i));
    }
  }
  return out;
}
const int32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(0, true);

describe('openVersion + readChunk on the hand-made dataset', () => {
  for (const [how, ref] of [['head', undefined], ['ref name', 'main'], ['version id', 'versionId']] as const) {
    it(`opens it by ${how} and reads every expected value`, async () => {
      const v = await openVersion(new FileSource(dir), { ref: ref === 'versionId' ? versionId : ref });
      expect(v.versionId).toBe(versionId);
      expect(v.ref).toBe(ref === 'versionId' ? undefined : 'main');
      expect(v.refs.name).toBe(EXPECTED.name);
      expect(v.manifest.length).toBe(EXPECTED.length);
      expect({ ...v.manifest.splits }).toEqual(EXPECTED.splits);
      for (const [t, counts] of Object.entries(EXPECTED.chunkSamples)) {
        expect(v.manifest.tensors[t].chunks.map((c) => c.samples)).toEqual(counts);
      }
      expect(v.manifest.tensors.label.classNames).toEqual(EXPECTED.classNames);
      expect(v.manifest.tensors.embedding.quant).toEqual(EXPECTED.quant);
      expect(v.manifest.tensors.image.layout).toBe('HWC');

      expect(await samples(v, 'image')).toEqual(EXPECTED.image);
      expect((await samples(v, 'label')).map(int32)).toEqual(EXPECTED.label);
      const embedding = (await samples(v, 'embedding')).map((b) => Array.from(new Int8Array(b.buffer, b.byteOffset, b.length)));
      expect(embedding).toEqual(EXPECTED.embedding);
    });
  }

  it('refuses a ref that does not exist, and one named like an Object.prototype key', async () => {
    const source = new FileSource(dir);
    await expect(openVersion(source, { ref: 'v9' })).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/no ref "v9"/) });
    await expect(openVersion(source, { ref: 'constructor' })).rejects.toMatchObject({ code: 'not-found' });
    const v = await openVersion(source);
    await expect(readChunk(v, 'constructor', 0)).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(readChunk(v, 'image', 2)).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/no chunk 2/) });
  });
});
