/**
 * `npm run bench:service -- [--duration 5] [--connections 32]`: request throughput and p99 latency to one HTTP pod
 * three ways, in the same run (issue "Service networking", Benchmark): straight to the pod IP, through the Service's
 * ClusterIP (kube-proxy's iptables DNAT), and through the built-in Ingress controller (a user-space proxy on the node).
 * Prints one JSON object; the target is that the ClusterIP path costs ≤ 10% of direct throughput.
 *
 * Needs root and the CNI plugins (the bridge pod network); otherwise prints `{ skipped }`. The server runs as a child
 * process with its own cluster CIDR, bridge and chain names so it does not touch a running Skiff, and everything it
 * created (bridge, routes, iptables chains) is removed at the end. The load generator is `wrk` when installed (Debian
 * package `wrk`), else a small keep-alive Node client in this process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { hostNetworkGuard } from './host-network.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../src/client/config.js';
import { DynamicClient } from '../src/client/dynamic.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    'timeout-s': { type: 'string', default: '120' },
  },
});
const DURATION_S = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const HERE = dirname(fileURLToPath(import.meta.url));
const SKIFF = [join(HERE, '..', '..', 'bin', 'skiff.js'), join(HERE, '..', 'bin', 'skiff.js')].find((p) => existsSync(p))!;
const CLUSTER_CIDR = '10.212.0.0/16';
const SERVICE_CIDR = '10.213.0.0/16';
const BRIDGE = 'skbench0';
const INGRESS_PORT = 18080;
const CHAINS = 'SKBENCH';

const r1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startSkiff(dataDir: string): Promise<{ proc: ChildProcess }> {
  const proc = spawn(process.execPath, [
    SKIFF, 'server', '--data-dir', dataDir, '--https-port', '0', '--datastore', 'memory://', '--log-level', 'error',
    '--pod-network=bridge', `--cluster-cidr=${CLUSTER_CIDR}`, `--service-cidr=${SERVICE_CIDR}`, `--bridge-name=${BRIDGE}`, `--proxy-chain-prefix=${CHAINS}`,
    `--ingress-http-port=${INGRESS_PORT}`, '--ingress-https-port=0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d) => (err = (err + d).slice(-20_000)));
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/Skiff is running at (\S+)/.test(out)) resolve({ proc });
    });
    proc.on('exit', (code) => reject(new Error(`skiff server exited with ${code}: ${err}`)));
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

interface LoadResult { requestsPerSecond: number; p99Ms: number; errors: number; tool: string }

/** wrk's "Requests/sec" and the 99% latency line of `--latency`. */
function parseWrk(out: string): LoadResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const m = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const unit = m?.[2] === 'us' ? 0.001 : m?.[2] === 's' ? 1000 : 1;
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(errs?.[1] ?? 0) + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { requestsPerSecond: r1(rps), p99Ms: r1(Number(m?.[1]) * unit), errors, tool: 'wrk' };
}

/** A keep-alive Node load generator: CONNECTIONS loops of sequential GETs for DURATION_S. */
async function nodeLoad(url: string, headers: Record<string, string>): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + DURATION_S * 1000;
  const one = () => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        lat.push(performance.now() - t0);
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => { while (performance.now() < end) await one(); }));
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { requestsPerSecond: r1(lat.length / secs), p99Ms: r1(lat[Math.floor(lat.length * 0.99)] ?? NaN), errors, tool: 'node' };
}

