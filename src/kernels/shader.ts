/**
 * The WGSL preamble every kernel family shares, written once (TensorFlow.js's WebGPU header
 * generator in spirit, much smaller): the WORKGROUP_SIZE override, flat indices over the 2-D grid
 * of workgroupGrid, `struct Params` bound as the uniform at group 0 binding 0, and storage
 * bindings numbered in the order the encode functions bind their buffers. Numbers that vary per
 * dispatch stay `override` constants set through pipeline `constants`, never templated.
 */

export interface ShaderHeader {
  /** Default of `override WORKGROUP_SIZE`; omit where the shader shapes its workgroups itself (matmul). */
  workgroupSize?: number;
  /**
   * Fields of `struct Params`, in the host's layout order; text after `//` becomes a comment:
   * 'accumulate: u32 // 1: add to the output'.
   */
  params?: readonly string[];
  /** The uniform's name, 'params' unless the shader uses that name for something else. */
  paramsName?: string;
  /**
   * Storage buffers by bind group, 'read input: array<f32>' or 'read_write output: array<f32>',
   * bound in order (after the uniform in group 0), as cachedBindGroup binds buffers[i] at i.
   */
  bindings?: Readonly<Record<number, readonly string[]>>;
}

/** The preamble of a kernel's WGSL; the shader's own overrides and code follow it. */
export function shaderHeader(h: ShaderHeader): string {
  const sized = h.workgroupSize !== undefined;
  const sections = [sized ? `override WORKGROUP_SIZE: u32 = ${h.workgroupSize}u;` : '', WORKGROUP_INDEX, sized ? INVOCATION_INDEX : ''];
  const declarations: string[] = [];
  if (h.params) {
    declarations.push('struct Params {', ...h.params.map((f) => `  ${withComment(f, ',')}`), '}');
    declarations.push(`@group(0) @binding(0) var<uniform> ${h.paramsName ?? 'params'}: Params;`);
  }
  for (const [group, vars] of Object.entries(h.bindings ?? {})) {
    const first = Number(group) === 0 && h.params ? 1 : 0;
    vars.forEach((v, i) => declarations.push(storage(Number(group), first + i, v)));
  }
  return `${[...sections, declarations.join('\n')].filter((s) => s).join('\n\n')}\n`;
}

const WORKGROUP_INDEX = /* wgsl */ `// The flat index of a workgroup; rows of a 2-D grid continue where the previous row ended.
fn workgroupIndex(group: vec3u, groups: vec3u) -> u32 {
  return group.x + group.y * groups.x;
}`;

const INVOCATION_INDEX = /* wgsl */ `// The flat index of an invocation, from global_invocation_id, on the same grid.
fn invocationIndex(id: vec3u, groups: vec3u) -> u32 {
  return id.x + id.y * groups.x * WORKGROUP_SIZE;
}`;

function storage(group: number, binding: number, declaration: string): string {
  const space = declaration.indexOf(' ');
  const access = declaration.slice(0, space);
  if (access !== 'read' && access !== 'read_write') throw new Error(`shaderHeader: '${declaration}' must start with read or read_write`);
  return `@group(${group}) @binding(${binding}) var<storage, ${access}> ${withComment(declaration.slice(space + 1), ';')}`;
}

/** `text` ended by `end`, its `// comment` (if any) after that. */
function withComment(text: string, end: string): string {
  const at = text.indexOf('//');
  return at < 0 ? `${text.trim()}${end}` : `${text.slice(0, at).trim()}${end} ${text.slice(at)}`;
}

/**
 * Float tests by their bits, and a relu that keeps NaN, for shaders to include once: WGSL lets a
 * compiler assume floats are never NaN or infinite, so `x != x` may be false, and `max(NaN, 0.0)`
 * is 0 on some (lavapipe): a diverged layer would pass zeros on, where the CPU references' Math.max,
 * and PyTorch's relu, pass NaN on to the loss that reports it.
 */
export const FLOAT_BITS = /* wgsl */ `fn isNan(x: f32) -> bool {
  let bits = bitcast<u32>(x);
  return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
}

fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn relu(x: f32) -> f32 {
  return select(max(x, 0.0), x, isNan(x));
}`;
