/**
 * Two nodes, one pod network (issue "Service networking": "routes between nodes' podCIDRs go through the node IPs
 * (host-gw style), so adding machines later only adds routes"). The second machine is a network namespace with a
 * veth to this host — its own addresses, routes and iptables, as a separate host would have — running a real
 * `skiff agent` that joins `skiff server` over TLS with the join token. Each node gets its own /24; pods on one node
 * reach pods on the other by pod IP, through a ClusterIP and by DNS name, in both directions. Everything is removed
 * afterwards (the namespace, links, routes, chains). Needs root, kubectl, iproute2 and the CNI plugins.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIFF_BIN, startServer, until as untilBase, type TestServer } from './harness.js';
import { networkCleanup, networkSkip, saveSysctls, yamlDocs } from './net-helpers.js';

const SKIP = networkSkip('multi-node network test', 'network namespaces and the bridge pod network need root');

const NS = 'skmn-h2';
const HOST_IP = '10.218.255.1';
const PEER_IP = '10.218.255.2';
const CLUSTER_CIDR = '10.218.0.0/16';
const SERVICE_CIDR = '10.219.0.0/16';
const CLUSTER_DNS = '10.219.0.10';
const BRIDGE = 'skmn0';
const CHAINS = 'SKMN';
const NODE2 = 'mn-node2';
const NET_ARGS = [`--cluster-cidr=${CLUSTER_CIDR}`, `--cluster-dns=${CLUSTER_DNS}`, `--bridge-name=${BRIDGE}`, `--proxy-chain-prefix=${CHAINS}`, '--disable-ingress'];

let s: TestServer;
let agent: ChildProcess | undefined;
let agentDir = '';
let agentErr = '';
let node1 = '';
let restoreSysctls: (() => void) | undefined;

/** The harness's `until`, naming the agent's stderr in the timeout error. */
const until = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) =>
  untilBase(what, f, timeoutMs, { detail: () => (agentErr ? `agent stderr: ${agentErr.slice(-3000)}` : '') });
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });

const SERVER_JS = "require('http').createServer((q,s)=>s.end(require('os').hostname())).listen(8080)";
const fetchJs = (url: string) =>
  `require('http').get(${JSON.stringify(url)},{agent:false},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>console.log(b))}).on('error',e=>{console.log('ERR '+e.code);process.exitCode=1})`;
async function fetchFrom(pod: string, url: string): Promise<string> {
  const r = await s.kubectl(['exec', pod, '--', 'node', '-e', fetchJs(url)], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`fetch ${url} from ${pod}: ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

before(async () => {
  if (SKIP) return;
  restoreSysctls = saveSysctls();
  // The second machine: a network namespace behind a veth pair.
  for (const c of [
    `ip netns add ${NS}`,
    `ip link add skmn-v1 type veth peer name skmn-v2 netns ${NS}`,
    `ip addr add ${HOST_IP}/30 dev skmn-v1`, 'ip link set skmn-v1 up',
    `ip -n ${NS} addr add ${PEER_IP}/30 dev skmn-v2`, `ip -n ${NS} link set skmn-v2 up`, `ip -n ${NS} link set lo up`,
    `ip -n ${NS} route add default via ${HOST_IP}`,
  ]) {
    const r = sh(c);
    assert.equal(r.status, 0, `${c}: ${r.stderr}`);
  }
  s = await startServer({
    withAgent: true,
    extraArgs: ['--pod-network=bridge', `--service-cidr=${SERVICE_CIDR}`, `--node-ip=${HOST_IP}`, ...NET_ARGS],
  });
  node1 = (await until('node 1', async () => (await s.k(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).trim() || undefined));
  const token = readFileSync(join(s.dataDir, 'tls', 'node-token'), 'utf8').trim();
  const port = new URL(s.url).port;
  agentDir = mkdtempSync(join(tmpdir(), 'skiff-e2e-mn-'));
  agent = spawn('ip', ['netns', 'exec', NS, process.execPath, SKIFF_BIN, 'agent', '--server', `https://${HOST_IP}:${port}`, '--token', token,
    '--node-name', NODE2, '--data-dir', agentDir, '--pod-network=bridge', `--node-ip=${PEER_IP}`, ...NET_ARGS], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SKIFF_LOG_LEVEL: 'warn' },
  });
  agent.stderr!.on('data', (d) => (agentErr = (agentErr + d).slice(-20_000)));
  await until('both nodes Ready', async () => {
    const out = await s.k(['get', 'nodes', '--no-headers']);
    return out.split('\n').filter((l) => /\sReady\s/.test(l)).length === 2;
  }, 90_000);
  await until('default service account', async () => (await s.kubectl(['get', 'sa', 'default'])).code === 0);
  const pod = (name: string, node: string, labels: Record<string, string>) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
    spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'node', command: ['node', '-e', SERVER_JS], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] },
  });
  const svc = (name: string, app: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] } });
  const objs = [pod('pod-a', node1, { app: 'a' }), pod('pod-b', NODE2, { app: 'b' }), svc('svc-a', 'a'), svc('svc-b', 'b')];
  await s.k(['apply', '-f', '-'], { input: yamlDocs(objs) });
  await s.k(['wait', '--for=condition=Ready', 'pod/pod-a', 'pod/pod-b', '--timeout=90s']);
});

