import { readFile } from 'node:fs/promises';
import { getNodeDevice } from '../kernels/device.node.js';
import { EdgelakeError, isEdgelakeError } from '../errors.js';
import { loadModel } from '../runtime/model/model-io.js';
import { materialize } from '../runtime/query/materialize.js';
import { query, type QueryAnswer } from '../runtime/query/query.js';
import { checkNewViewName, listViews, openView, saveView } from '../runtime/query/views.js';
import { openSinkNode } from '../runtime/sink.node.js';
import { NAME } from '../format/validate.js';
import type { Dataset } from '../runtime/dataset/dataset.js';
import { openDataset } from '../runtime/open.node.js';
import { openCacheFolder } from './cache.js';
import { parseFlags, positiveInt, type Flags } from './flags.js';
import { formatBytes, type CliIo } from './io.js';
import { unknownRefIsUsage } from './versions.js';

export const queryUsage = `edgelake query ROOT "select * [from version 'ID' | from ref 'R'] [where EXPR] [order by EXPR [asc|desc]] [limit N [offset M]]" [--cache DIR] [--save NAME] [--model FILE [--input TENSOR] [--input-size N]] [--device gpu|cpu] [--json]`;

export const queryFlags = {
  cache: { type: 'string', value: 'DIR', help: 'a persistent chunk cache folder (default none)' },
  json: { type: 'boolean', help: 'print the query, the version, every matching id, the tensors read and the bytes fetched as JSON' },
  save: { type: 'string', value: 'NAME', help: 'save the answer in the dataset as a view of that name (edgelake views lists them)' },
  model: { type: 'string', value: 'FILE', help: 'a model edgelake train --save wrote: makes `uncertainty` (its entropy of each image) usable, e.g. order by uncertainty desc' },
  input: { type: 'string', value: 'TENSOR', help: 'with --model: the tensor it scores (default image), the one it was trained on' },
  'input-size': { type: 'string', value: 'N', help: 'with --model: images fitted to NxN (their centre) before it scores them, as train --input-size N trained it' },
  device: { type: 'string', value: 'gpu|cpu', help: 'gpu: reductions of whole uint8 tensors (mean(image)) on WebGPU, required; cpu (default): everything on the CPU, where reading the chunks is most of a query\'s time' },
} as const satisfies Flags;

/** `edgelake query`: the ids a TQL-style query selects, reading only the tensors it names. */
export async function queryCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(queryFlags, args);
  if (positionals.length !== 2) throw new EdgelakeError('invalid-input', `usage: ${queryUsage}`);
  const [root, text] = positionals;
  if (values.device !== undefined && !['gpu', 'cpu'].includes(values.device)) throw new EdgelakeError('invalid-input', `--device must be gpu or cpu, not "${values.device}"`);
  const inputSize = values['input-size'] === undefined ? undefined : positiveInt(values['input-size'], '--input-size', 0);
  if ((values.input !== undefined || inputSize !== undefined) && values.model === undefined) throw new EdgelakeError('invalid-input', `--${values.input !== undefined ? 'input' : 'input-size'} says how the model scores the images: give it with --model FILE`);
  const device = values.device === 'gpu' ? (await getNodeDevice({ required: true }))!.device : undefined;
  const cache = values.cache ? await openCacheFolder(values.cache, undefined, io) : undefined;
  try {
    const ds = await openDataset(root, { cache });
    if (values.save !== undefined) await checkNewViewName(ds.source, values.save, text); // before the chunks are read
    const learner = values.model === undefined ? undefined : loadModel(new Uint8Array(await readFile(values.model)), { name: values.model });
    const answer = await query(ds, text, { open: (ref) => openDataset(root, { cache, ref }), learner, input: values.input, inputSize, device }).finally(() => learner?.dispose());
    // Everything the answer cost: the refs and manifest too, when it ran on the version opened here.
    const fetched = answer.version === ds.version ? ds.network.bytes : answer.bytesFetched;
    const saved = values.save === undefined ? undefined : await saveView(openSinkNode(root), answer, values.save);
    const summary = { query: text, version: answer.version, count: answer.ids.length, tensorsRead: answer.tensorsRead, bytesFetched: fetched, ...(saved && { saved: { name: values.save, hash: saved } }), ids: Array.from(answer.ids) };
    if (values.json) io.stdout(JSON.stringify(summary) + '\n');
    else {
      const shown = summary.ids.slice(0, 20).join(', ');
      io.stdout(`${summary.count} samples (version ${answer.version.slice(0, 12)}; read ${answer.tensorsRead.join(', ') || 'no tensor'}, ${formatBytes(fetched)} fetched)${saved ? `; saved as view ${values.save}` : ''}\n${shown}${summary.count > 20 ? ', …' : ''}\n`);
    }
    return 0;
  } finally {
    await cache?.store.close();
  }
}

