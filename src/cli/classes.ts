import { EdgelakeError } from '../errors.js';
import type { Dataset } from '../runtime/dataset/dataset.js';
import { Loader } from '../runtime/loader/loader.js';

const INTEGER_DTYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32'];

/**
 * The classes a label tensor holds: its classNames, else one more than its largest label, read
 * whole (a WebDataset .cls or a Parquet column has no names; PyTorch would ask for num_classes).
 */
export async function classCount(ds: Dataset, tensor: string): Promise<number> {
  const meta = ds.tensor(tensor);
  if (meta.classNames?.length) return meta.classNames.length;
  if (!INTEGER_DTYPES.includes(meta.dtype) || meta.shape.length > 0) {
    throw new EdgelakeError('invalid-input', `dataset ${ds.name}: tensor ${tensor} is ${meta.dtype} [${meta.shape.join(', ')}], not one integer class a sample: name the label tensor with --label`);
  }
  let largest = -1;
  for await (const batch of new Loader(ds.view(), { batchSize: 65_536, tensors: [tensor] })) {
    for (const label of batch.tensors[tensor] as ArrayLike<number> & Iterable<number>) {
      if (label < 0) throw new EdgelakeError('invalid-input', `dataset ${ds.name}: tensor ${tensor} holds the label ${label}; classes are 0 and up`);
      largest = Math.max(largest, label);
    }
  }
  if (largest < 1) throw new EdgelakeError('invalid-input', `dataset ${ds.name}: tensor ${tensor} holds ${largest < 0 ? 'no labels' : 'only class 0'}, nothing to tell apart`);
  return largest + 1;
}
