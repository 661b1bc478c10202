// commitVersion, the builders' commit: it moves its ref by compare-and-swap of edgelake.json, as
// FORMAT.md says every writer must, and refuses what would leave a dataset no reader opens.
import { describe, expect, it } from 'vitest';
import { createTag, isEdgelakeError } from '../../../src/index.js';
import { commitVersion, MemorySink, REFS_PATH, TensorWriter, versionPath, type Manifest, type Sink } from '../../../src/format/index.js';

/** One int32 tensor holding `values`: the content of a tiny version. */
async function content(sink: Sink, values: number[]): Promise<Pick<Manifest, 'length' | 'splits' | 'tensors'>> {
  const writer = new TensorWriter(sink, 'x', { htype: 'generic', dtype: 'int32', shape: [], sampleCompression: 'none', chunkCompression: 'none' }, 64);
  for (const v of values) await writer.append(new Uint8Array(Int32Array.of(v).buffer));
  return { length: values.length, splits: { train: [[0, values.length]] }, tensors: { x: await writer.finish() } };
}

const commit = async (sink: Sink, values: number[], ref?: string) =>
  commitVersion(sink, await content(sink, values), { name: 'tiny', ref, message: `x = ${values}`, created: '2026-01-01T00:00:00Z' });
const refsOf = (sink: MemorySink) => JSON.parse(new TextDecoder().decode(sink.files.get(REFS_PATH)));

/** `sink`, on which `rival` commits while this writer writes its version file: after it read edgelake.json, before it moves its ref. */
function racedBy(sink: MemorySink, rival: () => Promise<unknown>): Sink {
  let raced = false;
  return {
    read: (path) => sink.read(path),
    swap: (path, expected, next) => sink.swap(path, expected, next),
    async write(path, bytes) {
      await sink.write(path, bytes);
      if (path.startsWith('versions/') && !raced) {
        raced = true;
        await rival();
      }
    },
  };
}

describe('commitVersion', () => {
  it('a builder committing beside another to a different ref keeps both refs', async () => {
    const sink = new MemorySink();
    const main = await commit(sink, [1, 2, 3]);
    const alice = await commit(racedBy(sink, () => commit(sink, [7], 'bob')), [4, 5], 'alice');
    expect(refsOf(sink)).toMatchObject({ head: 'main', refs: { main: main.versionId, alice: alice.versionId, bob: expect.any(String) } });
  });

  it('a builder whose ref another moved meanwhile gets a conflict naming the version that won, and moves nothing', async () => {
    const sink = new MemorySink();
    const first = await commit(sink, [1, 2, 3]);
    const lost = await commit(racedBy(sink, () => commit(sink, [9])), [4, 5]).catch((e: unknown) => e);
    const winner = refsOf(sink).refs.main;
    expect(isEdgelakeError(lost, 'conflict'), String(lost)).toBe(true);
    expect((lost as Error).message).toBe(`ref main moved on since version ${first.versionId} was read (it is now ${winner}); open the dataset again and commit onto that`);
    expect(JSON.parse(new TextDecoder().decode(sink.files.get(versionPath(winner)))).message).toBe('x = 9');
  });

  it('refuses to commit onto a tag, naming it, before it writes a version or edgelake.json', async () => {
    const sink = new MemorySink();
    await commit(sink, [1, 2, 3]);
    await createTag(sink, 'v1');
    const refs = sink.files.get(REFS_PATH);
    const versions = [...sink.files.keys()].filter((p) => p.startsWith('versions/'));
    const refused = await commit(sink, [4, 5], 'v1').catch((e: unknown) => e);
    expect(isEdgelakeError(refused, 'invalid-input'), String(refused)).toBe(true);
    expect((refused as Error).message).toBe('dataset tiny: v1 is a tag, and tags never move: commit onto a ref');
    expect(sink.files.get(REFS_PATH)).toBe(refs);
    expect([...sink.files.keys()].filter((p) => p.startsWith('versions/'))).toEqual(versions);
  });

  it('takes constructor, toString and __proto__ as plain ref names, for a new dataset and onto one', async () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      const sink = new MemorySink();
      const first = await commit(sink, [1], name);
      expect(first.manifest.parent, name).toBeNull();
      const second = await commit(sink, [2], name);
      expect(second.manifest.parent, name).toBe(first.versionId);
      const refs = refsOf(sink);
      expect([refs.head, Object.keys(refs.refs), refs.refs[name]], name).toEqual([name, [name], second.versionId]);
    }
  });
});