async function load(url: string, host?: string): Promise<LoadResult> {
  const headers: Record<string, string> = host ? { Host: host } : {};
  const wrk = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (!wrk) return nodeLoad(url, headers);
  const args = ['-t', '2', '-c', String(CONNECTIONS), '-d', `${DURATION_S}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), url];
  const r = spawnSync(wrk, args, { encoding: 'utf8', timeout: (DURATION_S + 30) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  return parseWrk(r.stdout);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync('/usr/lib/cni/bridge')) {
    process.stdout.write(`${JSON.stringify({ bench: 'service', skipped: 'needs root and containernetworking-plugins (/usr/lib/cni/bridge)' })}\n`);
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-svc-'));
  const cleanupNetwork = hostNetworkGuard(SKIFF, { bridgeName: BRIDGE, clusterCIDR: CLUSTER_CIDR, chainPrefix: CHAINS });
  const { proc } = await startSkiff(dataDir);
  const client = new DynamicClient(loadKubeconfig(join(dataDir, 'kubeconfig.yaml')), { rateLimit: false });
  try {
    const NS = 'default';
    const labels = { app: 'bench-echo' };
    // One backend pod, so all three paths end at the same process: the difference is the path's cost.
    await until('service account', async () => (await client.resource('v1', 'ServiceAccount').get(NS, 'default')) ? true : undefined);
    await client.resource<Pod>('v1', 'Pod').create(NS, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'echo', labels },
      spec: {
        containers: [{
          name: 'echo', image: 'node', command: [process.execPath, '-e',
            "require('http').createServer((q,s)=>{s.setHeader('content-type','text/plain');s.end('ok\\n')}).listen(8080)"],
          ports: [{ containerPort: 8080, name: 'http' }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        }],
      },
    });
    const svc = await client.resource<Service>('v1', 'Service').create(NS, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo' },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    await client.resource('networking.k8s.io/v1', 'Ingress').create(NS, {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'echo' },
      spec: { rules: [{ host: 'echo.bench', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'echo', port: { number: 80 } } } }] } }] },
    });
    const podIP = await until('pod Ready with an IP', async () => {
      const p = await client.resource<Pod>('v1', 'Pod').get(NS, 'echo');
      return p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status.podIP : undefined;
    });
    const clusterIP = svc.spec!.clusterIP!;
    const probe = (url: string, host?: string) => until(`GET ${url}`, () => new Promise<true | undefined>((resolve) => {
      // A new connection per try (no keep-alive agent): a connection opened before kube-proxy's rule for the Service
      // existed is not NATed, and reusing it would keep missing the Service however long we wait.
      const req = http.get(url, { headers: host ? { Host: host } : {}, timeout: 1000, agent: false }, (res) => { res.resume(); resolve(res.statusCode === 200 ? true : undefined); });
      req.on('error', () => resolve(undefined));
      req.on('timeout', () => { req.destroy(); resolve(undefined); });
    }));
    await probe(`http://${podIP}:8080/`);
    await probe(`http://${clusterIP}/`);
    await probe(`http://127.0.0.1:${INGRESS_PORT}/`, 'echo.bench');
    // Warm-up, then the three paths back to back.
    await load(`http://${podIP}:8080/`);
    const direct = await load(`http://${podIP}:8080/`);
    const viaClusterIP = await load(`http://${clusterIP}/`);
    const viaIngress = await load(`http://127.0.0.1:${INGRESS_PORT}/`, 'echo.bench');
    const costPct = r1((1 - viaClusterIP.requestsPerSecond / direct.requestsPerSecond) * 100);
    process.stdout.write(`${JSON.stringify({
      bench: 'service', durationS: DURATION_S, connections: CONNECTIONS,
      direct, clusterIP: viaClusterIP, ingress: viaIngress,
      clusterIPCostPct: costPct, target: { clusterIPCostPctMax: 10 }, pass: costPct <= 10,
    })}\n`);
  } finally {
    // Pods are deleted (and their network torn down by the kubelet) before the server stops.
    await client.resource<Pod>('v1', 'Pod').delete('default', 'echo', { gracePeriodSeconds: 0 }).catch(() => {});
    await until('pod gone', async () => {
      try { await client.resource<Pod>('v1', 'Pod').get('default', 'echo'); return undefined; } catch { return true; }
    }).catch((e) => process.stderr.write(`${e}\n`));
    client.close();
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
    // The server leaves pods' network state for a restart to adopt; the bench removes it all.
    cleanupNetwork(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench:service failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
