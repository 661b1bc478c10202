import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AwsClient } from 'aws4fetch';

/** Servers the end-to-end tests start; each listens on 127.0.0.1 only and stops in afterAll. */
export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export function sha256hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The files of a small dataset laid out as FORMAT.md says: chunks named by their SHA-256, a
 * manifest named by its own SHA-256, and edgelake.json pointing at it. Chunk sizes span one
 * network packet to several megabytes.
 */
export function datasetLikeTree(): { files: Map<string, Uint8Array>; versionId: string; chunkPaths: string[] } {
  const files = new Map<string, Uint8Array>();
  const chunks = [1_000, 300_000, 3_000_000].map((size, i) => {
    const bytes = new Uint8Array(createHash('sha512').update(`chunk ${i}`).digest().buffer);
    const body = new Uint8Array(size).map((_, j) => bytes[j % 64]! ^ (j >> 6));
    const hash = sha256hex(body);
    files.set(`chunks/${hash.slice(0, 2)}/${hash}`, body);
    return { hash, bytes: size, samples: 10 };
  });
  const manifest = new TextEncoder().encode(
    JSON.stringify({ format: 'edgelake/1', parent: null, message: 'e2e', length: 30, splits: { train: [[0, 30]] },
      tensors: { blob: { htype: 'generic', dtype: 'bytes', shape: [null], sampleCompression: 'none', chunkCompression: 'none', chunks } } }),
  );
  const versionId = sha256hex(manifest);
  files.set(`versions/${versionId}.json`, manifest);
  files.set('edgelake.json', new TextEncoder().encode(JSON.stringify({ format: 'edgelake/1', name: 'e2e', head: 'main', refs: { main: versionId } })));
  return { files, versionId, chunkPaths: chunks.map((c) => `chunks/${c.hash.slice(0, 2)}/${c.hash}`) };
}

export async function writeTree(root: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
}

export { startNginx } from '../support/nginx.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver's only built-in account. It checks the key id; it does not verify SigV4 signatures. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** s3rver in this process, storing into a temp folder; `put` uploads with a SigV4-signed PUT. */
export async function startS3rver(bucket: string): Promise<RunningServer & { put(key: string, bytes: Uint8Array): Promise<void> }> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 'edgelake-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const url = `http://127.0.0.1:${port}`;
  const client = new AwsClient({ ...S3RVER_CREDENTIALS, service: 's3', region: 'us-east-1' });
  return {
    url,
    async put(key, bytes) {
      const response = await fetch(await client.sign(`${url}/${bucket}/${key}`, { method: 'PUT', body: new Uint8Array(bytes) }));
      if (!response.ok) throw new Error(`s3rver PUT ${key}: HTTP ${response.status} ${await response.text()}`);
    },
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
