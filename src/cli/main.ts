import { isEdgelakeError } from '../errors.js';
import { useNodeCodecs } from '../format/codecs.node.js';
import { redactUrls } from '../source/redact.js';
import { buildLinkedCommand, buildLinkedFlags, buildLinkedUsage } from './build-linked.js';
import { buildIdxCommand, buildIdxFlags, buildIdxUsage, buildImageFolderCommand, buildImageFolderFlags, buildImageFolderUsage, buildNativeCommand, buildNativeFlags, buildNativeUsage } from './build.js';
import { cacheCommand, cacheFlags, cacheUsage, fetchCommand, fetchFlags, fetchUsage } from './cache.js';
import { closestFlag, helpText, type Flags } from './flags.js';
import { indexCommand, indexFlags, indexUsage } from './index-cmd.js';
import { inspectCommand, inspectFlags, inspectUsage } from './inspect.js';
import { materializeCommand, materializeFlags, materializeUsage, queryCommand, queryFlags, queryUsage, viewsCommand, viewsFlags, viewsUsage } from './query.js';
import { streamCommand, streamFlags, streamUsage } from './stream.js';
import { trainCommand, trainFlags, trainUsage } from './train.js';
import { learnCommand, learnFlags, learnUsage } from './learn.js';
import { viewCommand, viewFlags, viewUsage } from './view.js';
import {
  branchCommand, branchFlags, branchUsage, checkoutCommand, checkoutUsage, diffCommand, diffFlags, diffUsage, logCommand, logFlags, logUsage, noFlags, tagCommand, tagUsage,
} from './versions.js';
import { processIo, type CliIo } from './io.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

/** Every subcommand: what runs it, its usage line, what it does, and its flags (what --help prints and what it parses). */
export const commands: Record<string, { run: Command; usage: string; summary: string; flags: Flags }> = {
  'build idx': { run: buildIdxCommand, usage: buildIdxUsage, flags: buildIdxFlags, summary: 'Builds a dataset from MNIST-style IDX files (gzipped or not): image and label tensors, train and test splits, optionally a PCA probe.' },
  'build imagefolder': { run: buildImageFolderCommand, usage: buildImageFolderUsage, flags: buildImageFolderFlags, summary: 'Builds a dataset from one subfolder per class of JPEG or PNG files, with a thumbnail probe.' },
  'build linked': { run: buildLinkedCommand, usage: buildLinkedUsage, flags: buildLinkedFlags, summary: 'Builds a dataset of links to JPEG or PNG files where they are (a list or a CSV of URLs and classes); readers fetch, cache and decode them.' },
  'build native': { run: buildNativeCommand, usage: buildNativeUsage, flags: buildNativeFlags, summary: 'Writes any dataset (WebDataset shards or Parquet files read in place) as a native one, then adds a PCA probe if asked.' },
  index: { run: indexCommand, usage: indexUsage, flags: indexFlags, summary: 'Reads WebDataset shards or Parquet files once and writes the index beside them, so that opening them reads only what is asked for.' },
  inspect: { run: inspectCommand, usage: inspectUsage, flags: inspectFlags, summary: 'Shows a dataset\'s refs, version, splits and tensors.' },
  query: { run: queryCommand, usage: queryUsage, flags: queryFlags, summary: 'Selects samples with a TQL-style query (where, order by, limit; class names, text, array functions, slices), reading only the tensors it names.' },
  view: { run: viewCommand, usage: viewUsage, flags: viewFlags, summary: 'Serves the dataset viewer page (image grid with class names, per-class counts, an embedding scatter, queries) for a dataset folder or URL on 127.0.0.1.' },
  views: { run: viewsCommand, usage: viewsUsage, flags: viewsFlags, summary: 'Lists the query answers saved in a dataset (edgelake query --save NAME).' },
  materialize: { run: materializeCommand, usage: materializeUsage, flags: materializeFlags, summary: 'Writes the samples a query selects as a new version, packed in order for streaming, on a new branch.' },
  fetch: { run: fetchCommand, usage: fetchUsage, flags: fetchFlags, summary: 'Prefetches a dataset\'s chunks (a split, some tensors) into a persistent cache folder.' },
  cache: { run: cacheCommand, usage: cacheUsage, flags: cacheFlags, summary: 'Shows (stats), checks (verify) or empties (clear) a cache folder.' },
  stream: { run: streamCommand, usage: streamUsage, flags: streamFlags, summary: 'Runs one epoch through the streaming loader and reports samples/s, bytes fetched and the cache hit ratio.' },
  train: { run: trainCommand, usage: trainUsage, flags: trainFlags, summary: 'Trains a model on the train split while the data streams, then evaluates it on the test split.' },
  learn: { run: learnCommand, usage: learnUsage, flags: learnFlags, summary: 'Active learning: rounds of pick, fetch, label (the dataset\'s labels), train and evaluate; labels and bytes per round.' },
  log: { run: logCommand, usage: logUsage, flags: logFlags, summary: 'Lists the versions from a ref back to the first, with the refs and tags that name each.' },
  diff: { run: diffCommand, usage: diffUsage, flags: diffFlags, summary: 'Shows the samples added and removed between two versions, and per tensor the ids whose values changed.' },
  branch: { run: branchCommand, usage: branchUsage, flags: branchFlags, summary: 'Creates a ref (a branch) at a version.' },
  tag: { run: tagCommand, usage: tagUsage, flags: noFlags, summary: 'Creates a tag: a name for a version that never moves.' },
  checkout: { run: checkoutCommand, usage: checkoutUsage, flags: noFlags, summary: 'Makes a ref the dataset\'s head: what readers open by default.' },
};

