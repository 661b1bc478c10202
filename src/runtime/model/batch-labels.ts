import { EdgelakeError } from '../../errors.js';
import type { LabelKind } from '../../kernels/loss/loss.ref.js';
import type { Batch } from '../loader/loader.js';
import { batchTensorBytes, isSoftLabels } from '../loader/transform.js';

/** The batch's labels, checked: n class indices in [0, classes) (a GPUBuffer's values the loss kernel counts), or n x classes soft rows (see DataOptions.labels). */
export function batchLabels(batch: Batch, name: string, classes: number, kind: LabelKind | undefined): { labels: Float32Array | Int32Array | GPUBuffer; labelKind: LabelKind } {
  const y = batch.tensors[name]!;
  const n = batch.ids.length;
  if (Array.isArray(y)) throw new EdgelakeError('invalid-input', `tensor ${name}: labels must be one value (or one row) per sample`);
  const mixed = isSoftLabels(y);
  const labelKind = kind ?? (mixed || y instanceof Float32Array ? 'soft' : 'index');
  // Read as indices, mixup's rows would train every sample towards class 0, silently.
  if (mixed && labelKind === 'index') throw new EdgelakeError('invalid-input', `tensor ${name} holds mixup's soft labels (a row of class probabilities a sample), not class indices: leave labels unset, or 'soft'`);
  const count = labelKind === 'soft' ? n * classes : n;
  const filled = batchTensorBytes(y);
  if (ArrayBuffer.isView(y) ? y.length !== count : y.size < count * 4 || (filled !== undefined && filled !== count * 4)) {
    const needs = labelKind === 'soft' ? `${n} x ${classes} float32 values (a row of class probabilities a sample)` : `${n} class indices`;
    const has = ArrayBuffer.isView(y) ? `${y.length} values` : `a GPU buffer of ${(filled ?? y.size) / 4} values`;
    const hint = labelKind === 'soft' && ArrayBuffer.isView(y) && y.length === n ? "; for class indices give an Int32Array, or labels: 'index'" : '';
    throw new EdgelakeError('invalid-input', `tensor ${name}: ${labelKind} labels need ${needs}, the batch has ${has}${hint}`);
  }
  if (!ArrayBuffer.isView(y)) return { labels: y, labelKind };
  if (labelKind === 'soft') {
    if (!(y instanceof Float32Array)) throw new EdgelakeError('invalid-input', `tensor ${name}: soft labels must be float32, the batch has ${y.constructor.name} values`);
    return { labels: y, labelKind };
  }
  // The loss of a label past the classes is 0 with a gradient anyway: PyTorch refuses it ("Target 7 is out of bounds"), and so do we.
  const values = y as ArrayLike<number>;
  for (let i = 0; i < n; i++) {
    if (!(Number.isInteger(values[i]) && values[i] >= 0 && values[i] < classes)) {
      throw new EdgelakeError('invalid-input', `tensor ${name}: sample ${batch.ids[i]} has label ${values[i]}, and the model has ${classes} classes (0 to ${classes - 1})`);
    }
  }
  return { labels: y instanceof Int32Array ? y : Int32Array.from(values), labelKind };
}
