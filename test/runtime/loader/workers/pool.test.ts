import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSamples, type DecodedSamples, type DecodeTask } from '../../../../src/runtime/dataset/decode.js';
import { inlinePool, WorkerPool, type DecodeApi, type DecodeOutcome, type PoolWorker } from '../../../../src/runtime/loader/workers/pool.js';
import { bytes, cases, chunkCase, fresh, meta, type Case } from './fixtures.js';
import { type DecodePool, EdgelakeError } from '../../../../src/index.js';
import { nodeWorkerPool } from '../../../../src/node.js';
import { chunkPath } from '../../../../src/format/index.js';

let all: Case[];
let pool: DecodePool;
beforeAll(async () => {
  all = await cases();
  pool = nodeWorkerPool(2);
});
afterAll(() => pool?.close());

const plain = (d: DecodedSamples) => ({ data: [...d.data], offsets: [...d.offsets], shapes: d.shapes && [...d.shapes] });

describe('nodeWorkerPool', () => {
  it('decodes every kind of chunk exactly as inlinePool does', async () => {
    expect(pool.size).toBe(2);
    await pool.ready!(); // both workers have loaded
    const inline = inlinePool();
    expect(inline.size).toBe(0);
    for (const c of all) {
      const want = await inline.decode(fresh(c.task));
      expect(plain(await pool.decode(fresh(c.task))), c.name).toEqual(plain(want));
    }
  });

  it('50 concurrent tasks come back right and in the right order', async () => {
    const tasks = Array.from({ length: 50 }, (_, i) => all[i % all.length].task);
    const started = performance.now();
    const got = await Promise.all(tasks.map((t) => pool.decode(fresh(t))));
    console.info(`50 chunks on 2 workers: ${(performance.now() - started).toFixed(0)} ms`);
    for (const [i, t] of tasks.entries()) expect(plain(got[i])).toEqual(plain(await decodeSamples(fresh(t))));
  });

  it('a worker finishes its chunks in the order they were asked for, as does inlinePool', async () => {
    // Decoding awaits (hashing): interleaved, the first chunk would come back after the last.
    const one = nodeWorkerPool(1);
    try {
      // Chunks of 4 MiB, so that each one's work (not the messages' latency) sets when it is back.
      const big = [0, 1, 2, 3].map((i) => bytes(i, 1 << 20));
      const biggest = (await chunkCase('big', big, meta({ shape: [1 << 20] }))).task;
      for (const decoder of [one, inlinePool()]) {
        await decoder.decode(fresh(biggest)); // the worker is up
        const finished: { i: number; ms: number }[] = [];
        const tasks = Array.from({ length: 16 }, () => fresh(biggest)); // copied before the clock starts
        const start = performance.now();
        await Promise.all(tasks.map((task, i) => decoder.decode(task).then(() => finished.push({ i, ms: performance.now() - start }))));
        const name = `${decoder.size} worker(s)`;
        expect(finished.map((f) => f.i), name).toEqual([...finished.keys()]);
        // Served one by one, the first of 16 equal chunks is back long before the last.
        expect(finished[0].ms, name).toBeLessThan(finished[15].ms / 2);
      }
    } finally {
      await one.close();
    }
  });

  it("transfers the task's stored buffer into the worker (detached here), and only it", async () => {
    const task = fresh(all[0].task);
    const buffer = task.stored.buffer;
    const pending = pool.decode(task);
    expect(buffer.byteLength).toBe(0);
    expect(task.stored.length).toBe(0);
    await pending;
    // A view into a larger buffer is copied first: the caller's other bytes stay put.
    const original = all[0].task.stored;
    const big = new Uint8Array(original.length + 100);
    big.set(original, 50);
    await pool.decode({ ...all[0].task, stored: big.subarray(50, 50 + original.length) });
    expect(big.buffer.byteLength).toBe(original.length + 100);
  });

  it('an EdgelakeError thrown in a worker arrives with its code and message', async () => {
    const task = fresh(all[1].task);
    task.stored[task.stored.length - 1] ^= 0xff;
    const inline = (await decodeSamples(fresh(task)).catch((e: unknown) => e)) as EdgelakeError;
    const remote: unknown = await pool.decode(task).catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(EdgelakeError);
    expect(remote).toMatchObject({ code: 'integrity', message: inline.message });
    expect(inline.message).toMatch(/^dataset test, tensor chunk-deflate, chunk 0: /);
  });

  it('fetches chunks from a root it opens itself, verifies and decodes them, and hands back the stored bytes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'edgelake-pool-fetch-'));
    try {
      const path = (c: Case) => chunkPath(c.task.ref.hash);
      for (const c of all) {
        await mkdir(join(root, dirname(path(c))), { recursive: true });
        await writeFile(join(root, path(c)), c.task.stored);
      }
      const fetchTask = (c: Case) => ({ fetch: { root, options: { concurrency: 2 }, path: path(c) }, ref: c.task.ref, tensor: c.task.tensor, limits: c.task.limits, where: c.task.where });
      const got = await Promise.all(all.map((c) => pool.fetch!(fetchTask(c))));
      for (const [i, c] of all.entries()) {
        const { stored, ...decoded } = got[i];
        expect([...stored], c.name).toEqual([...c.task.stored]);
        expect(plain(decoded), c.name).toEqual(plain(await decodeSamples(fresh(c.task))));
      }
      // The worker's remote chain checks the bytes against the chunk's name, as on this thread.
      const altered = fresh(all[0].task).stored;
      altered[altered.length - 1] ^= 0xff;
      await writeFile(join(root, path(all[0])), altered);
      await expect(pool.fetch!(fetchTask(all[0]))).rejects.toMatchObject({ code: 'integrity', message: expect.stringMatching(/^dataset test, tensor raw, chunk 0: .*do not match the SHA-256/) });
      await expect(pool.fetch!({ ...fetchTask(all[1]), fetch: { root, options: {}, path: 'chunks/missing' } })).rejects.toMatchObject({ code: 'not-found' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('close() lets the process exit, and so does a pool left open and idle', async () => {
    const child = (close: boolean) => `
      import { nodeWorkerPool } from ${JSON.stringify(fileURLToPath(new URL('../../../../src/runtime/loader/workers/pool.node.ts', import.meta.url)))};
      import { cases } from ${JSON.stringify(fileURLToPath(new URL('./fixtures.ts', import.meta.url)))};
      const pool = nodeWorkerPool(2);
      const got = await Promise.all((await cases()).map((c) => pool.decode(c.task)));
      console.log('decoded', got.length);
      ${close ? 'await pool.close();' : ''}`;
    for (const close of [true, false]) {
      const started = performance.now();
      const result = await run(['--import', 'tsx', '--input-type=module', '-e', child(close)], 15_000);
      const ms = performance.now() - started;
      console.info(`child (${close ? 'closed' : 'left open'}): exit ${result.code} after ${ms.toFixed(0)} ms`);
      expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^decoded \d+/) });
      expect(ms).toBeLessThan(10_000);
    }
  });
});

/** Runs node with `args`; resolves with exit code and output, or a null code if it outlives `timeoutMs`. */
function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: fileURLToPath(new URL('../../../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b));
    p.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

/** A WorkerPool over fake workers whose answers the test releases by hand. */
function fakes(n: number) {
  const workers = Array.from({ length: n }, () => {
    const calls: ((o: DecodeOutcome) => void)[] = [];
    const busy: boolean[] = [];
    let crash: (e: Error) => void = () => {};
    const readies: ((o: DecodeOutcome<true>) => void)[] = [];
    const remote = {
      decode: () => new Promise<DecodeOutcome>((r) => calls.push(r)),
      ready: () => new Promise<DecodeOutcome<true>>((r) => readies.push(r)),
    } as unknown as PoolWorker['remote'] & DecodeApi;
    const worker: PoolWorker = { remote, terminate: () => {}, onError: (l) => (crash = l), busy: (b) => busy.push(b) };
    return { worker, calls, readies, busy, crash: (e: Error) => crash(e) };
  });
  return { workers, pool: new WorkerPool(workers.map((w) => w.worker)) };
}

describe('WorkerPool scheduling', () => {
  const task = (): DecodeTask => fresh(all[0].task);
  const answer = { ok: true, value: { data: new Uint8Array(1), offsets: new Uint32Array([0, 1]) } } as const;

  it('sends each task to the least busy worker, and tells a worker when it goes busy and idle', async () => {
    const { workers, pool } = fakes(3);
    const pending = [pool.decode(task()), pool.decode(task()), pool.decode(task())];
    expect(workers.map((w) => w.calls.length)).toEqual([1, 1, 1]);
    workers[1].calls[0](answer);
    await pending[1];
    pending.push(pool.decode(task()));
    expect(workers.map((w) => w.calls.length)).toEqual([1, 2, 1]);
    expect(workers[1].busy).toEqual([false, true, false, true]);
    for (const w of workers) for (const c of w.calls) c(answer);
    await Promise.all(pending);
    expect(workers.map((w) => w.busy.at(-1))).toEqual([false, false, false]);
  });

  it('a worker that dies rejects what it was running; later tasks go to the others', async () => {
    const { workers, pool } = fakes(2);
    const [a, b] = [pool.decode(task()), pool.decode(task())];
    workers[0].crash(new Error('exited with code 1'));
    await expect(a).rejects.toThrow('decode worker 0 failed: exited with code 1');
    const c = pool.decode(task());
    expect(workers.map((w) => w.calls.length)).toEqual([1, 2]);
    workers[1].calls.forEach((r) => r(answer));
    await Promise.all([b, c]);
    workers[1].crash(new Error('out of memory'));
    await expect(pool.decode(task())).rejects.toThrow(/every decode worker has failed/);
  });

  it('ready() resolves once every worker has answered, and rejects if one dies first', async () => {
    const { workers, pool } = fakes(2);
    let ready = false;
    const waiting = pool.ready().then(() => (ready = true));
    expect(pool.ready()).toBe(pool.ready()); // asked once per worker, however often called
    workers[0].readies[0]({ ok: true, value: true });
    await new Promise((r) => setTimeout(r, 10));
    expect(ready).toBe(false);
    workers[1].readies[0]({ ok: true, value: true });
    await waiting;
    expect(workers.map((w) => w.readies.length)).toEqual([1, 1]);
    const dying = fakes(1);
    const never = dying.pool.ready();
    dying.workers[0].crash(new Error('failed to load: SyntaxError'));
    await expect(never).rejects.toThrow('decode worker 0 failed: failed to load: SyntaxError');
  });

  it('close() rejects tasks still running and refuses new ones', async () => {
    const { pool } = fakes(1);
    const running = pool.decode(task());
    await pool.close();
    await expect(running).rejects.toThrow('the decode pool was closed');
    await expect(pool.decode(task())).rejects.toThrow('the decode pool is closed');
  });
});
