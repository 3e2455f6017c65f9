/**
 * Root-only: a real test network (bridge skpx-br0, two netns backends with HTTP servers), a FakeApiServer holding a
 * Service and its EndpointSlice, and the proxy programming real iptables with the prefix SKPXT. Everything created is
 * removed in `after`, and the sysctls the proxy sets are put back.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { DynamicClient, recordingLogger } from '../../client/index.js';
import { FakeApiServer } from '../../client/testing/fake-apiserver.js';
import { cleanupKubeProxy, startKubeProxy, type KubeProxy } from './proxier.js';

const P = 'SKPXT';
const BR = 'skpx-br0';
const NS = ['skpx-a', 'skpx-b'] as const;
const IPS = { 'skpx-a': '10.201.0.11', 'skpx-b': '10.201.0.12' } as const;
const CLUSTER_IP = '10.201.100.10';
const EMPTY_IP = '10.201.100.11';
const NODE_PORT = 30777;
const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv4/conf/all/route_localnet', '/proc/sys/net/bridge/bridge-nf-call-iptables'];

function why(): string | false {
  if (process.platform !== 'linux') return 'SKIPPED: kube-proxy integration needs Linux';
  if (process.getuid?.() !== 0) return 'SKIPPED: kube-proxy integration needs root (iptables, netns, bridges)';
  for (const bin of ['ip', 'iptables', 'iptables-restore', 'iptables-save']) {
    if (spawnSync(bin, ['--version']).status !== 0 && spawnSync(bin, ['-V']).status !== 0) return `SKIPPED: ${bin} not installed`;
  }
  return false;
}
const skip = why();
if (skip) console.warn(`kube-proxy integration test ${skip}`);

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (cmd: string, args: string[]) => void spawnSync(cmd, args, { stdio: 'ignore' });

function teardownNetwork(): void {
  for (const ns of NS) quiet('ip', ['netns', 'del', ns]);
  quiet('ip', ['link', 'del', BR]);
}

/** GET once on a fresh connection; resolves the body or rejects with the socket error. */
function get(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function names(host: string, port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await get(host, port));
  return seen;
}

