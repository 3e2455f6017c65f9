/**
 * `npm run bench:pod-startup -- [--runs 50] [--burst 100]`: pod startup latency on a real `skiff server` with its
 * in-process agent (process runtime, scheduler and controllers as shipped), printed as one JSON object (issue "Node
 * agent", Benchmarks; targets: single pod p50 ≤ 30 ms, 100-pod burst ≤ 2 s; upstream's SLO is p99 ≤ 5 s per pod).
 *
 * - `single`: `--runs` times, one pod (`sleep 3600`, grace 1 s) is created and the time until a pod watch shows
 *   `status.phase: Running` is recorded (create request sent → Running seen), then the pod is deleted and its
 *   removal awaited (not timed). p50/p99/mean/max.
 * - `burst`: `--burst` pods are created at once (all requests in flight together); time from the first create
 *   request to the last pod seen Running, plus the per-pod p50/p99 of that run, and `serverCpuMsPerPod`: the server
 *   process's CPU time (user + system, all its threads, from /proc) over that window per pod — steadier than the
 *   wall time on a shared host — and `serverMainThreadCpuMsPerPod`, the share of its main thread (the one event
 *   loop). With `--cpu-prof`, `monoWindowUs` gives the window in CLOCK_MONOTONIC µs (the clock of V8 profile
 *   samples) so the server's profile can be cut to the burst.
 * - `spawn`: the same machine's raw process cost measured in the same run: `child_process.spawn('/bin/true')` to
 *   its exit (about what a pod start pays per process: the native infra process and the native shim), and `node -e 0`
 *   to its exit (the floor per container under the Node shim fallback). `$SKIFF_SHIM` (native|node) is passed to the
 *   server, so both shims can be compared back to back; `shim` in the output says which one ran.
 *
 * The server's data dir is made under os.tmpdir() (`$TMPDIR`): on a host whose /tmp is slow to create files and
 * directories in, that shows in the numbers (the runtime and volumes create several per pod).
 *
 * The server runs as a child process (`bin/skiff.js server`, memory datastore) so it has its own event loop, as it
 * would in production; this process only drives the API and watches. Run as root for the full runtime (namespaces,
 * cgroups); otherwise the runtime's host-mode fallback is measured. `--cpu-prof DIR` passes `--cpu-prof
 * --cpu-prof-dir DIR` to the server for profiling. `--trace FILE` appends `<epoch ms> <pod> <event>` lines: the
 * server's start path ($SKIFF_STARTUP_TRACE: kubelet-add, sync, listed, rt-infra or rt-pooled (a pre-made sandbox
 * taken; `$SKIFF_SANDBOX_POOL=0` turns the pool off for A/B), rt-podcgroup, sandbox, vol-token/vol-token-got (the
 * projected token's TokenRequest round trip), vol-written <volume>, volumes, env, rt-cgroup, created,
 * rt-spawned, rt-cni, rt-started, patch/patched <phase>) and the bench's own bench-create / bench-running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostNetworkGuard } from './host-network.js';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { DynamicClient } from '../src/client/dynamic.js';
import { Informer } from '../src/client/informer.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    burst: { type: 'string', default: '100' },
    'cpu-prof': { type: 'string' },
    'timeout-s': { type: 'string', default: '120' },
    trace: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const BURST = Number(values.burst);
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const NS = 'default';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const HERE = dirname(fileURLToPath(import.meta.url));
/** bin/skiff.js from dist/bench (npm script) or bench/ (tsx); `$SKIFF_BIN` overrides (a private build elsewhere). */
const SKIFF = [process.env.SKIFF_BIN ?? '', join(HERE, '..', '..', 'bin', 'skiff.js'), join(HERE, '..', 'bin', 'skiff.js')].find((p) => p && existsSync(p))!;

/** `--trace FILE`: the server records its start path there ($SKIFF_STARTUP_TRACE); the bench adds its own marks. */
const marks: string[] = [];
const mark = (key: string, event: string) => {
  if (values.trace) marks.push(`${(performance.timeOrigin + performance.now()).toFixed(3)} ${key} ${event}\n`);
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const stats = (xs: number[]) => ({ p50Ms: r1(pct(xs, 50)), p99Ms: r1(pct(xs, 99)), meanMs: r1(xs.reduce((a, b) => a + b, 0) / xs.length), maxMs: r1(Math.max(...xs)) });

/** Starts `skiff server` as a child process; resolves with its URL once it prints that it is running. */
function startSkiff(dataDir: string, nodeArgs: string[] = []): Promise<{ proc: ChildProcess; url: string }> {
  const env = values.trace ? { ...process.env, SKIFF_STARTUP_TRACE: values.trace } : process.env;
  const proc = spawn(process.execPath, [...nodeArgs, SKIFF, 'server', '--data-dir', dataDir, '--https-port', '0', '--datastore', 'memory://', '--log-level', 'error'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d) => (err = (err + d).slice(-20_000)));
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /Skiff is running at (\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.on('exit', (code) => reject(new Error(`skiff server exited with ${code}: ${err}`)));
  });
}

/**
 * CPU time (user + system, ms) the process `pid` itself has used so far (/proc; NaN where there is none); with
 * `mainThread`, only its main thread's (the event loop: what the server's one loop spends, without the libuv pool).
 */
function cpuMsOf(pid: number | undefined, mainThread = false): number {
  try {
    const f = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based, counting pid and comm), in clock ticks (USER_HZ, 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Spawns a process and times spawn → exit (ms). */
function timeSpawn(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', () => resolve(performance.now() - t0));
  });
}

