/**
 * `npm run bench:api`: apiserver throughput and latency over HTTPS on SQLite, printed as one JSON object, beside the
 * raw better-sqlite3 insert rate measured in the same run. Targets (issue "Control plane core"): ≥ 5,000
 * creates/s; p99 of a mutating call ≤ 20 ms at 20 writes/s; cold start to /readyz ≤ 1 s; idle RSS ≤ 100 MB.
 *
 * Flags: --creates N (default 20000) --concurrency C (default 64) --paced-seconds S (default 10)
 */
import { spawn, ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureRawInsertRate } from '../src/store/sqlite/raw-insert-rate.js';
import { hostNetworkGuard } from './host-network.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { creates: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' }, 'paced-seconds': { type: 'string', default: '10' } } });
const CREATES = Number(values.creates);
const CONC = Number(values.concurrency);
const PACED_S = Number(values['paced-seconds']);

interface Srv { proc: ChildProcess; url: string; dir: string; agent: https.Agent; startMs: number }

/** A free TCP port on 127.0.0.1 (so readiness can be polled before the server prints its URL). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function start(dir: string): Promise<Srv> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'skiff.js'), 'server', '--data-dir', dir, '--https-port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let exited: Error | undefined;
  proc.on('exit', (c) => { exited = new Error(`server exited ${c}`); });
  const caPath = join(dir, 'tls', 'ca.crt');
  // Cold start = process spawn until /readyz answers ok (the apiserver's readiness; the node agent may still be
  // starting, as with kube-apiserver and its kubelets).
  let agent: https.Agent | undefined;
  for (;;) {
    if (exited) throw exited;
    try {
      agent ??= new https.Agent({ keepAlive: true, maxSockets: CONC, ca: readFileSync(caPath), cert: readFileSync(join(dir, 'tls', 'admin.crt')), key: readFileSync(join(dir, 'tls', 'admin.key')) });
      const r = await req({ url, agent } as Srv, 'GET', '/readyz');
      if (r.status === 200) break;
    } catch { /* certificates not written or not listening yet */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  const startMs = performance.now() - t0;
  // The measured phases start once the whole server (agent included) is up, as before.
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; if (out.includes('Skiff is running at')) resolve(); });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { proc, url, dir, agent, startMs };
}

function req(s: Pick<Srv, 'url' | 'agent'>, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const u = new URL(path, s.url);
  return new Promise((resolve, reject) => {
    const r = https.request({ method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, agent: s.agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(3));
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function run(): Promise<void> {
  // The node network the servers' agent sets up is removed again at the end (see host-network.ts).
  const cleanupNetwork = hostNetworkGuard(join(ROOT, 'bin', 'skiff.js'));
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-api-'));
  const rawDir = mkdtempSync(join(tmpdir(), 'skiff-bench-raw-'));
  const raw = measureRawInsertRate(rawDir, 20000);
  rmSync(rawDir, { recursive: true, force: true });

  const cold = await start(dir);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(cold.proc.pid!);
  const s = cold;

  // Watch throughput: one watcher counts events while the creates run.
  let watchEvents = 0;
  const watchReq = https.request({ method: 'GET', hostname: new URL(s.url).hostname, port: new URL(s.url).port, path: '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1', agent: new https.Agent({ ca: readFileSync(join(dir, 'tls', 'ca.crt')), cert: readFileSync(join(dir, 'tls', 'admin.crt')), key: readFileSync(join(dir, 'tls', 'admin.key')) }) }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (d: string) => { for (const ch of d) if (ch === '\n') watchEvents++; });
  });
  watchReq.end();

  // Creates at full speed.
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < CREATES) {
      const i = next++;
      const a = performance.now();
      const r = await req(s, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, labels: { bench: 'api', shard: String(i % 10) } }, data: { k: 'v'.repeat(64) } }));
      lat.push(performance.now() - a);
      if (r.status !== 201) throw new Error(`create failed ${r.status}: ${r.body}`);
    }
  }));
  const createSecs = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const watchEventsPerSec = watchEvents / createSecs;
  watchReq.destroy();

  // Gets.
  const getLat: number[] = [];
  const GETS = Math.min(CREATES, 10000);
  next = 0;
  const g0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < GETS) {
      const i = next++;
      const a = performance.now();
      const r = await req(s, 'GET', `/api/v1/namespaces/default/configmaps/cm-${i}`);
      getLat.push(performance.now() - a);
      if (r.status !== 200) throw new Error(`get failed ${r.status}`);
    }
  }));
  const getSecs = (performance.now() - g0) / 1000;

  // Lists: a page of 500 (what kubectl asks) and a label-selected list over all objects.
  const listLat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const a = performance.now();
    const r = await req(s, 'GET', '/api/v1/namespaces/default/configmaps?limit=500');
    listLat.push(performance.now() - a);
    if (r.status !== 200) throw new Error('list failed');
  }
  const selLat: number[] = [];
  for (let i = 0; i < 5; i++) {
    const a = performance.now();
    await req(s, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=shard%3D3');
    selLat.push(performance.now() - a);
  }

  // Mutating latency at a steady 20 writes/s (the SLO's churn).
  const paced: number[] = [];
  for (let i = 0; i < PACED_S * 20; i++) {
    const a = performance.now();
    const r = await req(s, 'PUT', `/api/v1/namespaces/default/configmaps/cm-${i}`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { k: `updated-${i}` } }));
    paced.push(performance.now() - a);
    if (r.status !== 200) throw new Error(`update failed ${r.status}: ${r.body}`);
    const wait = 50 - (performance.now() - a);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const loadedRss = rssMb(s.proc.pid!);
  s.proc.kill('SIGTERM');
  await new Promise((r) => s.proc.once('exit', r));
  s.agent.destroy();

  // Warm restart on the same data dir (objects present).
  const warm = await start(dir);
  warm.proc.kill('SIGTERM');
  await new Promise((r) => warm.proc.once('exit', r));
  warm.agent.destroy();
  cleanupNetwork(dir);
  rmSync(dir, { recursive: true, force: true });

  console.log(JSON.stringify({
    bench: 'api',
    transport: 'https/1.1 keep-alive',
    datastore: 'sqlite (WAL)',
    concurrency: CONC,
    rawSqliteInsertsPerSec: { single: Math.round(raw.singlePerSec), batched: Math.round(raw.batchedPerSec) },
    creates: { count: CREATES, perSec: Math.round(CREATES / createSecs), p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) },
    gets: { count: GETS, perSec: Math.round(GETS / getSecs), p50Ms: pct(getLat, 50), p99Ms: pct(getLat, 99) },
    list500: { p50Ms: pct(listLat, 50), p99Ms: pct(listLat, 99) },
    listLabelSelectorAll: { objects: CREATES, p50Ms: pct(selLat, 50) },
    watch: { eventsPerSec: Math.round(watchEventsPerSec), eventsSeen: watchEvents },
    mutatingAt20PerSec: { count: paced.length, p50Ms: pct(paced, 50), p99Ms: pct(paced, 99) },
    coldStartMs: Math.round(cold.startMs),
    warmRestartMs: Math.round(warm.startMs),
    idleRssMb: idleRss,
    rssAfterLoadMb: loadedRss,
  }));
}

run().catch((e) => { console.error(e); process.exit(1); });