/** Runs a small client inside a netns: n GETs of url, then one connect to refuseIP:80; prints JSON. */
function fromNetns(ns: string, url: string, n: number, refuseIP: string): { names: string[]; refused: string; refuseMs: number } {
  const script = `
    const http = require('node:http'); const net = require('node:net');
    const get = () => new Promise((res, rej) => { const r = http.get(${JSON.stringify(url)}, { agent: false, timeout: 3000 }, (m) => { let b = ''; m.on('data', (d) => b += d).on('end', () => res(b)); }); r.on('timeout', () => r.destroy(new Error('timeout'))); r.on('error', rej); });
    (async () => {
      const names = []; for (let i = 0; i < ${n}; i++) names.push(await get());
      const t = Date.now();
      const refused = await new Promise((res) => { const s = net.connect(80, ${JSON.stringify(refuseIP)}); s.setTimeout(3000, () => { s.destroy(); res('timeout'); }); s.on('connect', () => { s.destroy(); res('connected'); }); s.on('error', (e) => res(e.code)); });
      console.log(JSON.stringify({ names, refused, refuseMs: Date.now() - t }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return JSON.parse(sh('ip', ['netns', 'exec', ns, process.execPath, '-e', script]));
}

function hostIP(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('10.201.')) return a.address;
  }
  throw new Error('no host IPv4 address');
}

const slice = (readyB: boolean) => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
  metadata: { namespace: 'default', name: 'web-x', labels: { 'kubernetes.io/service-name': 'web' } },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [
    { addresses: [IPS['skpx-a']], conditions: { ready: true } },
    { addresses: [IPS['skpx-b']], conditions: { ready: readyB } },
  ],
});

describe('kube-proxy iptables mode on a real network', { skip }, () => {
  const servers: ChildProcess[] = [];
  const savedSysctls = new Map<string, string>();
  let srv: FakeApiServer;
  let client: DynamicClient;
  let proxy: KubeProxy | undefined;
  const log = recordingLogger();

  before(async () => {
    for (const f of SYSCTLS) {
      try {
        savedSysctls.set(f, readFileSync(f, 'utf8').trim());
      } catch { /* absent (no br_netfilter): nothing to restore */ }
    }
    teardownNetwork();
    await cleanupKubeProxy({ chainPrefix: P });
    sh('ip', ['link', 'add', BR, 'type', 'bridge']);
    sh('ip', ['addr', 'add', '10.201.0.1/24', 'dev', BR]);
    sh('ip', ['link', 'set', BR, 'up']);
    for (const ns of NS) {
      sh('ip', ['netns', 'add', ns]);
      sh('ip', ['link', 'add', `${ns}-h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['link', 'set', `${ns}-h`, 'master', BR, 'up']);
      // A pod reaching itself through its service: br_netfilter DNATs at the bridge and sends the packet back out
      // the port it came in on, which the bridge only allows with hairpin mode (bridge CNI `hairpinMode: true`).
      sh('ip', ['link', 'set', `${ns}-h`, 'type', 'bridge_slave', 'hairpin', 'on']);
      sh('ip', ['-n', ns, 'addr', 'add', `${IPS[ns]}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', '10.201.0.1']);
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
        `require('node:http').createServer((q, s) => s.end(${JSON.stringify(ns)})).listen(8080, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`server in ${ns} exited ${code}`)));
      });
    }
    srv = await FakeApiServer.start();
    client = new DynamicClient({ server: srv.url }, { rateLimit: false });
    srv.put('v1', 'services', {
      apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'web' },
      spec: { type: 'NodePort', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: NODE_PORT, protocol: 'TCP' }] },
    });
    srv.put('v1', 'services', {
      apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'empty' },
      spec: { clusterIP: EMPTY_IP, ports: [{ port: 80, protocol: 'TCP' }] },
    });
    srv.put('discovery.k8s.io/v1', 'endpointslices', slice(true));
    proxy = await startKubeProxy({ client, nodeName: 'n1', nodeIPs: [hostIP()], clusterCIDR: '10.201.0.0/24', chainPrefix: P, log, minSyncIntervalMs: 200 });
  });

  after(async () => {
    try {
      await proxy?.cleanup();
    } finally {
      await cleanupKubeProxy({ chainPrefix: P });
      for (const s of servers) s.kill();
      teardownNetwork();
      for (const [f, v] of savedSysctls) writeFileSync(f, v);
      client?.close();
      await srv?.close();
    }
  });

  it('ClusterIP reaches both backends from the host', async () => {
    assert.deepEqual([...(await names(CLUSTER_IP, 80, 24))].sort(), ['skpx-a', 'skpx-b']);
  });

  it('ClusterIP reaches both backends from a pod (including itself: hairpin), and a no-endpoint service is refused fast', () => {
    const r = fromNetns('skpx-a', `http://${CLUSTER_IP}/`, 24, EMPTY_IP);
    assert.deepEqual([...new Set(r.names)].sort(), ['skpx-a', 'skpx-b']);
    assert.equal(r.refused, 'ECONNREFUSED');
    assert.ok(r.refuseMs < 2000, `refusal took ${r.refuseMs} ms`);
  });

  it('NodePort answers on the host address and on localhost', async () => {
    assert.deepEqual([...(await names(hostIP(), NODE_PORT, 24))].sort(), ['skpx-a', 'skpx-b']);
    assert.ok((await names('127.0.0.1', NODE_PORT, 4)).size > 0);
  });

  it('a no-endpoint service is refused from the host, not timed out', async () => {
    const t = Date.now();
    await assert.rejects(get(EMPTY_IP, 80), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    assert.ok(Date.now() - t < 2000, `refusal took ${Date.now() - t} ms`);
  });

  it('an endpoint marked not ready stops receiving traffic within about a second', async () => {
    const t0 = Date.now();
    srv.put('discovery.k8s.io/v1', 'endpointslices', slice(false));
    let streak = 0;
    while (streak < 12) {
      const name = await get(CLUSTER_IP, 80);
      streak = name === 'skpx-a' ? streak + 1 : 0;
      assert.ok(Date.now() - t0 < 5000, 'skpx-b still served 5 s after it became not ready');
    }
    const elapsed = Date.now() - t0;
    // The issue asks for 1 s; allow slack for a loaded 2-core CI machine, but report the real figure.
    console.log(`not-ready endpoint removed from rules after ≤ ${elapsed} ms`);
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });

  it('a full resync does not duplicate the jumps from built-in chains', async () => {
    await proxy!.syncNow();
    const jumps = sh('iptables-save', []).split('\n').filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) .*-j SKPXT-/.test(l));
    assert.equal(jumps.length, 9, jumps.join('\n'));
  });

  it('cleanup() leaves no chain or jump behind', async () => {
    await proxy!.cleanup();
    proxy = undefined;
    const dump = sh('iptables-save', []);
    assert.doesNotMatch(dump, new RegExp(P), dump.split('\n').filter((l) => l.includes(P)).join('\n'));
    assert.deepEqual(log.records.filter((r) => r.level === 'error'), []);
  });
});