async function spawnLatency(n: number) {
  const trueMs: number[] = [];
  const nodeMs: number[] = [];
  for (let i = 0; i < n; i++) trueMs.push(await timeSpawn('/bin/true', []));
  for (let i = 0; i < Math.min(n, 20); i++) nodeMs.push(await timeSpawn(process.execPath, ['-e', '0']));
  return { binTrueP50Ms: r1(pct(trueMs, 50)), nodeP50Ms: r1(pct(nodeMs, 50)) };
}

async function main(): Promise<void> {
  // The node network this run's server sets up is removed again at the end (see host-network.ts).
  const cleanupNetwork = hostNetworkGuard(SKIFF);
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-pods-'));
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
  const { proc } = await startSkiff(dataDir, nodeArgs);
  const client = new DynamicClient(loadKubeconfig(join(dataDir, 'kubeconfig.yaml')), { rateLimit: false });
  const pods = client.resource<Pod>('v1', 'Pod');
  const runningAt = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const goneWaiters = new Map<string, () => void>();
  const inf = new Informer<Pod>(pods, { namespace: NS, logger: quiet });
  const seen = (p: Pod) => {
    const n = p.metadata!.name!;
    if (p.status?.phase === 'Running' && !runningAt.has(n)) {
      runningAt.set(n, performance.now());
      mark(n, 'bench-running');
      waiters.get(n)?.();
    }
  };
  inf.addEventHandler({ onAdd: seen, onUpdate: (_o, p) => seen(p), onDelete: (p) => goneWaiters.get(p.metadata!.name!)?.() });
  inf.start();
  await inf.waitForSync();
  const withTimeout = <T>(p: Promise<T>, what: string) =>
    Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`timed out: ${what}`)), TIMEOUT_MS).unref())]);
  // The in-process node must be Ready before anything is measured.
  await withTimeout((async () => {
    for (;;) {
      const nodes = await client.resource<Node>('v1', 'Node').list(undefined);
      if (nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })(), 'node Ready');

  const pod = (name: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
  });
  const untilRunning = (name: string) => new Promise<void>((resolve) => {
    if (runningAt.has(name)) return resolve();
    waiters.set(name, resolve);
  });
  const untilGone = (name: string) => new Promise<void>((resolve) => goneWaiters.set(name, resolve));
  const createAndWait = async (name: string) => {
    const t0 = performance.now();
    mark(name, 'bench-create');
    const running = untilRunning(name);
    await pods.create(NS, pod(name));
    await withTimeout(running, `${name} Running`);
    return runningAt.get(name)! - t0;
  };
  const deleteAll = async (names: string[]) => {
    const gone = names.map(untilGone);
    await Promise.all(names.map((n) => pods.delete(NS, n)));
    await withTimeout(Promise.all(gone), 'pods deleted');
  };

  const spawnBefore = await spawnLatency(50);
  // Warm-up (first container start writes the shim, first requests JIT-compile): not measured.
  await createAndWait('warmup');
  await deleteAll(['warmup']);

  const single: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    single.push(await createAndWait(`single-${i}`));
    await deleteAll([`single-${i}`]);
  }

  const names = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
  const cpu0 = cpuMsOf(proc.pid);
  const mainCpu0 = cpuMsOf(proc.pid, true);
  const mono0 = process.hrtime.bigint();
  const t0 = performance.now();
  const per = await Promise.all(names.map((n) => createAndWait(n)));
  const burstMs = Math.max(...names.map((n) => runningAt.get(n)!)) - t0;
  const serverCpuMs = cpuMsOf(proc.pid) - cpu0;
  const serverMainCpuMs = cpuMsOf(proc.pid, true) - mainCpu0;
  const mono1 = process.hrtime.bigint();
  const spawnAfter = await spawnLatency(20);
  await deleteAll(names);

  await inf.stop();
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
  cleanupNetwork(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  if (values.trace) appendFileSync(values.trace, marks.join(''));
  const result = {
    bench: 'pod-startup',
    root: process.getuid?.() === 0,
    shim: process.env.SKIFF_SHIM ?? 'auto',
    single: { runs: RUNS, ...stats(single) },
    burst: {
      pods: BURST,
      allRunningMs: r1(burstMs),
      ...stats(per),
      // The server process's own CPU (all its threads; not the pods' processes) from the first create to the last
      // Running, per pod: the cost that bounds the burst on a loaded host.
      serverCpuMsPerPod: r1(serverCpuMs / BURST),
      // The same for the server's main thread alone (its event loop, shared by apiserver, controllers, scheduler and
      // agent); the rest is libuv's thread pool (file system, RSA signing) and V8's helper threads.
      serverMainThreadCpuMsPerPod: r1(serverMainCpuMs / BURST),
      // CLOCK_MONOTONIC µs of the burst (what V8 CPU profiles use for sample times): `--cpu-prof` profiles can be
      // cut to this window.
      ...(values['cpu-prof'] ? { monoWindowUs: [Number(mono0 / 1000n), Number(mono1 / 1000n)] } : {}),
    },
    spawn: { idle: spawnBefore, afterBurst: spawnAfter },
    targets: { singleP50Ms: 30, burstMs: 2000 },
    pass: { single: pct(single, 50) <= 30, burst: burstMs <= 2000 },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench:pod-startup failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
