import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IngressBackend } from 'kubernetes-types/networking/v1.js';
import { resolveBackend, type BackendListers } from './endpoints.js';

const web: Service = {
  metadata: { name: 'web', namespace: 'ns' },
  spec: {
    ports: [
      { name: 'http', port: 80, targetPort: 'web' as never },
      { name: 'metrics', port: 9090 },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ],
  },
};
const single: Service = { metadata: { name: 'single', namespace: 'ns' }, spec: { ports: [{ port: 8080 }] } };
const ext: Service = { metadata: { name: 'ext', namespace: 'ns' }, spec: { type: 'ExternalName', externalName: 'example.org', ports: [{ name: 'h', port: 8443 }] } };

const slices: EndpointSlice[] = [
  {
    addressType: 'IPv4',
    metadata: { name: 'web-b', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
    ports: [{ name: 'http', port: 8081 }, { name: 'metrics', port: 9100 }],
    endpoints: [
      { addresses: ['10.42.0.3'], conditions: { ready: true } },
      { addresses: ['10.42.0.9'], conditions: { ready: false, terminating: true } },
    ],
  },
  {
    addressType: 'IPv4',
    metadata: { name: 'web-a', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
    ports: [{ name: 'http', port: 8080 }],
    endpoints: [{ addresses: ['10.42.0.2'] }, { addresses: ['10.42.0.3'], conditions: { ready: true } }],
  },
  {
    addressType: 'IPv4',
    metadata: { name: 'single-a', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'single' } },
    ports: [{ port: 3000 }],
    endpoints: [{ addresses: ['10.42.1.5'], conditions: { ready: false } }],
  },
];

const listers: BackendListers = {
  service: (ns, name) => [web, single, ext].find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
  slices: (ns, name) => slices.filter((s) => s.metadata?.namespace === ns && s.metadata?.labels?.['kubernetes.io/service-name'] === name),
};

test('resolveBackend maps a backend to ready endpoints through the Service port name', () => {
  const be = (name: string, port: { number?: number; name?: string }): IngressBackend => ({ service: { name, port } });
  const cases: Array<{ name: string; ns?: string; backend: IngressBackend; want: string[] | RegExp }> = [
    { name: 'port number → named slice port, slices in name order, not-ready skipped', backend: be('web', { number: 80 }), want: ['10.42.0.2:8080', '10.42.0.3:8080', '10.42.0.3:8081'] },
    { name: 'port name', backend: be('web', { name: 'metrics' }), want: ['10.42.0.3:9100'] },
    { name: 'unknown port number', backend: be('web', { number: 81 }), want: /has no TCP port 81/ },
    { name: 'UDP port is not served', backend: be('web', { name: 'dns' }), want: /has no TCP port dns/ },
    { name: 'no ready endpoints', backend: be('single', { number: 8080 }), want: /no ready endpoints/ },
    { name: 'missing service', backend: be('nope', { number: 80 }), want: /service ns\/nope not found/ },
    { name: 'other namespace', ns: 'elsewhere', backend: be('web', { number: 80 }), want: /not found/ },
    { name: 'ExternalName', backend: be('ext', { name: 'h' }), want: ['example.org:8443'] },
    { name: 'resource backend', backend: { resource: { kind: 'StorageBucket', name: 'b', apiGroup: 'x' } }, want: /not supported/ },
  ];
  for (const c of cases) {
    const r = resolveBackend(c.ns ?? 'ns', c.backend, listers);
    if (Array.isArray(c.want)) {
      assert.ok(r.ok, `${c.name}: ${!r.ok ? r.reason : ''}`);
      assert.deepEqual(r.targets.map((t) => `${t.host}:${t.port}`), c.want, c.name);
    } else {
      assert.ok(!r.ok, c.name);
      assert.equal(r.status, 503, c.name);
      assert.match(r.reason, c.want, c.name);
    }
  }
});
