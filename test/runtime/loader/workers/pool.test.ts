import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSamples, type DecodedSamples, type DecodeTask } from '../../../../src/runtime/dataset/decode.js';
import { inlinePool, WorkerPool, type DecodeApi, type DecodeOutcome, type FetchTask, type PoolWorker, type WorkerPoolOptions } from '../../../../src/runtime/loader/workers/pool.js';
import { nodePoolWorker } from '../../../../src/runtime/loader/workers/pool.node.js';
import { bytes, cases, chunkCase, fresh, meta, type Case } from './fixtures.js';
import { type Batch, type DecodePool, EdgelakeError, Loader } from '../../../../src/index.js';
import { nodeWorkerPool, openDataset } from '../../../../src/node.js';
import { chunkPath, parseIdx } from '../../../../src/format/index.js';
import { describeWhere } from '../../../../src/format/limits.js';
import { buildSubsetArgs, cli, SUBSET } from '../../../support/cli.js';

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

  it('a worker that exits mid-task (as one killed for memory) is replaced at once; its fetch is retried there, its decode fails naming it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'edgelake-pool-exit-'));
    const spawned: number[] = [];
    const lossy = new WorkerPool([dyingWorker(3, 'exit')], { respawn: (i) => (spawned.push(i), dyingWorker(3, 'exit')) });
    try {
      const c = all[2];
      await mkdir(join(root, dirname(chunkPath(c.task.ref.hash))), { recursive: true });
      await writeFile(join(root, chunkPath(c.task.ref.hash)), c.task.stored);
      const want = async (k: Case) => plain(await decodeSamples(fresh(k.task)));
      expect(plain(await lossy.decode(fresh(all[0].task)))).toEqual(await want(all[0]));
      expect(plain(await lossy.decode(fresh(all[1].task)))).toEqual(await want(all[1]));
      // Its third call: the worker exits, and the fetch runs again on a fresh one, at once (the exit event, not the 15 s watchdog).
      const started = performance.now();
      const { stored: _, retries: __, ...got } = await lossy.fetch({ ref: c.task.ref, tensor: c.task.tensor, limits: c.task.limits, where: c.task.where, fetch: { root, options: {}, path: chunkPath(c.task.ref.hash) } });
      expect(performance.now() - started).toBeLessThan(5000);
      expect(plain(got)).toEqual(await want(c));
      expect(spawned).toEqual([0]);
      await lossy.decode(fresh(all[0].task));
      // The fresh worker's third call: a decode, whose bytes moved into the worker that exited, fails.
      const e: unknown = await lossy.decode(fresh(all[1].task)).catch((e: unknown) => e);
      expect(e).toBeInstanceOf(EdgelakeError);
      expect(e).toMatchObject({ code: 'worker-lost', message: `${describeWhere(all[1].task.where)}: decode worker 0 failed: exited with code 3; its bytes had moved into that worker, so the task was not retried` });
      expect(spawned).toEqual([0, 0]);
      expect(plain(await lossy.decode(fresh(all[0].task)))).toEqual(await want(all[0]));
    } finally {
      await lossy.close();
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

describe('a Loader over decode workers that stop answering', () => {
  let dir: string;
  // The bundled subset as the loader must return it (train images and labels).
  const idx = (file: string) => parseIdx(readFileSync(join(SUBSET, file)), file).data;
  const images = idx('train-images-idx3-ubyte.gz');
  const labels = idx('train-labels-idx1-ubyte.gz');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgelake-pool-loader-'));
    expect((await cli(...buildSubsetArgs(dir, '--chunk-kib', '32'))).code).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const epoch = async (pool: WorkerPool): Promise<Batch[]> => {
    const ds = await openDataset(dir);
    const out: Batch[] = [];
    try {
      await pool.ready(); // else, with so small a split, the loader reads it all here while the workers load
      for await (const b of new Loader(ds.view({ split: 'train' }), { batchSize: 256, tensors: ['image', 'label'], shuffle: { seed: 3, windowChunks: 2 }, pool })) out.push(b);
    } finally {
      await pool.close();
    }
    return out;
  };

  it('finishes an exact epoch when a worker hangs mid-epoch: the watchdog replaces it and its fetches run again', async () => {
    const replaced: number[] = [];
    // Worker 0 goes silent on its 10th fetch; the others, and those replacing it, do not.
    const pool = new WorkerPool([dyingWorker(10, 'silent'), dyingWorker(0, 'silent')], { silenceMs: 250, respawn: (i) => (replaced.push(i), dyingWorker(0, 'silent')) });
    const batches = await epoch(pool);
    expect(replaced).toEqual([0]);
    const ids = batches.flatMap((b) => [...b.ids]);
    expect(ids).toHaveLength(5000);
    expect(new Set(ids).size).toBe(5000);
    for (const b of batches) {
      const img = b.tensors.image as Uint8Array;
      b.ids.forEach((id, k) => {
        expect(Buffer.compare(img.subarray(k * 784, (k + 1) * 784), images.subarray(id * 784, (id + 1) * 784))).toBe(0);
        expect((b.tensors.label as Int32Array)[k]).toBe(labels[id]);
      });
    }
  });

  it('rejects the iteration, naming the worker and the chunk, when the retry is lost too', async () => {
    // Every worker, fresh ones too, goes silent on its first fetch.
    const pool = new WorkerPool([dyingWorker(1, 'silent'), dyingWorker(1, 'silent')], { silenceMs: 250, respawn: () => dyingWorker(1, 'silent') });
    await expect(epoch(pool)).rejects.toMatchObject({
      code: 'worker-lost',
      message: expect.stringMatching(/^dataset [^:]*, tensor (image|label), chunk \d+: decode worker \d failed: sent no reply for \d\.\d s, not even to a ping .*\(retried after decode worker \d failed: sent no reply/),
    });
  });
});

const DYING = new URL('./dying-worker.node.ts', import.meta.url).href;

/** A real decode worker lost on its `after`-th decode or fetch (0: never), by exiting or by going silent: see dying-worker.node.ts. */
function dyingWorker(after: number, how: 'exit' | 'silent'): PoolWorker {
  // Run from TypeScript behind tsx, as nodeWorkerPool does without a build.
  const entry = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(DYING)}); });`;
  return nodePoolWorker(new Worker(entry, { eval: true, workerData: { after, how } }));
}

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

/** A WorkerPool over fake workers whose answers (and pings: ready()) the test releases by hand; `respawn` makes more. */
function fakes(n: number, { respawn, ...options }: Omit<WorkerPoolOptions, 'respawn'> & { respawn?: boolean } = {}) {
  const workers: ReturnType<typeof fake>[] = [];
  const make = () => {
    const w = fake();
    workers.push(w);
    return w.worker;
  };
  const initial = Array.from({ length: n }, make);
  return { workers, pool: new WorkerPool(initial, { ...options, ...(respawn && { respawn: make }) }) };
}

function fake() {
  const calls: ((o: DecodeOutcome<unknown>) => void)[] = [];
  const busy: boolean[] = [];
  let crash: (e: Error) => void = () => {};
  // ready() calls not answered yet: the pool's load check, ready() itself, and watchdog pings.
  const readies: ((o: DecodeOutcome<true>) => void)[] = [];
  const state = { terminated: false };
  const remote = {
    decode: () => new Promise<DecodeOutcome>((r) => calls.push(r as (o: DecodeOutcome<unknown>) => void)),
    fetch: () => new Promise<DecodeOutcome<unknown>>((r) => calls.push(r)),
    ready: () => new Promise<DecodeOutcome<true>>((r) => readies.push(r)),
  } as unknown as PoolWorker['remote'] & DecodeApi;
  const worker: PoolWorker = { remote, terminate: () => (state.terminated = true), onError: (l) => (crash = l), busy: (b) => busy.push(b) };
  return { worker, calls, readies, busy, state, crash: (e: Error) => crash(e), answer: () => readies.splice(0).forEach((r) => r({ ok: true, value: true })) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const asked = workers.map((w) => w.readies.length);
    expect(pool.ready()).toBe(pool.ready()); // asked once per worker, however often called
    expect(workers.map((w) => w.readies.length)).toEqual(asked);
    workers[0].answer();
    await new Promise((r) => setTimeout(r, 10));
    expect(ready).toBe(false);
    workers[1].answer();
    await waiting;
    const dying = fakes(1);
    const never = dying.pool.ready();
    dying.workers[0].crash(new Error('failed to load: SyntaxError'));
    await expect(never).rejects.toThrow('decode worker 0 failed: failed to load: SyntaxError');
  });

  const fetchTask = (): FetchTask => {
    const { stored: _, ...rest } = task();
    return { ...rest, fetch: { root: 'https://example.org/ds', options: {}, path: 'chunks/x' } };
  };
  const fetched = { ok: true, value: { ...answer.value, stored: new Uint8Array(1), retries: [] } } as const;
  const up = async (w: ReturnType<typeof fake>, pool: WorkerPool) => {
    const ready = pool.ready();
    w.answer();
    await ready;
  };

  it('a busy worker that stops answering, even a ping, is terminated and replaced; what it ran rejects, naming it', { timeout: 5000 }, async () => {
    // A Web Worker that closed itself, ran out of memory or crashed fires no event: only silence tells.
    const { workers, pool } = fakes(1, { silenceMs: 40, respawn: true });
    await up(workers[0], pool);
    const started = performance.now();
    const e: unknown = await pool.decode(task()).catch((e: unknown) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75); // pinged after 40 ms silent, lost after 80
    expect(e).toBeInstanceOf(EdgelakeError);
    expect(e).toMatchObject({
      code: 'worker-lost',
      message: expect.stringMatching(/^dataset test, tensor raw, chunk 0: decode worker 0 failed: sent no reply for 0\.\d s, not even to a ping \(it closed itself, ran out of memory or crashed\); its bytes had moved into that worker, so the task was not retried$/),
    });
    expect(workers[0].readies.length).toBeGreaterThan(0); // the ping went unanswered
    expect(workers[0].state.terminated).toBe(true);
    expect(workers).toHaveLength(2);
    const next = pool.decode(task());
    expect(workers[1].calls).toHaveLength(1);
    workers[1].calls[0](answer);
    await next;
    await pool.close();
  });

  it('a fetch on a lost worker is retried once, on a fresh worker; lost there too, it fails', { timeout: 5000 }, async () => {
    const { workers, pool } = fakes(1, { silenceMs: 40, respawn: true });
    await up(workers[0], pool);
    const first = pool.fetch(fetchTask());
    workers[0].crash(new Error('exited with code 134'));
    await sleep(0);
    expect(workers[1].calls).toHaveLength(1); // the same fetch, again
    workers[1].calls[0](fetched);
    expect((await first).stored).toEqual(new Uint8Array(1));
    // Lost on worker 1 (which had answered: replaced), then on worker 2 (which never answered, as if it could not load: not replaced).
    const second = pool.fetch(fetchTask()).catch((e: unknown) => e);
    workers[1].crash(new Error('exited with code 134'));
    await sleep(0);
    workers[2].crash(new Error('exited with code 1'));
    expect(await second).toMatchObject({
      code: 'worker-lost',
      message: 'dataset test, tensor raw, chunk 0: decode worker 0 failed: exited with code 1 (retried after decode worker 0 failed: exited with code 134)',
    });
    expect(workers).toHaveLength(3);
    await expect(pool.decode(task())).rejects.toMatchObject({ code: 'worker-lost', message: 'dataset test, tensor raw, chunk 0: every decode worker has failed (decode worker 0 failed: exited with code 1)' });
  });

  it('a worker busy on a long task but answering pings is not lost, and one that answers in time is never pinged', async () => {
    const { workers, pool } = fakes(1, { silenceMs: 40, respawn: true });
    workers[0].answer(); // loaded
    for (let i = 0; i < 20; i++) {
      const quick = pool.decode(task());
      await sleep(5);
      workers[0].calls[i](answer);
      await quick;
    }
    expect(workers[0].readies).toHaveLength(0); // the healthy path costs no round trips
    const slow = pool.decode(task());
    const pong = setInterval(() => workers[0].answer(), 5);
    await sleep(400);
    clearInterval(pong);
    workers[0].calls[20](answer);
    await slow;
    expect(workers).toHaveLength(1);
    expect(workers[0].state.terminated).toBe(false);
    await pool.close();
  });

  it('close() rejects tasks still running and refuses new ones', async () => {
    const { workers, pool } = fakes(1);
    workers[0].answer();
    await sleep(0); // loaded: close() need not wait for it
    const running = pool.decode(task());
    await pool.close();
    await expect(running).rejects.toThrow('the decode pool was closed');
    await expect(pool.decode(task())).rejects.toThrow('the decode pool is closed');
  });

  it('close() terminates a worker still loading once it has answered: Node leaves open the files one terminated mid-load was reading', async () => {
    const { workers, pool } = fakes(2);
    workers[0].answer();
    await sleep(0); // worker 0 has loaded, worker 1 is loading
    const closing = pool.close();
    await sleep(10);
    expect(workers.map((w) => w.state.terminated)).toEqual([true, false]);
    workers[1].answer();
    await closing;
    expect(workers[1].state.terminated).toBe(true);
    expect(pool.close()).toBe(closing); // a second close() answers when the first is done
  });
});
