import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningNginx {
  url: string;
  stop(): Promise<void>;
  /** The access log so far ('' when started with accessLog: false). */
  accessLog(): Promise<string>;
}

/**
 * Debian's nginx serving `root` on 127.0.0.1 for tests and benchmarks: one foreground process,
 * every file it writes in a temp folder, and run under coreutils' `timeout` so it ends after
 * `maxSeconds` even if the process that started it is killed. tcp_nopush is off (Debian's
 * nginx.conf turns it on): with it, about half the responses of 64-300 KB on a reused loopback
 * connection wait 40 ms for the client's delayed ACK (curl shows it too), a stall of this kernel
 * and setting that would dominate every range read and that a remote store does not add.
 * `webdav`: PUT stores files under `root` (the WebDAV module's `dav_methods PUT`), ignoring
 * If-Match and If-None-Match as that module does. nginx runs as one process under the caller's
 * user, so `root` and the temp folder need no other owner.
 */
export async function startNginx(root: string, options: { maxSeconds?: number; accessLog?: boolean; webdav?: boolean } = {}): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'edgelake-nginx-'));
  const port = await freePort();
  const log = options.accessLog ?? true;
  await writeFile(join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1;
pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${log ? `${dir}/access.log` : 'off'}; sendfile on; tcp_nopush off; keepalive_requests 100000; keepalive_timeout 60s;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root};${options.webdav ? ' dav_methods PUT; create_full_put_path on;' : ''} }
}
`);
  const nginx = spawn('timeout', ['-k', '5', String(Math.ceil(options.maxSeconds ?? 600)), 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: 'ignore',
    env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/bin:${process.env.PATH ?? ''}` },
  });
  const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
  const kill = () => nginx.kill('SIGTERM');
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    if (nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGTERM');
    const killer = setTimeout(() => nginx.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    await rm(dir, { recursive: true, force: true });
  };
  for (const started = Date.now(); !(await accepts(port));) {
    if (nginx.exitCode !== null || Date.now() - started > 10_000) {
      const errors = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`nginx did not start on 127.0.0.1:${port} (is it installed? apt-get install nginx): ${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}/`, stop, accessLog: () => (log ? readFile(join(dir, 'access.log'), 'utf8') : Promise.resolve('')) };
}

export async function freePort(): Promise<number> {
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
