import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamicClient, recordingLogger } from '../../client/index.js';
import { FakeApiServer } from '../../client/testing/fake-apiserver.js';
import { RestoreError, type JumpRule, type ProxyHost } from './host.js';
import { startKubeProxy } from './proxier.js';

/** An in-memory host: keeps chains per table as iptables-restore would, records everything. */
function fakeHost() {
  const chains = { nat: new Set<string>(), filter: new Set<string>() };
  const rules: JumpRule[] = [];
  const restores: string[] = [];
  const sysctls: Record<string, string> = {};
  let failNext: string | undefined;
  const same = (a: JumpRule, b: JumpRule) => a.table === b.table && a.chain === b.chain && a.args.join(' ') === b.args.join(' ');
  const host: ProxyHost = {
    async restore(payload) {
      if (failNext) {
        const line = failNext;
        failNext = undefined;
        const n = payload.split('\n').indexOf(line) + 1;
        throw new RestoreError(`line ${n}: RULE_APPEND failed`, n, line);
      }
      restores.push(payload);
      let table: 'nat' | 'filter' = 'filter';
      for (const l of payload.split('\n')) {
        if (l === '*nat' || l === '*filter') table = l.slice(1) as 'nat' | 'filter';
        else if (l.startsWith(':')) chains[table].add(l.slice(1).split(' ')[0]);
        else if (l.startsWith('-X ')) chains[table].delete(l.slice(3));
      }
    },
    async save(table) {
      return [`*${table}`, ...[...chains[table]].map((c) => `:${c} - [0:0]`), 'COMMIT', ''].join('\n');
    },
    async ensureRule(r) {
      if (rules.some((x) => same(x, r))) return false;
      rules.push(r);
      return true;
    },
    async deleteRule(r) {
      for (let i = rules.findIndex((x) => same(x, r)); i >= 0; i = rules.findIndex((x) => same(x, r))) rules.splice(i, 1);
    },
    async setSysctl(key, value) {
      sysctls[key] = value;
      return true;
    },
    async conntrack() {
      return false;
    },
  };
  return { host, chains, rules, restores, sysctls, failOn: (line: string) => (failNext = line) };
}

const svc = (name: string, clusterIP: string) => ({
  apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name },
  spec: { clusterIP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});
const slice = (svcName: string, ips: Array<[string, boolean]>) => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
  metadata: { namespace: 'default', name: `${svcName}-abc`, labels: { 'kubernetes.io/service-name': svcName } },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: ips.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
});

async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('startKubeProxy (fake host)', () => {
  let srv: FakeApiServer;
  let client: DynamicClient;
  before(async () => {
    srv = await FakeApiServer.start();
    client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  });
  after(async () => {
    client.close();
    await srv.close();
  });

  it('syncs on start, follows endpoint changes, installs jumps once, and cleans up everything', async () => {
    srv.put('v1', 'services', svc('web', '10.43.0.10'));
    srv.put('discovery.k8s.io/v1', 'endpointslices', slice('web', [['10.42.0.5', true], ['10.42.0.6', true]]));
    const f = fakeHost();
    const log = recordingLogger();
    const proxy = await startKubeProxy({ client, nodeName: 'n1', nodeIPs: ['192.0.2.10'], clusterCIDR: '10.42.0.0/16', chainPrefix: 'TPX', host: f.host, log, minSyncIntervalMs: 100 });
    try {
      assert.equal(f.sysctls['net.ipv4.ip_forward'], '1');
      assert.equal(f.sysctls['net.ipv4.conf.all.route_localnet'], '1');
      assert.equal(f.restores.length, 1);
      assert.match(f.restores[0], /DNAT --to-destination 10\.42\.0\.6:8080/);
      assert.equal(f.rules.length, 9);
      assert.ok(f.rules.some((r) => r.table === 'nat' && r.chain === 'PREROUTING' && r.args.at(-1) === 'TPX-SERVICES'));

      // Mark one endpoint not ready: rules follow well within 1 s.
      const t0 = Date.now();
      srv.put('discovery.k8s.io/v1', 'endpointslices', slice('web', [['10.42.0.5', true], ['10.42.0.6', false]]));
      await until('resync after readiness change', () => f.restores.length >= 2);
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      const last = f.restores.at(-1)!;
      assert.doesNotMatch(last, /10\.42\.0\.6/);
      const staleSep = [...f.chains.nat].filter((c) => c.startsWith('TPX-SEP-'));
      assert.equal(staleSep.length, 1, 'the removed endpoint chain is deleted');

      // A burst of changes coalesces into few syncs.
      const before = f.restores.length;
      for (let i = 0; i < 10; i++) srv.put('v1', 'services', svc(`burst-${i}`, `10.43.1.${i + 1}`));
      await until('burst applied', () => (f.restores.at(-1) ?? '').includes('10.43.1.10'));
      assert.ok(f.restores.length - before <= 3, `burst took ${f.restores.length - before} syncs`);

      await proxy.syncNow();
      assert.equal(f.rules.length, 9, 'jumps are not duplicated by a full sync');
    } finally {
      await proxy.cleanup();
    }
    assert.equal(f.rules.length, 0);
    assert.deepEqual([...f.chains.nat, ...f.chains.filter], []);
    for (let i = 0; i < 10; i++) srv.remove('v1', 'services', 'default', `burst-${i}`);
    srv.remove('v1', 'services', 'default', 'web');
    srv.remove('discovery.k8s.io/v1', 'endpointslices', 'default', 'web-abc');
  });

  it('logs a failed restore with the offending line and retries', async () => {
    const f = fakeHost();
    const log = recordingLogger();
    const proxy = await startKubeProxy({ client, nodeName: 'n1', nodeIPs: [], clusterCIDR: '10.42.0.0/16', chainPrefix: 'TPY', host: f.host, log, minSyncIntervalMs: 50 });
    try {
      f.failOn('-A TPY-MARK-MASQ -j MARK --or-mark 0x4000');
      srv.put('v1', 'services', svc('again', '10.43.0.20'));
      await until('error logged', () => log.records.some((r) => r.level === 'error' && (r.obj as { line?: string }).line === '-A TPY-MARK-MASQ -j MARK --or-mark 0x4000'));
      await until('retry applied', () => (f.restores.at(-1) ?? '').includes('10.43.0.20'), 5000);
      await assert.rejects(async () => {
        f.failOn('COMMIT');
        await proxy.syncNow();
      }, RestoreError);
    } finally {
      await proxy.cleanup();
      srv.remove('v1', 'services', 'default', 'again');
    }
  });
});