function usage(): string {
  return `edgelake: stream, cache and learn from datasets larger than the device\n\nusage:\n${Object.values(commands).map((c) => `  ${c.usage}`).join('\n')}\n\nedgelake COMMAND --help describes a command's flags; edgelake --version prints the version.\n`;
}

/** The package's version, from its package.json (two folders up from src/cli and from dist/cli alike). */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Runs one CLI command; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  useNodeCodecs(); // native zlib and SHA-256 for every build, fetch, verify and epoch
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.stdout(`edgelake ${await version()}\n`);
    return 0;
  }
  if (argv[0] === 'help' && argv.length > 1) argv = [...argv.slice(1), '--help']; // edgelake help query = edgelake query --help
  const wantsHelp = (args: string[]) => args.some((a) => a === '--help' || a === '-h');
  const key = [argv.slice(0, 2).join(' '), argv[0]].find((k) => k !== undefined && k in commands);
  if (key && wantsHelp(argv.slice(key.split(' ').length))) {
    const c = commands[key];
    io.stdout(helpText(c.usage, c.summary, c.flags));
    return 0;
  }
  if (!key) {
    const group = Object.keys(commands).some((k) => k.startsWith(`${argv[0]} `)); // build: its subcommands are the commands
    if (argv.length === 0 || argv[0] === 'help' || wantsHelp(argv.slice(0, group ? undefined : 1))) {
      io.stdout(usage());
      return 0;
    }
    const name = argv.slice(0, group ? 2 : 1).join(' ');
    io.stderr(`edgelake: ${group && argv.length === 1 ? `${name} needs a subcommand` : `unknown command '${name}'`}\n\n${usage()}`);
    return 2;
  }
  try {
    return await commands[key].run(argv.slice(key.split(' ').length), io);
  } catch (e) {
    if (isEdgelakeError(e)) {
      const named = `${key.split(' ').at(-1)}: `; // the library's "materialize: ..." is not "edgelake materialize: materialize: ..."
      const message = e.message.startsWith(named) ? e.message.slice(named.length) : e.message;
      io.stderr(`edgelake ${key}: ${redactUrls(message)}\n`); // a URL's user, password or signature is never shown
      return e.code === 'invalid-input' ? 2 : 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const typed = /Unknown option '--([^']+)'/.exec((e as Error).message)?.[1];
      const meant = typed === undefined ? undefined : closestFlag(typed, commands[key].flags);
      const hint = typed === undefined ? '' : meant ? `; did you mean --${meant}?` : `; edgelake ${key} --help lists the flags`;
      io.stderr(`edgelake ${key}: ${redactUrls((e as Error).message.split('. ')[0])}${hint}\nusage: ${commands[key].usage}\n`);
      return 2;
    }
    if (isSystemError(e)) {
      io.stderr(`edgelake ${key}: ${redactUrls(e.message)}\n`); // a missing file or a taken address, not a bug: no stack
      return 1;
    }
    throw e;
  }
}

/** A failure the system reports (ENOENT, ENOTDIR, EACCES, EADDRNOTAVAIL...); a bug (a TypeError) has no such code. */
function isSystemError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);
}
