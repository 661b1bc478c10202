// One test per rule of docs/FORMAT.md: each refusal names the file and the offending field path.
import { deflateSync as zlibDeflate } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { withDefaults } from '../../src/format/limits.js';
import { EdgelakeError, type ErrorCode, type TensorMeta } from '../../src/index.js';
import { chunkHeaderBytes, decodeChunk, decodeSamplePayload, DEFAULT_LIMITS, deflate, encodeChunk, parseJson, type ReadLimits, sha256Hex, validateManifest, validateRefs, verifyChunkHeader } from '../../src/format/index.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Edit = (m: Json) => void;
const FILE = 'memory:/versions/0a1b.json';
const H = 'ab'.repeat(32);
const chunk = (samples: number, bytes: number) => ({ hash: H, bytes, samples, headerHash: H });

/** A valid manifest of 5 samples; header P(5) = 56 bytes, so a plain chunk of 5 int32 is 76. */
function manifest(): Json {
  return {
    format: 'edgelake/1', parent: null, message: 'm', created: '2026-11-21T12:00:00Z', length: 5,
    splits: { train: [[0, 3]], test: [[3, 5]] },
    tensors: {
      image: { htype: 'image', dtype: 'uint8', shape: [2, 2, 1], layout: 'HWC', sampleCompression: 'none',
        chunkCompression: 'deflate', chunks: [chunk(3, 30), chunk(2, 25)] },
      label: { htype: 'class_label', dtype: 'int32', shape: [], classNames: ['a', 'b'], sampleCompression: 'none',
        chunkCompression: 'none', chunks: [chunk(5, 76)] },
      embedding: { htype: 'embedding', dtype: 'int8', shape: [3], quant: { scale: [0.5], zeroPoint: [1] },
        sampleCompression: 'deflate', chunkCompression: 'none', chunks: [chunk(5, 100)] },
      text: { htype: 'text', dtype: 'bytes', shape: [null], sampleCompression: 'none', chunkCompression: 'none', chunks: [chunk(5, 80)] },
    },
  };
}
const refs = (): Json => ({ format: 'edgelake/1', name: 'ds', head: 'main', refs: { main: H, 'v1.0': H } });

function refusal(run: () => unknown): EdgelakeError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgelakeError);
    return e as EdgelakeError;
  }
  throw new Error('expected a refusal');
}
/** Asserts `edit` makes the manifest refused with `code`, the message starting "<file>: <field> ". */
function refuses(edit: Edit, field: string, code: ErrorCode = 'invalid-manifest', limits?: Partial<ReadLimits>): void {
  const m = manifest();
  edit(m);
  const e = refusal(() => validateManifest(m, FILE, withDefaults(limits)));
  expect(e.message.startsWith(`${FILE}: ${field} `), e.message).toBe(true);
  expect(e.code, e.message).toBe(code);
}
function refsRefuses(edit: Edit, field: string): void {
  const r = refs();
  edit(r);
  const e = refusal(() => validateRefs(r, 'edgelake.json'));
  expect(e.message.startsWith(`edgelake.json: ${field} `), e.message).toBe(true);
  expect(e.code).toBe('invalid-manifest');
}

describe('edgelake.json', () => {
  const cases: [string, Edit, string][] = [
    ['format is edgelake/1', (r) => { r.format = 'edgelake/2'; }, 'format'],
    ['unknown keys are refused', (r) => { r.description = 'x'; }, 'description'],
    ['every key is required', (r) => { delete r.head; }, 'head'],
    ['name is not empty', (r) => { r.name = ''; }, 'name'],
    ['name has at most 200 characters', (r) => { r.name = 'x'.repeat(201); }, 'name'],
    ['ref names match the name pattern', (r) => { r.refs['bad name'] = H; }, 'refs["bad name"]'],
    ['refs name 64-hex version ids', (r) => { r.refs.main = H.toUpperCase(); }, 'refs.main'],
    ['head names an existing ref', (r) => { r.head = 'v2'; }, 'head'],
    ['head is not an Object.prototype key', (r) => { r.head = 'constructor'; }, 'head'],
    ['tags is an object', (r) => { r.tags = [H]; }, 'tags'],
    ['tags name 64-hex version ids', (r) => { r.tags = { v2: 'x' }; }, 'tags.v2'],
    ['no name is both a ref and a tag', (r) => { r.tags = { main: H }; }, 'tags.main'],
  ];
  it.each(cases)('%s', (_, edit, field) => refsRefuses(edit, field));

  it('accepts a 200-character name counted in code points, and names like __proto__', () => {
    const r = { ...refs(), name: '😀'.repeat(200), head: '__proto__', refs: JSON.parse(`{"__proto__": "${H}"}`) };
    const v = validateRefs(r);
    expect(Object.keys(v.refs)).toEqual(['__proto__']);
    expect(v.name.length).toBe(400); // UTF-16 units, not characters
  });

  it('keeps tags when there are some, and adds no key when there are none', () => {
    expect(validateRefs({ ...refs(), tags: { 'v2.0': H } }).tags).toEqual({ 'v2.0': H });
    expect(Object.keys(validateRefs(refs()))).toEqual(['format', 'name', 'head', 'refs']);
  });
});

