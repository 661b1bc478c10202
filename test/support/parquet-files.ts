import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { encodePng } from '../format/image/png-encoder.js';
import { FASHION_CLASSES } from './cli.js';

/**
 * IDX images and labels as a Hugging Face-style Parquet export, written by hyparquet-writer (not
 * the library that reads it): SPLIT-0000K-of-0000N.parquet, an `image` column of
 * `{ bytes, path }` structs holding PNGs, an int64 `label`, and `datasets`' features, with the
 * ClassLabel names, in the `huggingface` key-value metadata. Returns the file pattern.
 */
export function writeHuggingFaceParquet(dir: string, pixels: Uint8Array, labels: Uint8Array, options: { files: number; rowGroupSize: number; pageSize: number; split?: string }): string {
  const split = options.split ?? 'train';
  const n = labels.length;
  const per = Math.ceil(n / options.files);
  const pad = (i: number) => String(i).padStart(5, '0');
  const features = { image: { _type: 'Image' }, label: { names: FASHION_CLASSES.split(','), _type: 'ClassLabel' } };
  for (let f = 0; f < options.files; f++) {
    const ids = Array.from({ length: Math.min(per, n - f * per) }, (_, k) => f * per + k);
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'image', data: ids.map((id) => ({ bytes: encodePng({ width: 28, height: 28, colorType: 0, bitDepth: 8, samples: Uint16Array.from(pixels.subarray(id * 784, (id + 1) * 784)), filter: () => 0 }), path: null })) },
        { name: 'label', data: ids.map((id) => BigInt(labels[id])) },
      ],
      schema: [
        { name: 'schema', num_children: 2 },
        { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
        { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
      ],
      kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }],
      rowGroupSize: options.rowGroupSize,
      pageSize: options.pageSize,
    });
    writeFileSync(join(dir, `${split}-${pad(f)}-of-${pad(options.files)}.parquet`), new Uint8Array(buffer));
  }
  return options.files === 1 ? `${split}-${pad(0)}-of-${pad(1)}.parquet` : `${split}-{${pad(0)}..${pad(options.files - 1)}}-of-${pad(options.files)}.parquet`;
}
