import { EdgelakeError } from '../errors.js';
import type { ReadOptions, Source } from './source.js';

/** A Source over files held in memory (for example a MemorySink's), for tests and small datasets. */
export class MemorySource implements Source {
  constructor(
    readonly files: Map<string, Uint8Array>,
    readonly location = 'memory:',
  ) {}

  async read(path: string, options?: ReadOptions): Promise<Uint8Array> {
    const bytes = this.get(path);
    if (options?.maxBytes !== undefined && bytes.length > options.maxBytes) {
      throw new EdgelakeError('limit', `${this.location}/${path}: ${bytes.length} bytes, more than the ${options.maxBytes} expected`);
    }
    return bytes.slice();
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = this.get(path);
    if (offset < 0 || length < 0 || offset + length > bytes.length) {
      throw new EdgelakeError('source', `${this.location}/${path}: range ${offset}+${length} is outside its ${bytes.length} bytes`);
    }
    return bytes.slice(offset, offset + length);
  }

  private get(path: string): Uint8Array {
    const bytes = this.files.get(path);
    if (!bytes) throw new EdgelakeError('not-found', `${this.location}/${path}: no such file`);
    return bytes;
  }
}
