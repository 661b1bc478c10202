/**
 * Writes an edgelake model (a safetensors file from saveModel), or its first layers, as an ONNX
 * model (opset 13): the way to hand a trained edgelake backbone to ONNX Runtime. Layers map to
 * Conv (+ Relu), MaxPool, Flatten and Gemm (+ Relu); dropout is the identity at inference.
 * The ONNX protobuf is written here by hand (a few message types), so no ONNX package is needed.
 *
 *   npx tsx scripts/export-onnx.ts models/fashion-mnist-0-4.cnn.safetensors models/fashion-mnist-0-4.backbone.onnx [--layers 6]
 *
 * Input "input" [N, ...spec.input] float32; output "output" [N, width of the last layer kept].
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadModel, type Model } from '../src/index.js';

// ---- protobuf, the little of it ONNX needs: varints, length-delimited fields, nested messages ----
type Field = [number, 'varint', number] | [number, 'bytes', Uint8Array] | [number, 'string', string] | [number, 'message', Field[]];

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n) & 0xffffffffffffffffn; // negative ints as two's complement, ten bytes
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}

function encode(fields: Field[]): Uint8Array {
  const parts: number[] = [];
  for (const [num, kind, value] of fields) {
    if (kind === 'varint') parts.push(...varint(num << 3), ...varint(value));
    else {
      const bytes = kind === 'bytes' ? value : kind === 'string' ? new TextEncoder().encode(value) : encode(value);
      parts.push(...varint((num << 3) | 2), ...varint(bytes.length));
      for (const b of bytes) parts.push(b);
    }
  }
  return Uint8Array.from(parts);
}

// ---- ONNX messages (onnx.proto field numbers) ----
const FLOAT = 1;
const tensor = (name: string, dims: number[], data: Float32Array): Field[] => [
  ...dims.map((d): Field => [1, 'varint', d]), [2, 'varint', FLOAT], [8, 'string', name], [9, 'bytes', new Uint8Array(data.buffer, data.byteOffset, data.byteLength)],
];
const intAttr = (name: string, value: number): Field[] => [[1, 'string', name], [20, 'varint', 2], [3, 'varint', value]];
const intsAttr = (name: string, values: number[]): Field[] => [[1, 'string', name], [20, 'varint', 7], ...values.map((v): Field => [8, 'varint', v])];
const node = (op: string, inputs: string[], outputs: string[], attributes: Field[][] = []): Field[] => [
  ...inputs.map((i): Field => [1, 'string', i]), ...outputs.map((o): Field => [2, 'string', o]), [3, 'string', `${op}_${outputs[0]}`], [4, 'string', op],
  ...attributes.map((a): Field => [5, 'message', a]),
];
const valueInfo = (name: string, dims: (number | string)[]): Field[] => [
  [1, 'string', name],
  [2, 'message', [[1, 'message', [[1, 'varint', FLOAT], [2, 'message', dims.map((d): Field => [1, 'message', [typeof d === 'number' ? [1, 'varint', d] : [2, 'string', d]]])]]]]],
];

/** The first `layers` layers of `model` (all by default) as ONNX bytes. */
export async function modelToOnnx(model: Model, layers = model.layers.length): Promise<Uint8Array> {
  const nodes: Field[][] = [];
  const initializers: Field[][] = [];
  let current = 'input';
  let shape = model.spec.input;
  for (const [i, layer] of model.layers.slice(0, layers).entries()) {
    const spec = model.spec.layers[i];
    const out = `h${i}`;
    const weights = await Promise.all(layer.params.map(async (p) => ({ name: p.name, shape: p.shape, data: await model.backend.read(p.value) })));
    for (const w of weights) initializers.push(tensor(w.name, w.shape, w.data));
    let relu = false;
    if (spec.type === 'conv2d') {
      const pad = spec.pad ?? 0;
      nodes.push(node('Conv', [current, ...weights.map((w) => w.name)], [out], [intsAttr('kernel_shape', [spec.kernel, spec.kernel]), intsAttr('pads', [pad, pad, pad, pad]), intsAttr('strides', [spec.stride ?? 1, spec.stride ?? 1])]));
      relu = spec.activation === 'relu';
    } else if (spec.type === 'maxpool') {
      nodes.push(node('MaxPool', [current], [out], [intsAttr('kernel_shape', [spec.size, spec.size]), intsAttr('strides', [spec.stride ?? spec.size, spec.stride ?? spec.size])]));
    } else if (spec.type === 'flatten') {
      nodes.push(node('Flatten', [current], [out], [intAttr('axis', 1)]));
    } else if (spec.type === 'dense') {
      // edgelake's weight is [in, out]: Gemm's B as it is.
      nodes.push(node('Gemm', [current, ...weights.map((w) => w.name)], [out]));
      relu = spec.activation === 'relu';
    } else {
      nodes.push(node('Identity', [current], [out])); // dropout at inference
    }
    current = out;
    if (relu) {
      nodes.push(node('Relu', [current], [`${out}_relu`]));
      current = `${out}_relu`;
    }
    shape = layer.outputShape;
  }
  nodes.push(node('Identity', [current], ['output']));
  const graph: Field[] = [
    ...nodes.map((n): Field => [1, 'message', n]), [2, 'string', 'edgelake'],
    ...initializers.map((t): Field => [5, 'message', t]),
    [11, 'message', valueInfo('input', ['N', ...model.spec.input])], [12, 'message', valueInfo('output', ['N', ...shape])],
  ];
  return encode([[1, 'varint', 8], [2, 'string', 'edgelake'], [7, 'message', graph], [8, 'message', [[1, 'string', ''], [2, 'varint', 13]]]]);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { layers: { type: 'string' } } });
  const [from, to] = positionals;
  if (!from || !to) throw new Error('usage: npx tsx scripts/export-onnx.ts MODEL.safetensors OUT.onnx [--layers N]');
  const model = loadModel(new Uint8Array(readFileSync(from)), { name: from });
  const bytes = await modelToOnnx(model, values.layers === undefined ? undefined : Number(values.layers));
  writeFileSync(to, bytes);
  console.log(`${to}: the first ${values.layers ?? model.layers.length} layers of ${from} as ONNX (${bytes.length} bytes)`);
  model.dispose();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
