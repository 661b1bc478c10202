// Parquet columns as tensors: a column name that is no tensor name (a space in it) is read under
// one that is, and files must agree on the columns read.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import jpegJs from 'jpeg-js';
import { afterAll, expect, it } from 'vitest';
import { encodePng } from '../../../format/image/png-encoder.js';
import { cli } from '../../../support/cli.js';
import { openDataset } from '../../../../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'edgelake-parquet-columns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Column = { name: string; data: unknown[]; type: 'INT64' | 'STRING' };
const labels = (name: string, ids: number[]): Column => ({ name, data: ids.map(BigInt), type: 'INT64' });
const texts = (name: string, ids: number[]): Column => ({ name, data: ids.map((i) => `s${i}`), type: 'STRING' });
const write = (name: string, columnData: Column[]) => writeFileSync(join(dir, name), new Uint8Array(parquetWriteBuffer({ columnData })));

it('a column whose name is no tensor name is read as one, each other character an underscore, and the manifest says so', async () => {
  write('spaces.parquet', [labels('class name', [0, 1, 2]), texts('caption (en)', [0, 1, 2])]);
  const file = join(dir, 'spaces.parquet');
  const ds = await openDataset(file);
  expect(Object.keys(ds.manifest.tensors)).toEqual(['class_name', 'caption__en_']);
  expect(ds.manifest.message).toContain('column "class name" is tensor class_name, column "caption (en)" is tensor caption__en_');
  const got = await ds.view().get(2, ['class_name', 'caption__en_']);
  expect([got.class_name[0], new TextDecoder().decode(got.caption__en_)]).toEqual([2, 's2']);
  expect(Object.keys((await openDataset(file, { columns: ['class name'] })).manifest.tensors)).toEqual(['class_name']); // columns go by their Parquet names
  expect((await cli('index', file)).code).toBe(0);
  expect((await cli('inspect', file)).stdout).toContain('column "class name" is tensor class_name');
  const indexed = await openDataset(file); // the strings read from their pages, by the index
  expect(new TextDecoder().decode((await indexed.view().get(1, ['caption__en_'])).caption__en_)).toBe('s1');
});

it('two columns that would be read as one tensor name are refused, naming both', async () => {
  write('clash.parquet', [labels('class name', [0]), labels('class_name', [1])]);
  const file = join(dir, 'clash.parquet');
  await expect(openDataset(file)).rejects.toThrow('clash.parquet: columns "class name" and class_name would both be tensor class_name (name the columns to read: edgelake index --columns A,B, or openDataset\'s columns option)');
  expect((await openDataset(file, { columns: ['class name'] })).length).toBe(1);
});

it('a column some files lack is refused, naming it and them; the columns all files have still open', async () => {
  write('part-00000.parquet', [labels('label', [0, 1, 2, 3]), texts('text', [0, 1, 2, 3])]);
  write('part-00001.parquet', [labels('label', [4, 5, 6, 7]), texts('text', [4, 5, 6, 7]), texts('extra', [4, 5, 6, 7])]);
  const hint = '(name the columns every file has: edgelake index --columns label,text, or openDataset\'s columns option)';
  await expect(openDataset(join(dir, 'part-{00000..00001}.parquet'))).rejects.toThrow(`column extra is in part-00001.parquet but not in part-00000.parquet ${hint}`);
  await expect(openDataset(join(dir, 'part-{00001,00000}.parquet'))).rejects.toThrow(`column extra is in part-00001.parquet but not in part-00000.parquet ${hint}`);
  expect((await cli('index', join(dir, 'part-{00000..00001}.parquet'))).stderr).toContain(`column extra is in part-00001.parquet but not in part-00000.parquet ${hint}`);
  expect((await openDataset(join(dir, 'part-{00000..00001}.parquet'), { columns: ['label', 'text'] })).length).toBe(8);
});

it('a column with nulls (a partly labelled label column) is refused, counting them and naming their rows', async () => {
  const nulls = (name: string, ids: (number | null)[]): Column => ({ name, data: ids.map((i) => (i === null ? null : BigInt(i))), type: 'INT64' });
  write('nulls.parquet', [nulls('label', [null, 1, null, 0, null, null, null, null]), texts('caption', [0, 1, 2, 3, 4, 5, 6, 7])]);
  const file = join(dir, 'nulls.parquet');
  await expect(openDataset(file)).rejects.toThrow('nulls.parquet: column label has 6 nulls (rows 0, 2, 4, 5, 6 and 1 more, counted from 0): every sample needs a value');
  expect(Object.keys((await openDataset(file, { columns: ['caption'] })).manifest.tensors)).toEqual(['caption']);
});

it('an image column of PNGs with a JPEG among them is read, each image decoded by its signature (FORMAT.md)', async () => {
  const png = encodePng({ width: 3, height: 2, colorType: 2, bitDepth: 8, samples: Uint16Array.from({ length: 18 }, (_, i) => i * 13) });
  const jpeg = new Uint8Array(jpegJs.encode({ data: new Uint8Array(4 * 5 * 4).fill(200), width: 4, height: 5 }, 90).data);
  writeFileSync(join(dir, 'images.parquet'), new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'image', data: [png, jpeg, png] }] })));
  const ds = await openDataset(join(dir, 'images.parquet'));
  expect(ds.tensor('image')).toMatchObject({ htype: 'image', sampleCompression: 'png' });
  const images = await Promise.all([0, 1, 2].map(async (i) => (await ds.view().get(i, ['image'])).image));
  expect(images.map((image) => image.length)).toEqual([18, 4 * 5 * 3, 18]);
  expect(Array.from(images[2])).toEqual(Array.from({ length: 18 }, (_, i) => i * 13));
  // Images of one size keep the column's one shape, whatever their kind.
  const jpeg32 = new Uint8Array(jpegJs.encode({ data: new Uint8Array(3 * 2 * 4).fill(90), width: 3, height: 2 }, 90).data);
  writeFileSync(join(dir, 'same-size.parquet'), new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'image', data: [png, jpeg32, png] }] })));
  expect((await openDataset(join(dir, 'same-size.parquet'))).tensor('image').shape).toEqual([2, 3, 3]);
});
