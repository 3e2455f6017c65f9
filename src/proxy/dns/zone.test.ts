import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Answer, RecordType } from 'dns-packet';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { ClusterZone, RCODE, type ZoneView } from './zone.js';

const svc = (ns: string, name: string, spec: ServiceSpec): Service => ({ metadata: { namespace: ns, name }, spec });
const ep = (ip: string, o: { hostname?: string; ready?: boolean } = {}): Endpoint => ({
  addresses: [ip], hostname: o.hostname, conditions: { ready: o.ready ?? true },
});
const slice = (ns: string, service: string, name: string, endpoints: Endpoint[], ports: EndpointPort[] = [], addressType = 'IPv4'): EndpointSlice => ({
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } }, addressType, endpoints, ports,
});

const SERVICES = [
  svc('default', 'web', { clusterIP: '10.43.0.20', clusterIPs: ['10.43.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
  svc('default', 'dual', { clusterIP: '10.43.0.21', clusterIPs: ['10.43.0.21', 'fd00:43::21'], ports: [{ port: 80 }] }),
  svc('default', 'head', { clusterIP: 'None', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
  svc('default', 'empty', { clusterIP: 'None' }),
  svc('default', 'ext', { type: 'ExternalName', externalName: 'example.com.' }),
  svc('default', 'alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
  svc('kube-system', 'kube-dns', { clusterIP: '10.43.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
];
const SLICES = [
  slice('default', 'head', 'head-a', [ep('10.42.0.5', { hostname: 'worker-0' }), ep('10.42.0.6'), ep('10.42.0.7', { hostname: 'worker-2', ready: false })], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  // The same pod briefly in a second slice must not double its records.
  slice('default', 'head', 'head-b', [ep('10.42.0.5', { hostname: 'worker-0' })], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  slice('default', 'empty', 'empty-a', [ep('10.42.0.8', { ready: false })]),
  slice('default', 'web', 'web-a', [ep('10.42.0.30', { hostname: 'w' })], [{ name: 'http', port: 8080 }]),
];

const view: ZoneView = {
  service: (ns, name) => SERVICES.find((s) => s.metadata!.namespace === ns && s.metadata!.name === name),
  services: () => SERVICES,
  slicesFor: (ns, name) => SLICES.filter((s) => s.metadata!.namespace === ns && s.metadata!.labels!['kubernetes.io/service-name'] === name),
  slices: () => SLICES,
};
const zone = new ClusterZone({ domain: 'cluster.local', ttl: 5, view, serial: () => 42 });

function fmt(a: Answer): string {
  const d = (a as { data: unknown }).data;
  if (a.type === 'SRV') {
    const s = d as { priority: number; weight: number; port: number; target: string };
    return `SRV ${s.priority} ${s.weight} ${s.port} ${s.target}`;
  }
  if (a.type === 'SOA') return `SOA ${(d as { mname: string }).mname}`;
  return `${a.type} ${String(d)}`;
}

const S = 'svc.cluster.local';
const cases: Array<{ name: string; q: string; type?: RecordType; rcode?: number; answers?: string[]; additionals?: string[]; soa?: boolean; forward?: true; chase?: string }> = [
  { name: 'ClusterIP service A', q: `web.default.${S}`, answers: ['A 10.43.0.20'] },
  { name: 'names are case-insensitive, trailing dot ok', q: `WEB.Default.${S}.`, answers: ['A 10.43.0.20'] },
  { name: 'AAAA of a v4-only service is NODATA', q: `web.default.${S}`, type: 'AAAA', answers: [], soa: true },
  { name: 'dual-stack AAAA', q: `dual.default.${S}`, type: 'AAAA', answers: ['AAAA fd00:43::21'] },
  { name: 'other types of a known name are NODATA', q: `web.default.${S}`, type: 'TXT', answers: [], soa: true },
  { name: 'unknown service is NXDOMAIN with SOA', q: `nope.default.${S}`, rcode: RCODE.NXDOMAIN, soa: true },
  { name: 'headless: one A per ready endpoint, de-duplicated', q: `head.default.${S}`, answers: ['A 10.42.0.5', 'A 10.42.0.6'] },
  { name: 'headless without ready endpoints is NXDOMAIN', q: `empty.default.${S}`, rcode: RCODE.NXDOMAIN, soa: true },
  { name: 'endpoint hostname (hostname.subdomain)', q: `worker-0.head.default.${S}`, answers: ['A 10.42.0.5'] },
  { name: 'endpoint without hostname by dashed IP', q: `10-42-0-6.head.default.${S}`, answers: ['A 10.42.0.6'] },
  { name: 'not-ready endpoint hostname is NXDOMAIN', q: `worker-2.head.default.${S}`, rcode: RCODE.NXDOMAIN },
  { name: 'endpoint hostname of a ClusterIP service', q: `w.web.default.${S}`, answers: ['A 10.42.0.30'] },
  {
    name: 'SRV for a named port of a ClusterIP service', q: `_http._tcp.web.default.${S}`, type: 'SRV',
    answers: [`SRV 0 100 80 web.default.${S}`], additionals: ['A 10.43.0.20'],
  },
  { name: 'SRV for a UDP port', q: `_dns._udp.web.default.${S}`, type: 'SRV', answers: [`SRV 0 100 53 web.default.${S}`], additionals: ['A 10.43.0.20'] },
  {
    name: 'SRV of a headless service targets each endpoint', q: `_http._tcp.head.default.${S}`, type: 'SRV',
    answers: [`SRV 0 50 8080 worker-0.head.default.${S}`, `SRV 0 50 8080 10-42-0-6.head.default.${S}`], additionals: ['A 10.42.0.5', 'A 10.42.0.6'],
  },
  { name: 'SRV of the service name lists every port', q: `web.default.${S}`, type: 'SRV', answers: [`SRV 0 50 80 web.default.${S}`, `SRV 0 50 53 web.default.${S}`], additionals: ['A 10.43.0.20'] },
  { name: 'SRV for an unknown port name is NXDOMAIN', q: `_nope._tcp.web.default.${S}`, type: 'SRV', rcode: RCODE.NXDOMAIN },
  { name: 'SRV with the wrong protocol is NXDOMAIN', q: `_http._udp.web.default.${S}`, type: 'SRV', rcode: RCODE.NXDOMAIN },
  { name: 'A on an SRV name is NODATA', q: `_http._tcp.web.default.${S}`, answers: [], soa: true },
  { name: 'ExternalName: CNAME, target chased upstream', q: `ext.default.${S}`, answers: ['CNAME example.com'], chase: 'example.com A' },
  { name: 'ExternalName CNAME query', q: `ext.default.${S}`, type: 'CNAME', answers: ['CNAME example.com'] },
  { name: 'ExternalName into the zone is followed here', q: `alias.default.${S}`, answers: [`CNAME web.default.${S}`, 'A 10.43.0.20'] },
  { name: 'pod A record (pods insecure)', q: '10-42-0-9.default.pod.cluster.local', answers: ['A 10.42.0.9'] },
  { name: 'malformed pod name is NXDOMAIN', q: '10-42-0.default.pod.cluster.local', rcode: RCODE.NXDOMAIN },
  { name: 'namespace with services is an empty non-terminal', q: `default.${S}`, answers: [], soa: true },
  { name: 'namespace without services is NXDOMAIN', q: `nowhere.${S}`, rcode: RCODE.NXDOMAIN },
  { name: 'too deep is NXDOMAIN', q: `a.b.c.d.e.${S}`, rcode: RCODE.NXDOMAIN },
  { name: 'unknown name in the zone is NXDOMAIN', q: 'foo.cluster.local', rcode: RCODE.NXDOMAIN, soa: true },
  { name: 'apex SOA', q: 'cluster.local', type: 'SOA', answers: ['SOA ns.dns.cluster.local'] },
  { name: 'apex NS with glue', q: 'cluster.local', type: 'NS', answers: ['NS ns.dns.cluster.local'], additionals: ['A 10.43.0.10'] },
  { name: 'ns.dns is the kube-dns ClusterIP', q: 'ns.dns.cluster.local', answers: ['A 10.43.0.10'] },
  { name: 'schema version', q: 'dns-version.cluster.local', type: 'TXT', answers: ['TXT 1.1.0'] },
  { name: 'PTR of a ClusterIP', q: '20.0.43.10.in-addr.arpa', type: 'PTR', answers: [`PTR web.default.${S}`] },
  { name: 'PTR of an endpoint uses its hostname', q: '5.0.42.10.in-addr.arpa', type: 'PTR', answers: [`PTR worker-0.head.default.${S}`] },
  { name: 'PTR of an unknown address falls through', q: '9.9.9.9.in-addr.arpa', type: 'PTR', forward: true },
  { name: 'names outside the zone are forwarded', q: 'example.com', forward: true },
  { name: 'a name merely ending like the zone is forwarded', q: 'notcluster.local', forward: true },
];

for (const c of cases) {
  test(`zone: ${c.name}`, () => {
    const r = zone.resolve({ name: c.q, type: c.type ?? 'A' });
    if (c.forward) return assert.equal(r, undefined);
    assert.ok(r, 'expected an answer from the zone');
    assert.equal(r.rcode, c.rcode ?? RCODE.NOERROR);
    if (c.answers) assert.deepEqual(r.answers.map(fmt), c.answers);
    if (c.additionals) assert.deepEqual(r.additionals.map(fmt), c.additionals);
    if (c.soa !== undefined) assert.deepEqual(r.authorities.map(fmt), c.soa ? ['SOA ns.dns.cluster.local'] : []);
    if (c.rcode === RCODE.NXDOMAIN) assert.equal(r.authorities[0]?.type, 'SOA');
    assert.equal(r.chase ? `${r.chase.name} ${r.chase.type}` : undefined, c.chase);
    for (const a of r.answers) assert.equal((a as { ttl?: number }).ttl, 5);
  });
}

test('zone: the SOA carries the serial and the TTL as minimum', () => {
  const soa = zone.soa();
  assert.equal(soa.data.serial, 42);
  assert.equal(soa.data.minimum, 5);
  assert.equal(soa.data.rname, 'hostmaster.cluster.local');
});
