import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo } from 'node:net';
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
}

/** Debian's nginx in the foreground, one process, every file it writes inside a temp folder. */
export async function startNginx(root: string): Promise<RunningServer & { accessLog(): Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgelake-nginx-'));
  const port = await freePort();
  const conf = `daemon off; master_process off; worker_processes 1;
pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: 'ignore',
    env: { ...process.env, PATH: `/usr/sbin:/usr/bin:${process.env.PATH ?? ''}` },
  });
  const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
  const stop = async () => {
    if (nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGTERM');
    const killer = setTimeout(() => nginx.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    await rm(dir, { recursive: true, force: true });
  };
  for (const started = Date.now(); !(await accepts(port)); ) {
    if (nginx.exitCode !== null || Date.now() - started > 10_000) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`nginx did not start on 127.0.0.1:${port}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}/`, stop, accessLog: () => readFile(join(dir, 'access.log'), 'utf8') };
}

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
