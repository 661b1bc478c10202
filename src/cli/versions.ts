import { parseFlags, positiveInt, type Flags } from './flags.js';
import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { diffVersions, versionHistory, versionLog, type VersionDiff } from '../runtime/dataset/history.js';
import { checkout, createBranch, createTag } from '../runtime/dataset/refs.js';
import { openSinkNode } from '../runtime/sink.node.js';
import { openSourceNode } from '../source/open.node.js';
import type { CliIo } from './io.js';

export const logUsage = 'edgelake log ROOT [--ref R] [--max N] [--json]';
export const diffUsage = 'edgelake diff ROOT A B [--json]';
export const branchUsage = 'edgelake branch ROOT NAME [--from REF]';
export const tagUsage = 'edgelake tag ROOT NAME [REF]';
export const checkoutUsage = 'edgelake checkout ROOT REF';

export const logFlags = {
  ref: { type: 'string', value: 'R', help: 'start from this ref, tag or version (default the head)' },
  max: { type: 'string', value: 'N', help: 'show at most N versions (default all)' },
  json: { type: 'boolean', help: 'print the versions as JSON' },
} as const satisfies Flags;
export const diffFlags = { json: { type: 'boolean', help: 'print the differences as JSON (every id)' } } as const satisfies Flags;
export const branchFlags = { from: { type: 'string', value: 'REF', help: 'the ref, tag or version the branch starts at (default the head)' } } as const satisfies Flags;
export const noFlags = {} as const satisfies Flags;

/** `edgelake log`: the versions from a ref back to the first, with the names that point at each. */
export async function logCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(logFlags, args);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${logUsage}`);
  const options = { ref: values.ref, max: positiveInt(values.max, '--max', Infinity) };
  if (values.json) {
    io.stdout(JSON.stringify(await unknownRefIsUsage(versionLog(openSourceNode(positionals[0]), options)), null, 2) + '\n');
    return 0;
  }
  // Each version as it is read: a missing parent stops the log after what could be read, as in git.
  const history = versionHistory(openSourceNode(positionals[0]), options);
  for (let next = await unknownRefIsUsage(history.next()); !next.done; next = await history.next()) {
    const v = next.value;
    const names = [...v.refs, ...v.tags.map((t) => `tag ${t}`), ...(v.head ? ['head'] : [])];
    io.stdout(`version ${v.version}${names.length ? `  (${names.join(', ')})` : ''}\ncreated ${v.created}  ${v.length} samples\n    ${v.message}\n\n`);
  }
  return 0;
}

/** `edgelake diff`: samples added and removed, and per tensor the ids whose values changed. */
export async function diffCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(diffFlags, args);
  if (positionals.length !== 3) throw new EdgelakeError('invalid-input', `usage: ${diffUsage}`);
  const diff = await unknownRefIsUsage(diffVersions(openSourceNode(positionals[0]), positionals[1], positionals[2]));
  io.stdout(values.json ? JSON.stringify(diff, null, 2) + '\n' : renderDiff(diff));
  return 0;
}

export async function branchCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(branchFlags, args);
  if (positionals.length !== 2) throw new EdgelakeError('invalid-input', `usage: ${branchUsage}`);
  const versionId = await createBranch(openSinkNode(positionals[0]), positionals[1], values.from);
  io.stdout(`branch ${positionals[1]} -> ${versionId}\n`);
  return 0;
}

export async function tagCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseFlags(noFlags, args);
  if (positionals.length !== 2 && positionals.length !== 3) throw new EdgelakeError('invalid-input', `usage: ${tagUsage}`);
  const versionId = await createTag(openSinkNode(positionals[0]), positionals[1], positionals[2]);
  io.stdout(`tag ${positionals[1]} -> ${versionId}\n`);
  return 0;
}

export async function checkoutCommand(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseFlags(noFlags, args);
  if (positionals.length !== 2) throw new EdgelakeError('invalid-input', `usage: ${checkoutUsage}`);
  const versionId = await checkout(openSinkNode(positionals[0]), positionals[1]);
  io.stdout(`head is ${positionals[1]} -> ${versionId}\n`);
  return 0;
}

/** A ref the user named that does not exist is a usage mistake (exit 2), not a failed read. */
export async function unknownRefIsUsage<T>(work: Promise<T>): Promise<T> {
  return work.catch((e: unknown) => {
    throw isEdgelakeError(e, 'not-found') && /: no ref "/.test(e.message) ? new EdgelakeError('invalid-input', e.message) : e;
  });
}

function renderDiff(d: VersionDiff): string {
  const lines = [`from ${d.from}`, `to   ${d.to}`, `samples: ${d.added} added, ${d.removed} removed`];
  for (const name of d.tensorsAdded) lines.push(`tensor ${name}: added`);
  for (const name of d.tensorsRemoved) lines.push(`tensor ${name}: removed`);
  for (const [name, ids] of Object.entries(d.changed)) {
    const shown = ids.slice(0, 20).join(', ') + (ids.length > 20 ? `, ... (--json lists all)` : '');
    lines.push(`tensor ${name}: ${ids.length} changed${ids.length ? `: ${shown}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
