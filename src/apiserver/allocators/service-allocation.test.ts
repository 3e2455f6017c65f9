import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApiserver, TestApiserver, ADMIN } from '../testing.js';
import { ApiServerCore } from '../core.js';
import { admissionChain } from '../admission/index.js';
import { installServiceNetworking, ServiceNetworking } from './index.js';
import { NODE_PORT_PREFIX, SERVICE_IP_PREFIX } from './service-allocator.js';

const SVCS = (ns = 'default') => `/api/v1/namespaces/${ns}/services`;
const SVC = (name: string, ns = 'default') => `/api/v1/namespaces/${ns}/services/${name}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function svc(name: string, spec: Record<string, any> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

describe('service allocation through the apiserver', () => {
  let api: TestApiserver;
  let net: ServiceNetworking;
  before(async () => {
    api = await startTestApiserver();
    api.core.admitCreate = admissionChain(api.core);
    net = installServiceNetworking(api.core, { leakGraceMs: 0 });
    await net.start({ address: '192.0.2.10', port: 6443 });
  });
  after(async () => { await net.stop(); await api.close(); });

  const record = async (prefix: string, v: string) => {
    const kv = await api.backend.get(prefix + v);
    return kv ? JSON.parse(kv.value) : undefined;
  };

  test('bootstrap: kubernetes and kube-dns Services, endpoints, IngressClass', async () => {
    const k = await api.request('GET', SVC('kubernetes'));
    assert.equal(k.status, 200, k.text);
    assert.equal(k.body.spec.clusterIP, '10.43.0.1');
    assert.deepEqual(k.body.spec.ports, [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }]);
    assert.equal(k.body.spec.selector, undefined);
    assert.equal((await record(SERVICE_IP_PREFIX, '10.43.0.1')).owner.uid, k.body.metadata.uid);
    const ep = await api.request('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
    assert.deepEqual(ep.body.subsets, [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }]);
    const slice = await api.request('GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes');
    assert.equal(slice.status, 200, slice.text);
    assert.equal(slice.body.metadata.labels['kubernetes.io/service-name'], 'kubernetes');
    assert.deepEqual(slice.body.endpoints.map((e: { addresses: string[] }) => e.addresses[0]), ['192.0.2.10']);
    const dns = await api.request('GET', SVC('kube-dns', 'kube-system'));
    assert.equal(dns.body.spec.clusterIP, '10.43.0.10');
    assert.equal(dns.body.metadata.labels['k8s-app'], 'kube-dns');
    assert.deepEqual(dns.body.spec.ports.map((p: { name: string; protocol: string }) => `${p.name}/${p.protocol}`), ['dns/UDP', 'dns-tcp/TCP']);
    const ic = await api.request('GET', '/apis/networking.k8s.io/v1/ingressclasses/skiff');
    assert.equal(ic.body.spec.controller, 'skiff.dev/ingress');
    assert.equal(ic.body.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');
  });

  test('ClusterIP: allocated with defaults; requested IPs must be free and in range', async () => {
    const r = await api.request('POST', SVCS(), { body: svc('web') });
    assert.equal(r.status, 201, r.text);
    const s = r.body.spec;
    assert.match(s.clusterIP, /^10\.43\.\d+\.\d+$/);
    assert.deepEqual(s.clusterIPs, [s.clusterIP]);
    assert.deepEqual(s.ipFamilies, ['IPv4']);
    assert.equal(s.ipFamilyPolicy, 'SingleStack');
    assert.equal(s.type, 'ClusterIP');
    assert.equal(s.sessionAffinity, 'None');
    assert.equal(s.internalTrafficPolicy, 'Cluster');
    assert.deepEqual(s.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal((await record(SERVICE_IP_PREFIX, s.clusterIP)).owner.name, 'web');

    const fixed = await api.request('POST', SVCS(), { body: svc('fixed', { clusterIP: '10.43.0.5' }) });
    assert.equal(fixed.status, 201, fixed.text);
    assert.deepEqual(fixed.body.spec.clusterIPs, ['10.43.0.5']);
    const dup = await api.request('POST', SVCS(), { body: svc('dup', { clusterIPs: ['10.43.0.5'] }) });
    assert.equal(dup.status, 422, dup.text);
    assert.equal(dup.body.message, 'Service "dup" is invalid: spec.clusterIPs: Invalid value: ["10.43.0.5"]: failed to allocate IP 10.43.0.5: provided IP is already allocated');
    const out = await api.request('POST', SVCS(), { body: svc('out', { clusterIP: '10.96.0.5' }) });
    assert.equal(out.status, 422, out.text);
    assert.match(out.body.message, /failed to allocate IP 10\.96\.0\.5: the provided IP \(10\.96\.0\.5\) is not in the valid range\. The range of valid IPs is 10\.43\.0\.0\/16/);
    assert.equal((await api.request('GET', SVC('dup'))).status, 404);
    const dual = await api.request('POST', SVCS(), { body: svc('dual', { ipFamilyPolicy: 'RequireDualStack' }) });
    assert.equal(dual.status, 422, dual.text);
  });

  test('headless and ExternalName Services allocate nothing', async () => {
    const before = (await api.backend.list(SERVICE_IP_PREFIX)).items.length;
    const h = await api.request('POST', SVCS(), { body: svc('headless', { clusterIP: 'None' }) });
    assert.equal(h.status, 201, h.text);
    assert.deepEqual(h.body.spec.clusterIPs, ['None']);
    const e = await api.request('POST', SVCS(), { body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } } });
    assert.equal(e.status, 201, e.text);
    assert.equal(e.body.spec.clusterIP, undefined);
    assert.equal((await api.backend.list(SERVICE_IP_PREFIX)).items.length, before);
  });

  test('updates keep the IP, refuse changing it, and ExternalName round trips release and reallocate', async () => {
    const c = await api.request('POST', SVCS(), { body: svc('upd') });
    const ip = c.body.spec.clusterIP;
    // A PUT of the original manifest (no clusterIP) keeps the allocated one.
    const put = await api.request('PUT', SVC('upd'), { body: { ...svc('upd', { ports: [{ port: 81 }] }), metadata: { name: 'upd', resourceVersion: c.body.metadata.resourceVersion } } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.spec.clusterIP, ip);
    assert.deepEqual(put.body.spec.clusterIPs, [ip]);
    const change = await api.request('PATCH', SVC('upd'), { body: { spec: { clusterIP: '10.43.0.77', clusterIPs: ['10.43.0.77'] } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(change.status, 422, change.text);
    assert.match(change.body.message, /spec\.clusterIPs\[0\]: Invalid value: "10\.43\.0\.77": may not change once set|field is immutable/);
    assert.equal(await record(SERVICE_IP_PREFIX, '10.43.0.77'), undefined, 'a refused update leaves nothing allocated');
    const toExt = await api.request('PATCH', SVC('upd'), { body: { spec: { type: 'ExternalName', externalName: 'example.com' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(toExt.status, 200, toExt.text);
    assert.equal(toExt.body.spec.clusterIP, undefined);
    assert.equal(toExt.body.spec.clusterIPs, undefined);
    assert.equal(await record(SERVICE_IP_PREFIX, ip), undefined, 'released on the change to ExternalName');
    const back = await api.request('PATCH', SVC('upd'), { body: { spec: { type: 'ClusterIP', externalName: null } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(back.status, 200, back.text);
    assert.match(back.body.spec.clusterIP, /^10\.43\./);
    assert.equal((await record(SERVICE_IP_PREFIX, back.body.spec.clusterIP)).owner.uid, c.body.metadata.uid);
  });

  test('NodePort: allocated per port, shared by TCP/UDP of one port, conflicts refused, released on type change', async () => {
    const r = await api.request('POST', SVCS(), { body: svc('np', { type: 'NodePort', ports: [{ name: 'a', port: 53, protocol: 'UDP' }, { name: 'b', port: 53, protocol: 'TCP' }, { name: 'c', port: 80, nodePort: 30080 }] }) });
    assert.equal(r.status, 201, r.text);
    const [a, b, c] = r.body.spec.ports;
    assert.ok(a.nodePort >= 30000 && a.nodePort <= 32767);
    assert.equal(b.nodePort, a.nodePort);
    assert.equal(c.nodePort, 30080);
    assert.equal(r.body.spec.externalTrafficPolicy, 'Cluster');
    const taken = await api.request('POST', SVCS(), { body: svc('np2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }) });
    assert.equal(taken.status, 422, taken.text);
    assert.equal(taken.body.message, 'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated');
    // A PUT without nodePorts keeps them (patchAllocatedValues).
    const cur = (await api.request('GET', SVC('np'))).body;
    const ports = cur.spec.ports.map((p: Record<string, unknown>) => ({ name: p.name, port: p.port, protocol: p.protocol }));
    const put = await api.request('PUT', SVC('np'), { body: { ...cur, spec: { ...cur.spec, ports } } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.spec.ports.map((p: { nodePort: number }) => p.nodePort), [a.nodePort, a.nodePort, 30080]);
    const toCIP = await api.request('PATCH', SVC('np'), { body: { spec: { type: 'ClusterIP' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(toCIP.status, 200, toCIP.text);
    assert.ok(toCIP.body.spec.ports.every((p: { nodePort?: number }) => p.nodePort === undefined), JSON.stringify(toCIP.body.spec.ports));
    assert.equal(toCIP.body.spec.externalTrafficPolicy, undefined);
    assert.equal(await record(NODE_PORT_PREFIX, '30080'), undefined);
    assert.equal(await record(NODE_PORT_PREFIX, String(a.nodePort)), undefined);
    const reuse = await api.request('POST', SVCS(), { body: svc('np3', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }) });
    assert.equal(reuse.status, 201, reuse.text);
  });

  test('LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort', async () => {
    const r = await api.request('POST', SVCS(), { body: svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }) });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.body.spec.ports[0].nodePort >= 30000);
    assert.ok(r.body.spec.healthCheckNodePort >= 30000);
    assert.notEqual(r.body.spec.healthCheckNodePort, r.body.spec.ports[0].nodePort);
    const noPorts = await api.request('POST', SVCS(), { body: svc('lb2', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }) });
    assert.equal(noPorts.status, 201, noPorts.text);
    assert.equal(noPorts.body.spec.ports[0].nodePort, undefined);
  });

  test('delete releases; dry run allocates nothing; a failed create gives its IP back', async () => {
    const r = await api.request('POST', SVCS(), { body: svc('gone', { type: 'NodePort', clusterIP: '10.43.0.99', ports: [{ port: 80, nodePort: 30099 }] }) });
    assert.equal(r.status, 201, r.text);
    const d = await api.request('DELETE', SVC('gone'));
    assert.equal(d.status, 200, d.text);
    assert.equal(await record(SERVICE_IP_PREFIX, '10.43.0.99'), undefined);
    assert.equal(await record(NODE_PORT_PREFIX, '30099'), undefined);
    const dry = await api.request('POST', `${SVCS()}?dryRun=All`, { body: svc('dry', { clusterIP: '10.43.0.98' }) });
    assert.equal(dry.status, 201, dry.text);
    assert.equal(await record(SERVICE_IP_PREFIX, '10.43.0.98'), undefined);
    const dryAuto = await api.request('POST', `${SVCS()}?dryRun=All`, { body: svc('dry2') });
    assert.match(dryAuto.body.spec.clusterIP, /^10\.43\./);
    assert.equal(await record(SERVICE_IP_PREFIX, dryAuto.body.spec.clusterIP), undefined);
    // AlreadyExists after allocation: the requested IP must be free again.
    await api.request('POST', SVCS(), { body: svc('twice') });
    const again = await api.request('POST', SVCS(), { body: svc('twice', { clusterIP: '10.43.0.97' }) });
    assert.equal(again.status, 409, again.text);
    assert.equal(await record(SERVICE_IP_PREFIX, '10.43.0.97'), undefined);
  });

  test('malformed updates are refused by validation, never a 500', async () => {
    await api.request('POST', SVCS(), { body: svc('weird', { type: 'NodePort' }) });
    const bodies: Array<[string, unknown]> = [
      ['application/merge-patch+json', { spec: { clusterIP: 5 } }],
      ['application/merge-patch+json', { spec: { type: 'ExternalName', clusterIP: 'abc' } }],
      ['application/merge-patch+json', { spec: { ports: 'x' } }],
      ['application/json-patch+json', [{ op: 'replace', path: '/spec', value: 'x' }]],
      ['application/merge-patch+json', { spec: { type: 'Bogus' } }],
    ];
    for (const [type, body] of bodies) {
      const r = await api.request('PATCH', SVC('weird'), { body: JSON.stringify(body), headers: { 'Content-Type': type } });
      assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
    }
  });

  test('parallel creates get distinct IPs', async () => {
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => api.request('POST', SVCS(), { body: svc(`par-${i}`) })));
    for (const r of rs) assert.equal(r.status, 201, r.text);
    assert.equal(new Set(rs.map((r) => r.body.spec.clusterIP)).size, 12);
  });

  test('DefaultIngressClass: an Ingress without a class gets the newest default', async () => {
    const ing = (name: string, cls?: string) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name }, spec: { ...(cls ? { ingressClassName: cls } : {}), defaultBackend: { service: { name: 'web', port: { number: 80 } } } } });
    const r = await api.request('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', { body: ing('i1') });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.spec.ingressClassName, 'skiff');
    const own = await api.request('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', { body: ing('i2', 'other') });
    assert.equal(own.body.spec.ingressClassName, 'other');
  });

  test('restart: a second apiserver on the same store sees the allocations; repair frees leaks and records missing ones', async () => {
    const core2 = new ApiServerCore({ backend: api.backend, authenticate: () => ADMIN });
    const net2 = installServiceNetworking(core2, { leakGraceMs: 0 });
    const server2 = http.createServer(core2.handle);
    await new Promise<void>((r) => server2.listen(0, '127.0.0.1', r));
    try {
      const port2 = (server2.address() as AddressInfo).port;
      const post = (body: unknown) => new Promise<{ status: number; body: Record<string, unknown> & { message?: string } }>((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request({ host: '127.0.0.1', port: port2, method: 'POST', path: SVCS(), headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } }, (res) => {
          let t = '';
          res.on('data', (c) => { t += c; });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) }));
        });
        req.on('error', reject);
        req.end(data);
      });
      const dup = await post(svc('other-server', { clusterIP: '10.43.0.5' }));
      assert.equal(dup.status, 422, JSON.stringify(dup.body));
      // Leak one record (no Service), lose another (a Service without its record), then repair.
      await api.backend.create(`${SERVICE_IP_PREFIX}10.43.0.200`, JSON.stringify({ owner: { namespace: 'default', name: 'ghost', uid: 'ghost-uid' }, allocatedAt: 0 }));
      await api.backend.delete(`${SERVICE_IP_PREFIX}10.43.0.5`);
      const report = await net2.repair();
      assert.ok(report.freed.includes('ip:10.43.0.200'), JSON.stringify(report));
      assert.ok(report.recorded.includes('ip:10.43.0.5'), JSON.stringify(report));
      assert.equal(await record(SERVICE_IP_PREFIX, '10.43.0.200'), undefined);
      assert.equal((await record(SERVICE_IP_PREFIX, '10.43.0.5')).owner.name, 'fixed');
      const again = await net2.repair();
      assert.deepEqual(again, { freed: [], recorded: [], problems: [] });
      // Both apiservers advertise themselves in the kubernetes endpoints.
      await net2.start({ address: '192.0.2.11', port: 6443 });
      const ep = await api.request('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
      assert.deepEqual(ep.body.subsets[0].addresses.map((a: { ip: string }) => a.ip), ['192.0.2.10', '192.0.2.11']);
      await net2.stop();
      const ep2 = await api.request('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
      assert.deepEqual(ep2.body.subsets[0].addresses.map((a: { ip: string }) => a.ip), ['192.0.2.10']);
    } finally {
      await net2.stop();
      server2.closeAllConnections();
      await new Promise<void>((r) => server2.close(() => r()));
    }
  });
});