export const materializeUsage = `edgelake materialize ROOT VIEW|"select * where ..." [--ref R] [--json]`;

export const materializeFlags = {
  ref: { type: 'string', value: 'R', help: 'the new branch the version is committed on (default materialized)' },
  json: { type: 'boolean', help: 'print the new version as JSON' },
} as const satisfies Flags;

/** `edgelake materialize`: a query's samples written as a new version laid out for streaming, on a new branch. */
export async function materializeCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(materializeFlags, args);
  if (positionals.length !== 2) throw new EdgelakeError('invalid-input', `usage: ${materializeUsage}`);
  const [root, text] = positionals;
  const ds = await openDataset(root);
  const answer = await unknownRefIsUsage(answerOf(root, ds, text));
  const source = answer.version === ds.version ? ds : await openDataset(root, { ref: answer.version });
  const committed = await materialize(source, answer.ids, openSinkNode(root), { ref: values.ref, message: `materialized: ${text}` });
  const summary = { version: committed.versionId, ref: values.ref ?? 'materialized', parent: answer.version, samples: answer.ids.length, chunks: Object.values(committed.manifest.tensors).reduce((a, t) => a + t.chunks.length, 0) };
  io.stdout(values.json ? JSON.stringify(summary) + '\n' : `${summary.samples} samples as version ${summary.version} on ${summary.ref} (child of ${summary.parent.slice(0, 12)}), ${summary.chunks} chunks\n`);
  return 0;
}

/** A query run now, or a saved view by name (at the version it was saved from). */
async function answerOf(root: string, ds: Dataset, text: string): Promise<Pick<QueryAnswer, 'ids' | 'version'>> {
  // A view name has no space, and a query does ("select *"): a view named select-bags is a view.
  if (!NAME.test(text)) return query(ds, text, { open: (ref) => openDataset(root, { ref }) });
  const named = (await listViews(ds.source)).find((v) => v.name === text);
  const at = named && named.version !== ds.version ? await openDataset(root, { ref: named.version }) : ds;
  const { saved } = await openView(at, text).catch((e: unknown) => {
    throw isEdgelakeError(e, 'not-found') && !named ? new EdgelakeError('invalid-input', e.message) : e; // a name the user mistyped
  });
  return { ids: Uint32Array.from(saved.ids), version: saved.version };
}

export const viewsUsage = 'edgelake views ROOT [--json]';
export const viewsFlags = { json: { type: 'boolean', help: 'print the views as JSON' } } as const satisfies Flags;

/** `edgelake views`: the query answers saved in a dataset. */
export async function viewsCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(viewsFlags, args);
  if (positionals.length !== 1) throw new EdgelakeError('invalid-input', `usage: ${viewsUsage}`);
  const views = await listViews((await openDataset(positionals[0])).source);
  io.stdout(values.json ? JSON.stringify(views) + '\n' : views.map((v) => `${v.name}  ${v.count} samples of version ${v.version.slice(0, 12)}: ${v.query}`).join('\n') + (views.length ? '\n' : 'no saved views\n'));
  return 0;
}
