/**
 * `npm run bench:footprint -- [--pods 100]`: memory of a real `skiff server` with its in-process agent, printed as
 * one JSON object (issue "Node agent", Benchmarks; target ≤ 150 MB idle — k3s's server alone is about 1.5 GB).
 *
 * The server runs as a child process (`bin/skiff.js server`, memory datastore). Its RSS is `VmRSS` from
 * `/proc/PID/status`; its descendants (the process runtime's per-container shims, the containers' processes and the
 * sandboxes' infra processes, found through the ppid tree of `/proc`) are summed separately, and the shims (the
 * native `skiff-shim`, or Node processes running the runtime's shim script when no native one was built) and the
 * infra processes (`skiff-shim pause`, or `sleep infinity` under the Node shim) are broken out. `$SKIFF_SHIM`
 * (native|node) is passed to the server, so both shims can be compared. Measured twice: idle (node Ready, then a few seconds
 * of quiet) and with `--pods` running pods (`sleep 3600`), after they are all Running and a settle time. Pods are
 * deleted before the server stops, so no container outlives the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostNetworkGuard } from './host-network.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { DynamicClient } from '../src/client/dynamic.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '100' },
    'settle-s': { type: 'string', default: '5' },
    'timeout-s': { type: 'string', default: '180' },
  },
});
const PODS = Number(values.pods);
const SETTLE_MS = Number(values['settle-s']) * 1000;
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const HERE = dirname(fileURLToPath(import.meta.url));
/** bin/skiff.js from dist/bench (npm script) or bench/ (tsx); `$SKIFF_BIN` overrides (a private build elsewhere). */
const SKIFF = [process.env.SKIFF_BIN ?? '', join(HERE, '..', '..', 'bin', 'skiff.js'), join(HERE, '..', 'bin', 'skiff.js')].find((p) => p && existsSync(p))!;
const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startSkiff(dataDir: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [SKIFF, 'server', '--data-dir', dataDir, '--https-port', '0', '--datastore', 'memory://', '--log-level', 'error'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d) => (err = (err + d).slice(-20_000)));
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/Skiff is running at/.test(out)) resolve(proc);
    });
    proc.on('exit', (code) => reject(new Error(`skiff server exited with ${code}: ${err}`)));
  });
}

/** VmRSS of a process in bytes (0 when it is gone). */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS of the server and of its descendants (shims separately). */
function sample(pid: number) {
  const children = new Map<number, number[]>();
  const cmd = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(Number(d));
      cmd.set(Number(d), readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      /* exited meanwhile */
    }
  }
  const desc: number[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    desc.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  const shims = desc.filter((p) => /\bnode\b.*shim|skiff-shim (?!pause)/.test(cmd.get(p) ?? ''));
  const infra = desc.filter((p) => /skiff-shim pause|^\S*sleep infinity/.test(cmd.get(p) ?? ''));
  const sum = (ps: number[]) => ps.reduce((a, p) => a + rssOf(p), 0);
  const shimBytes = sum(shims);
  const descBytes = sum(desc);
  return {
    serverRssMB: Math.round((rssOf(pid) / MB) * 10) / 10,
    descendants: desc.length,
    descendantsRssMB: Math.round((descBytes / MB) * 10) / 10,
    shims: shims.length,
    shimsRssMB: Math.round((shimBytes / MB) * 10) / 10,
    shimRssAvgMB: shims.length ? Math.round((shimBytes / shims.length / MB) * 10) / 10 : 0,
    shimKind: shims.some((p) => /skiff-shim/.test(cmd.get(p) ?? '')) ? 'native' : shims.length ? 'node' : '',
    infra: infra.length,
    infraRssMB: Math.round((sum(infra) / MB) * 10) / 10,
  };
}

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + TIMEOUT_MS;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function main(): Promise<void> {
  // The node network this run's server sets up is removed again at the end (see host-network.ts).
  const cleanupNetwork = hostNetworkGuard(SKIFF);
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-footprint-'));
  const proc = await startSkiff(dataDir);
  const client = new DynamicClient(loadKubeconfig(join(dataDir, 'kubeconfig.yaml')), { rateLimit: false });
  const pods = client.resource<Pod>('v1', 'Pod');
  await until('node Ready', async () =>
    (await client.resource<Node>('v1', 'Node').list(undefined)).items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')));
  await sleep(SETTLE_MS);
  const idle = sample(proc.pid!);

  const names = Array.from({ length: PODS }, (_, i) => `fp-${i}`);
  for (let i = 0; i < names.length; i += 20) {
    await Promise.all(names.slice(i, i + 20).map((name) => pods.create('default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] },
    })));
  }
  await until(`${PODS} pods Running`, async () => (await pods.list('default')).items.filter((p) => p.status?.phase === 'Running').length === PODS);
  await sleep(SETTLE_MS);
  const loaded = sample(proc.pid!);

  await Promise.all(names.map((n) => pods.delete('default', n)));
  await until('pods deleted', async () => (await pods.list('default')).items.length === 0);
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
  cleanupNetwork(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  const result = {
    bench: 'footprint',
    root: process.getuid?.() === 0,
    idle,
    withPods: { pods: PODS, ...loaded },
    targets: { idleServerRssMB: 150 },
    pass: { idle: idle.serverRssMB <= 150 },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench:footprint failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
