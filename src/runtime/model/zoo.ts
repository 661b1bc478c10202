import { EdgelakeError } from '../../errors.js';
import { formatAdapter, describeAdapter } from '../../kernels/device.js';
import type { Backend } from './backend.js';
import { CpuBackend } from './backend.cpu.js';
import { GpuBackend } from './backend.gpu.js';
import type { LayerSpec } from './layers.js';
import { Model, type ModelSpec } from './model.js';

export interface ModelOptions {
  /** Train on this device's GPU kernels; null or absent: the CPU references. */
  device?: GPUDevice | null | undefined;
  /** Or a backend made by the caller. */
  backend?: Backend;
  /** Keys weight initialisation and dropout masks (default 0). */
  seed?: number | undefined;
}

/** The GPU backend for a device, else the CPU one. */
export function backendFor(device: GPUDevice | null | undefined): Backend {
  return device ? new GpuBackend(device, formatAdapter(describeAdapter(device))) : new CpuBackend();
}

export function createModel(spec: ModelSpec, options: ModelOptions = {}): Model {
  return new Model(spec, options.backend ?? backendFor(options.device), options.seed ?? 0);
}

/** A multilayer perceptron: `layers` are widths from input to classes, ReLU between, optional dropout after each hidden layer. */
export function mlp(options: ModelOptions & { layers: number[]; dropout?: number }): Model {
  const widths = options.layers;
  if (widths.length < 2) throw new EdgelakeError('invalid-input', `mlp needs at least [inputs, classes], got [${widths.join(', ')}]`);
  const layers: LayerSpec[] = [];
  for (const [i, units] of widths.slice(1).entries()) {
    const hidden = i < widths.length - 2;
    layers.push({ type: 'dense', units, activation: hidden ? 'relu' : 'none' });
    if (hidden && options.dropout) layers.push({ type: 'dropout', rate: options.dropout });
  }
  return createModel({ input: [widths[0]], layers }, options);
}

/**
 * A small CNN for [channels, height, width] images: two blocks of 3x3 convolution (same padding),
 * ReLU and 2x2 max-pool, then a dense ReLU layer and the classes.
 */
export function cnn(options: ModelOptions & { input: [number, number, number]; classes: number; filters?: [number, number]; hidden?: number; dropout?: number }): Model {
  const [f1, f2] = options.filters ?? [16, 32];
  const layers: LayerSpec[] = [
    { type: 'conv2d', filters: f1, kernel: 3, pad: 1, activation: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'conv2d', filters: f2, kernel: 3, pad: 1, activation: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: options.hidden ?? 128, activation: 'relu' },
    ...(options.dropout ? [{ type: 'dropout', rate: options.dropout } as LayerSpec] : []),
    { type: 'dense', units: options.classes },
  ];
  return createModel({ input: options.input, layers }, options);
}

/** A linear (no `hidden`) or MLP classifier over an embedding tensor of `dims` values per sample. */
export function head(options: ModelOptions & { dims: number; classes: number; hidden?: number[]; dropout?: number }): Model {
  return mlp({ ...options, layers: [options.dims, ...(options.hidden ?? []), options.classes] });
}