after(async () => {
  if (SKIP) return;
  try {
    if (s) await s.kubectl(['delete', 'pods', '--all', '--grace-period=1', '--wait=true', '--timeout=30s']);
  } finally {
    if (agent && agent.exitCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { agent!.kill('SIGKILL'); resolve(); }, 20_000);
        agent!.once('exit', () => { clearTimeout(t); resolve(); });
        agent!.kill('SIGTERM');
      });
    }
    if (agentDir) {
      networkCleanup(agentDir, { bridge: BRIDGE, clusterCidr: CLUSTER_CIDR, chainPrefix: CHAINS, netns: NS });
      rmSync(agentDir, { recursive: true, force: true });
    }
    if (s) {
      await s.stop('SIGTERM');
      networkCleanup(s.dataDir, { bridge: BRIDGE, clusterCidr: CLUSTER_CIDR, chainPrefix: CHAINS });
      rmSync(s.dataDir, { recursive: true, force: true });
      rmSync(s.cacheDir, { recursive: true, force: true });
    }
    sh(`ip netns del ${NS}`);
    sh('ip link del skmn-v1 2>/dev/null');
    restoreSysctls?.();
  }
  assert.notEqual(sh(`ip link show ${BRIDGE}`).status, 0, 'bridge left behind');
  assert.doesNotMatch(sh('iptables-save').stdout, new RegExp(`${CHAINS}-|SKNET-[A-Z]+-SKMN0`), 'iptables chains left behind');
  assert.doesNotMatch(sh('ip route').stdout, /10\.218\./, 'routes left behind');
  assert.doesNotMatch(sh('ip netns list').stdout, new RegExp(NS), 'network namespace left behind');
});

test('each node gets its own podCIDR and a host-gw route to the other', { skip: SKIP }, async () => {
  const cidrs = (await s.k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.podCIDR}{"\\n"}{end}'])).trim().split('\n');
  const byNode = Object.fromEntries(cidrs.map((l) => l.split('=')));
  assert.match(byNode[node1] ?? '', /^10\.218\.\d+\.0\/24$/);
  assert.match(byNode[NODE2] ?? '', /^10\.218\.\d+\.0\/24$/);
  assert.notEqual(byNode[node1], byNode[NODE2]);
  await until('route to node 2 pods via its IP', async () => sh('ip route').stdout.includes(`${byNode[NODE2]} via ${PEER_IP}`), 20_000);
  await until('route to node 1 pods via its IP (on node 2)', async () => sh(`ip -n ${NS} route`).stdout.includes(`${byNode[node1]} via ${HOST_IP}`), 20_000);
});

test('pods on different nodes talk by pod IP, through ClusterIPs and by DNS name, both ways', { skip: SKIP }, async () => {
  const ipB = (await s.k(['get', 'pod', 'pod-b', '-o', 'jsonpath={.status.podIP}'])).trim();
  const ipA = (await s.k(['get', 'pod', 'pod-a', '-o', 'jsonpath={.status.podIP}'])).trim();
  assert.equal(await fetchFrom('pod-a', `http://${ipB}:8080/`), 'pod-b');
  assert.equal(await fetchFrom('pod-b', `http://${ipA}:8080/`), 'pod-a');
  const ipSvcB = (await s.k(['get', 'svc', 'svc-b', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  assert.equal(await until('ClusterIP of svc-b from node 1', async () => (await fetchFrom('pod-a', `http://${ipSvcB}/`)) === 'pod-b', 20_000), true);
  assert.equal(await until('svc-a by DNS name from node 2', async () => (await fetchFrom('pod-b', 'http://svc-a.default.svc.cluster.local/')) === 'pod-a', 20_000), true);
  assert.equal(await until('svc-b by short name from node 1', async () => (await fetchFrom('pod-a', 'http://svc-b/')) === 'pod-b', 20_000), true);
});
