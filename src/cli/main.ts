import { isEdgelakeError } from '../errors.js';
import { useNodeCodecs } from '../format/codecs.node.js';
import { redactUrls } from '../source/redact.js';
import { buildIdxCommand, buildIdxUsage, buildImageFolderCommand, buildImageFolderUsage, buildNativeCommand, buildNativeUsage } from './build.js';
import { cacheCommand, cacheUsage, fetchCommand, fetchUsage } from './cache.js';
import { indexCommand, indexUsage } from './index-cmd.js';
import { inspectCommand, inspectUsage } from './inspect.js';
import { streamCommand, streamUsage } from './stream.js';
import { trainCommand, trainUsage } from './train.js';
import { learnCommand, learnUsage } from './learn.js';
import {
  branchCommand, branchUsage, checkoutCommand, checkoutUsage, diffCommand, diffUsage, logCommand, logUsage, tagCommand, tagUsage,
} from './versions.js';
import { processIo, type CliIo } from './io.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

const commands: Record<string, { run: Command; usage: string }> = {
  'build idx': { run: buildIdxCommand, usage: buildIdxUsage },
  'build imagefolder': { run: buildImageFolderCommand, usage: buildImageFolderUsage },
  'build native': { run: buildNativeCommand, usage: buildNativeUsage },
  index: { run: indexCommand, usage: indexUsage },
  inspect: { run: inspectCommand, usage: inspectUsage },
  fetch: { run: fetchCommand, usage: fetchUsage },
  cache: { run: cacheCommand, usage: cacheUsage },
  stream: { run: streamCommand, usage: streamUsage },
  train: { run: trainCommand, usage: trainUsage },
  learn: { run: learnCommand, usage: learnUsage },
  log: { run: logCommand, usage: logUsage },
  diff: { run: diffCommand, usage: diffUsage },
  branch: { run: branchCommand, usage: branchUsage },
  tag: { run: tagCommand, usage: tagUsage },
  checkout: { run: checkoutCommand, usage: checkoutUsage },
};

function usage(): string {
  return `edgelake: stream, cache and learn from datasets larger than the device\n\nusage:\n${Object.values(commands).map((c) => `  ${c.usage}`).join('\n')}\n`;
}

/** Runs one CLI command; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  useNodeCodecs(); // native zlib and SHA-256 for every build, fetch, verify and epoch
  const key = [argv.slice(0, 2).join(' '), argv[0]].find((k) => k !== undefined && k in commands);
  if (!key) {
    (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help' ? io.stdout : io.stderr)(usage());
    return argv.length === 0 || argv[0] === '--help' || argv[0] === 'help' ? 0 : 2;
  }
  try {
    return await commands[key].run(argv.slice(key.split(' ').length), io);
  } catch (e) {
    if (isEdgelakeError(e)) {
      io.stderr(`edgelake ${key}: ${redactUrls(e.message)}\n`); // a URL's user, password or signature is never shown
      return e.code === 'invalid-input' ? 2 : 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`edgelake ${key}: ${redactUrls((e as Error).message)}\nusage: ${commands[key].usage}\n`);
      return 2;
    }
    throw e;
  }
}