describe('version manifests', () => {
  const cases: [string, Edit, string][] = [
    ['format is edgelake/1', (m) => { m.format = 'edgelake/0'; }, 'format'],
    ['unknown top-level keys are refused', (m) => { m.author = 'x'; }, 'author'],
    ['unknown tensor keys are refused', (m) => { m.tensors.image.normalize = true; }, 'tensors.image.normalize'],
    ['unknown chunk keys are refused', (m) => { m.tensors.image.chunks[0].crc = 1; }, 'tensors.image.chunks[0].crc'],
    ['unknown quant keys are refused', (m) => { m.tensors.embedding.quant.axis = 0; }, 'tensors.embedding.quant.axis'],
    ['required keys are required', (m) => { delete m.parent; }, 'parent'],
    ['required tensor keys are required', (m) => { delete m.tensors.label.chunks; }, 'tensors.label.chunks'],
    ['parent is null or a version id', (m) => { m.parent = 'main'; }, 'parent'],
    ['created is in UTC, ending in Z', (m) => { m.created = '2026-11-21T12:00:00+01:00'; }, 'created'],
    ['created has an uppercase Z', (m) => { m.created = '2026-11-21T12:00:00z'; }, 'created'],
    ['created is a real date', (m) => { m.created = '2026-02-29T00:00:00Z'; }, 'created'],
    ['created has a real time', (m) => { m.created = '2026-01-01T24:00:00Z'; }, 'created'],
    ['length is an integer', (m) => { m.length = 5.5; }, 'length'],
    ['split names match the name pattern', (m) => { m.splits['val set'] = []; }, 'splits["val set"]'],
    ['tensor names match the name pattern', (m) => { m.tensors['a/b'] = m.tensors.text; }, 'tensors["a/b"]'],
    ['a split range is [start, end]', (m) => { m.splits.train = [[0, 1, 2]]; }, 'splits.train[0]'],
    ['split bounds are integers', (m) => { m.splits.train = [[0.5, 1]]; }, 'splits.train[0][0]'],
    ['split start <= end', (m) => { m.splits.train = [[3, 2]]; }, 'splits.train[0][1]'],
    ['split end <= length', (m) => { m.splits.test = [[3, 6]]; }, 'splits.test[0][1]'],
    ['htype is known', (m) => { m.tensors.image.htype = 'video'; }, 'tensors.image.htype'],
    ['dtype is known', (m) => { m.tensors.image.dtype = 'float64'; }, 'tensors.image.dtype'],
    ['shape has at most 8 dimensions', (m) => { m.tensors.text.shape = new Array(9).fill(null); }, 'tensors.text.shape'],
    ['extents are integers below 2^31', (m) => { m.tensors.text.shape = [2 ** 31]; }, 'tensors.text.shape[0]'],
    ['extents are not negative', (m) => { m.tensors.text.shape = [-1]; }, 'tensors.text.shape[0]'],
    ['layout has one letter per dimension', (m) => { m.tensors.image.layout = 'HW'; }, 'tensors.image.layout'],
    ['layout letters are distinct', (m) => { m.tensors.image.layout = 'HHC'; }, 'tensors.image.layout'],
    ['classNames only on class_label', (m) => { m.tensors.image.classNames = ['a']; }, 'tensors.image.classNames'],
    ['classNames are strings', (m) => { m.tensors.label.classNames = ['a', 2]; }, 'tensors.label.classNames[1]'],
    ['quant only on int8 and uint8', (m) => { m.tensors.label.quant = { scale: [1], zeroPoint: [0] }; }, 'tensors.label.quant'],
    ['quant scale is positive', (m) => { m.tensors.embedding.quant.scale = [0]; }, 'tensors.embedding.quant.scale[0]'],
    ['quant scale is finite', (m) => { m.tensors.embedding.quant.scale = [1e400]; }, 'tensors.embedding.quant.scale[0]'],
    ['quant zeroPoint is within int8', (m) => { m.tensors.embedding.quant.zeroPoint = [128]; }, 'tensors.embedding.quant.zeroPoint[0]'],
    ['quant zeroPoint is within uint8', (m) => {
      Object.assign(m.tensors.embedding, { dtype: 'uint8', quant: { scale: [1], zeroPoint: [-1] } });
    }, 'tensors.embedding.quant.zeroPoint[0]'],
    ['quant zeroPoint is an integer', (m) => { m.tensors.embedding.quant.zeroPoint = [0.5]; }, 'tensors.embedding.quant.zeroPoint[0]'],
    ['quant has 1 entry or one per channel', (m) => { m.tensors.embedding.quant.scale = [1, 2]; }, 'tensors.embedding.quant.scale'],
    ['sampleCompression is known', (m) => { m.tensors.image.sampleCompression = 'webp'; }, 'tensors.image.sampleCompression'],
    ['chunkCompression is known', (m) => { m.tensors.image.chunkCompression = 'zstd'; }, 'tensors.image.chunkCompression'],
    ['at most one compression', (m) => { m.tensors.image.sampleCompression = 'png'; }, 'tensors.image.chunkCompression'],
    ['jpeg and png need uint8', (m) => { m.tensors.label.sampleCompression = 'jpeg'; }, 'tensors.label.sampleCompression'],
    ['jpeg and png decode to RGB: shape [H, W, 3]', (m) => { Object.assign(m.tensors.image, { sampleCompression: 'png', chunkCompression: 'none', shape: [28, 28, 1] }); }, 'tensors.image.shape'],
    ['a 2-D png tensor is refused too', (m) => { Object.assign(m.tensors.image, { sampleCompression: 'png', chunkCompression: 'none', shape: [28, 28] }); }, 'tensors.image.shape'],
    ['chunk hash is 64 lowercase hex', (m) => { m.tensors.image.chunks[1].hash = `../${H.slice(3)}`; }, 'tensors.image.chunks[1].hash'],
    ['chunk headerHash is 64 lowercase hex', (m) => { m.tensors.image.chunks[0].headerHash = 'x'; }, 'tensors.image.chunks[0].headerHash'],
    ['chunk bytes >= 1', (m) => { m.tensors.image.chunks[0].bytes = 0; }, 'tensors.image.chunks[0].bytes'],
    ['chunk samples >= 1', (m) => { m.tensors.image.chunks = [chunk(0, 9), ...m.tensors.image.chunks]; }, 'tensors.image.chunks[0].samples'],
    ['chunk samples fit a u32', (m) => { m.tensors.image.chunks[0].samples = 2 ** 32; }, 'tensors.image.chunks[0].samples'],
    ['chunk samples sum to length', (m) => { m.tensors.image.chunks.pop(); }, 'tensors.image.chunks'],
    ['a plain fixed-size chunk has exactly the bytes its samples make', (m) => { m.tensors.label.chunks[0].bytes = 77; }, 'tensors.label.chunks[0].bytes'],
    ['a plain chunk has room for its header', (m) => { m.tensors.text.chunks[0].bytes = 55; }, 'tensors.text.chunks[0].bytes'],
  ];
  it.each(cases)('%s', (_, edit, field) => refuses(edit, field));

  const limits: [string, Edit, string, Partial<ReadLimits>][] = [
    ['length is within maxSamples', (m) => { m.length = 2 ** 40; }, 'length', {}],
    ['a stored chunk is within maxChunkBytes', (m) => { m.tensors.image.chunks[0].bytes = 2 ** 40; }, 'tensors.image.chunks[0].bytes', {}],
    ['a body its samples fix is within maxInflatedBytes', () => {}, 'tensors.label.chunks[0].samples', { maxInflatedBytes: 75 }],
    ['a header is within maxInflatedBytes', (m) => { m.tensors.text.chunks[0].samples = 2 ** 26; }, 'tensors.text.chunks[0].samples', {}],
    ['one decoded sample is within maxInflatedBytes', (m) => { m.tensors.embedding.shape = [2 ** 30]; }, 'tensors.embedding.shape', {}],
  ];
  it.each(limits)('%s (code limit)', (_, edit, field, l) => refuses(edit, field, 'limit', l));

  it('accepts what the rules allow', () => {
    const m = manifest();
    m.splits = { all: [[0, 5]], overlap: [[1, 4], [2, 3]], empty: [[5, 5]], none: [], ...JSON.parse('{"__proto__": [[0, 1]]}') };
    m.created = '2016-12-31T23:59:60.123456789012Z'; // fraction of any length, a leap second
    m.tensors.embedding.quant = { scale: [1, 2, 3], zeroPoint: [-128, 0, 127] }; // per channel
    delete m.tensors.image.layout;
    m.tensors.constructor = { ...m.tensors.text, htype: 'generic', dtype: 'float16', shape: [null, 4] };
    const v = validateManifest(m, FILE, withDefaults());
    expect(Object.keys(v.tensors)).toContain('constructor');
    expect(v.splits.overlap).toEqual([[1, 4], [2, 3]]);
    expect(Object.hasOwn(v.splits, '__proto__')).toBe(true);

    const empty = { ...manifest(), length: 0, splits: {}, tensors: { x: { ...manifest().tensors.text, chunks: [] } } };
    expect(validateManifest(empty, FILE, withDefaults()).length).toBe(0);
  });
});

