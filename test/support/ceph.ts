import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AwsClient } from 'aws4fetch';
import { freePort } from './nginx.js';
import { hasCommand } from './system.js';

const run = promisify(execFile);

/** What a Ceph S3 gateway needs here: Debian's radosgw, ceph-mon and ceph-osd (monmaptool comes with them). */
export const hasCeph = (): boolean => ['radosgw', 'ceph-mon', 'ceph-osd', 'monmaptool', 'ceph'].every(hasCommand);

export interface RunningRgw {
  url: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Creates a bucket with a signed PUT. */
  createBucket(name: string): Promise<void>;
  /** Uploads one object with a signed PUT. */
  put(bucket: string, key: string, bytes: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A one-machine Ceph cluster and its S3 gateway (radosgw) on 127.0.0.1: one monitor, one OSD that
 * keeps objects in memory, no authentication inside the cluster, one S3 user. A real S3 server
 * that arbitrates conditional PUTs (If-Match, If-None-Match), which s3rver does not. Each daemon
 * runs in the foreground under coreutils' `timeout`, so it ends after `maxSeconds` even if the
 * process that started it is killed; everything it writes is in one temp folder. About 10 s to start.
 */
export async function startRgw(options: { maxSeconds?: number } = {}): Promise<RunningRgw> {
  const dir = await mkdtemp(join(tmpdir(), 'edgelake-ceph-'));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'ceph.conf');
  const fsid = randomUUID();
  await writeFile(conf, `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
memstore device bytes = 1073741824
run dir = ${dir}
log file = ${dir}/$name.log
admin socket = ${dir}/$name.asok
mon data = ${dir}/mon.$id
osd data = ${dir}/osd.$id
rgw data = ${dir}/rgw
`);
  const daemons: ChildProcess[] = [];
  const daemon = (command: string, ...args: string[]) => {
    const child = spawn('timeout', ['-k', '5', String(Math.ceil(options.maxSeconds ?? 600)), command, '-f', '-c', conf, ...args], { stdio: 'ignore' });
    daemons.push(child);
  };
  const ceph = (...args: string[]) => run('ceph', ['-c', conf, '--connect-timeout', '30', ...args], { timeout: 60_000 });
  const kill = () => daemons.forEach((d) => d.kill('SIGTERM'));
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    await Promise.all(daemons.map((d) => new Promise<void>((resolve) => {
      if (d.exitCode !== null || d.signalCode !== null) return resolve();
      d.once('exit', () => resolve());
      d.kill('SIGTERM');
      setTimeout(() => d.kill('SIGKILL'), 5000).unref();
    })));
    await rm(dir, { recursive: true, force: true });
  };
  const credentials = { accessKeyId: 'EDGELAKE', secretAccessKey: randomUUID() };
  const url = `http://127.0.0.1:${rgwPort}`;
  try {
    await run('monmaptool', ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap')]);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    daemon('ceph-mon', '-i', 'a');
    // Placed in the CRUSH map here, the OSD asks the monitor nothing at start ("update on start" off):
    // when it did, about 1 start in 6 failed with "wrong fsid" and never came up.
    const osdUuid = randomUUID();
    const osd = (await ceph('osd', 'create', osdUuid)).stdout.trim();
    await mkdir(join(dir, `osd.${osd}`));
    await run('ceph-osd', ['-c', conf, '--mkfs', '-i', osd, '--osd-uuid', osdUuid]);
    await ceph('osd', 'crush', 'add', `osd.${osd}`, '1', 'root=default', 'host=localhost');
    daemon('ceph-osd', '-i', osd);
    daemon('radosgw', '-n', 'client.rgw', '--rgw-frontends', `beast endpoint=127.0.0.1:${rgwPort}`);
    // The gateway answers once it has created its pools.
    for (const started = Date.now(); !(await fetch(url).then((r) => r.ok, () => false));) {
      if (Date.now() - started > 60_000) throw new Error(`radosgw did not answer on ${url} within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await run('radosgw-admin', ['-c', conf, 'user', 'create', '--uid', 'edgelake', '--display-name', 'edgelake',
      '--access-key', credentials.accessKeyId, '--secret-key', credentials.secretAccessKey], { timeout: 60_000 });
  } catch (e) {
    const logs = await Promise.all(['mon.a', 'osd.0', 'client.rgw'].map((n) => readFile(join(dir, `${n}.log`), 'utf8').then((t) => `${n}: ${t.slice(-600)}`, () => '')));
    await stop();
    throw new Error(`Ceph did not start (apt-get install --no-install-recommends radosgw ceph-mon ceph-osd): ${e instanceof Error ? e.message : String(e)}\n${logs.join('\n')}`);
  }
  const client = new AwsClient({ ...credentials, service: 's3', region: 'us-east-1' });
  const signedPut = async (path: string, body?: Uint8Array) => {
    const response = await fetch(await client.sign(`${url}/${path}`, { method: 'PUT', body: body && new Uint8Array(body) }));
    if (!response.ok) throw new Error(`radosgw PUT ${path}: HTTP ${response.status} ${await response.text()}`);
  };
  return {
    url,
    credentials,
    createBucket: (name) => signedPut(name),
    put: (bucket, key, bytes) => signedPut(`${bucket}/${key}`, bytes),
    stop,
  };
}
