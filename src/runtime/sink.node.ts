import { fileURLToPath } from 'node:url';
import { FolderSink } from '../format/folder-sink.node.js';
import type { Sink } from '../format/sink.js';
import { s3FromEnvironment } from '../source/open.node.js';
import { schemeOf } from '../source/open.js';
import { openSink, type OpenSinkOptions } from './sink.js';

/**
 * openSink for Node: local folders and file:// too, S3 keys from the AWS_* environment, and
 * EDGELAKE_SINGLE_WRITER=1 for HttpSinkOptions.singleWriter (how the CLI commits, alone, to a
 * server that ignores conditional PUT).
 */
export function openSinkNode(location: string, options: OpenSinkOptions = {}): Sink {
  const scheme = schemeOf(location);
  if (scheme === undefined) return new FolderSink(location);
  if (scheme === 'file') return new FolderSink(fileURLToPath(location));
  const alone = process.env.EDGELAKE_SINGLE_WRITER === '1' ? { http: { singleWriter: true, ...options.http } } : {};
  if (scheme === 's3') return openSink(location, { ...options, ...alone, s3: { ...s3FromEnvironment(process.env), ...options.s3 } });
  return openSink(location, { ...options, ...alone });
}