describe('limits and parseJson', () => {
  it('a limit passed as undefined keeps its default instead of switching off', () => {
    expect(withDefaults({ maxInflatedBytes: undefined, maxChunkBytes: 5 })).toEqual({ ...DEFAULT_LIMITS, maxChunkBytes: 5 });
  });


  it('refuses a file over maxManifestBytes before parsing, naming it', () => {
    const e = refusal(() => parseJson(new Uint8Array(101), FILE, withDefaults({ maxManifestBytes: 100 })));
    expect([e.code, e.message.startsWith(`${FILE}: `)]).toEqual(['limit', true]);
  });

  it('refuses malformed JSON and invalid UTF-8, naming the file', () => {
    for (const bytes of [new TextEncoder().encode('{"format":'), Uint8Array.of(0x22, 0xff, 0x22)]) {
      const e = refusal(() => parseJson(bytes, FILE, withDefaults()));
      expect([e.code, e.message.startsWith(`${FILE}: `)]).toEqual(['invalid-manifest', true]);
    }
  });
});

describe('chunk bodies and sample payloads', () => {
  const where = { dataset: 'ds', tensor: 't', chunk: 0, file: 'memory:/chunks/ab/abab' };
  const tensor = (over: Partial<TensorMeta> = {}): TensorMeta => ({
    htype: 'generic', dtype: 'uint8', shape: [null], sampleCompression: 'none', chunkCompression: 'none', chunks: [], ...over,
  });
  const u8 = (...b: number[]) => Uint8Array.from(b);
  /** A plain body for `payloads`, edited by `edit`, with the manifest entry computed from the result. */
  async function plain(payloads: Uint8Array[], edit: (view: DataView, body: Uint8Array) => Uint8Array | void = () => {}) {
    const { stored } = await encodeChunk(payloads, 'none');
    const body = edit(new DataView(stored.buffer), stored) ?? stored;
    const P = chunkHeaderBytes(payloads.length);
    return { body, ref: { hash: await sha256Hex(body), bytes: body.length, samples: payloads.length, headerHash: await sha256Hex(body.subarray(0, P)) } };
  }
  async function refusedChunk(p: Promise<unknown>, code: ErrorCode, problem: RegExp): Promise<void> {
    const e = await p.then(() => { throw new Error('expected a refusal'); }, (err: unknown) => err as EdgelakeError);
    expect(e).toBeInstanceOf(EdgelakeError);
    expect([e.code, e.message]).toEqual([code, expect.stringContaining('tensor t, chunk 0, file memory:/chunks/ab/abab: ')]);
    expect(e.message).toMatch(problem);
  }
  const decode = async (c: Awaited<ReturnType<typeof plain>>, t = tensor()) => decodeChunk(c.body, c.ref, t, DEFAULT_LIMITS, where);

  it('offsets[0] is 0', async () => {
    await refusedChunk(decode(await plain([u8(1), u8(2)], (v) => v.setUint32(12, 1, true))), 'invalid-chunk', /first offset/);
  });
  it('offsets never decrease', async () => {
    await refusedChunk(decode(await plain([u8(1, 2), u8(3)], (v) => v.setUint32(16, 4, true))), 'invalid-chunk', /backwards at sample 1/);
  });
  it('no byte follows the last payload', async () => {
    const padded = await plain([u8(1), u8(2)], (_, b) => Uint8Array.from([...b, 0]));
    await refusedChunk(decode(padded), 'invalid-chunk', /ending at byte \d+, but the body is \d+ bytes/);
  });
  it('headerHash covers bytes [0, P)', async () => {
    const c = await plain([u8(1)]);
    await refusedChunk(decode({ ...c, ref: { ...c.ref, headerHash: H } }), 'integrity', /headerHash/);
  });
  it('a header fetched alone has offsets ending at the stored size', async () => {
    const c = await plain([u8(1), u8(2)]);
    await refusedChunk(verifyChunkHeader(c.body, { ...c.ref, bytes: c.ref.bytes + 1 }, where), 'invalid-chunk', /ending at byte/);
  });
  it('chunk DEFLATE is raw: a zlib-wrapped body is refused', async () => {
    const { body } = await plain([u8(1), u8(2)]);
    const stored = new Uint8Array(zlibDeflate(body));
    const ref = { hash: await sha256Hex(stored), bytes: stored.length, samples: 2, headerHash: await sha256Hex(body.subarray(0, chunkHeaderBytes(2))) };
    await refusedChunk(decodeChunk(stored, ref, tensor({ chunkCompression: 'deflate' }), DEFAULT_LIMITS, where), 'invalid-chunk', /corrupt DEFLATE/);
  });
  it('a fixed shape fixes the payload size', async () => {
    await refusedChunk(decode(await plain([u8(1, 2), u8(3)]), tensor({ shape: [2] })), 'invalid-chunk', /sample 1 has 1 bytes; shape and dtype say 2/);
  });
  it('with a null extent, a payload is a multiple of the fixed extents times the item size', async () => {
    const t = tensor({ dtype: 'uint16', shape: [null, 2] });
    await expect(decode(await plain([u8(1, 2, 3, 4), u8()]), t)).resolves.toBeDefined();
    await refusedChunk(decode(await plain([u8(1, 2, 3, 4, 5, 6)]), t), 'invalid-chunk', /sample 0 has 6 bytes; shape and dtype say a multiple of 4/);
    await refusedChunk(decode(await plain([u8(1)]), tensor({ shape: [null, 0] })), 'invalid-chunk', /a multiple of 0/);
  });
  it('bytes, jpeg and png payloads are opaque', async () => {
    const c = await plain([u8(1, 2, 3), u8()]);
    await expect(decode(c, tensor({ dtype: 'bytes', shape: [4] }))).resolves.toBeDefined();
    await expect(decode(c, tensor({ shape: [2, 2, 3], sampleCompression: 'jpeg' }))).resolves.toBeDefined();
  });
  it('sizes apply after sample DEFLATE', () => {
    const t = tensor({ dtype: 'float32', shape: [null], sampleCompression: 'deflate' });
    expect(decodeSamplePayload(deflate(new Uint8Array(8)), t, DEFAULT_LIMITS, where, 3)).toHaveLength(8);
    expect(() => decodeSamplePayload(deflate(new Uint8Array(6)), t, DEFAULT_LIMITS, where, 3)).toThrow(/file memory:\/chunks\/ab\/abab: sample 3 has 6 bytes/);
  });
});
