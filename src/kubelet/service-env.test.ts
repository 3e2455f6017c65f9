import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { buildEnv, serviceEnv, type ObjectSource } from './env.js';

const svc = (ns: string, name: string, clusterIP: string, ports: Service['spec'] extends infer S ? S extends { ports?: infer P } ? P : never : never): Service =>
  ({ metadata: { namespace: ns, name }, spec: { clusterIP, ports } }) as Service;

const services = [
  svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
  svc('team', 'redis-main', '10.43.7.7', [{ name: 'redis', port: 6379 }, { name: 'metrics-port', port: 9121, protocol: 'TCP' }]),
  svc('team', 'dns', '10.43.0.9', [{ port: 53, protocol: 'UDP' }]),
  svc('team', 'headless', 'None', [{ port: 80 }]),
  svc('other', 'elsewhere', '10.43.9.9', [{ port: 80 }]),
];

test('service env vars: the namespace services and the kubernetes service, as kubelet names them', () => {
  const env = serviceEnv(services, 'team');
  assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
  assert.equal(env.get('KUBERNETES_SERVICE_PORT'), '443');
  assert.equal(env.get('KUBERNETES_SERVICE_PORT_HTTPS'), '443');
  assert.equal(env.get('KUBERNETES_PORT'), 'tcp://10.43.0.1:443');
  assert.equal(env.get('KUBERNETES_PORT_443_TCP'), 'tcp://10.43.0.1:443');
  assert.equal(env.get('KUBERNETES_PORT_443_TCP_PROTO'), 'tcp');
  assert.equal(env.get('KUBERNETES_PORT_443_TCP_PORT'), '443');
  assert.equal(env.get('KUBERNETES_PORT_443_TCP_ADDR'), '10.43.0.1');
  assert.equal(env.get('REDIS_MAIN_SERVICE_HOST'), '10.43.7.7');
  assert.equal(env.get('REDIS_MAIN_SERVICE_PORT'), '6379');
  assert.equal(env.get('REDIS_MAIN_SERVICE_PORT_METRICS_PORT'), '9121');
  assert.equal(env.get('REDIS_MAIN_PORT_9121_TCP'), 'tcp://10.43.7.7:9121');
  assert.equal(env.get('DNS_PORT'), 'udp://10.43.0.9:53');
  assert.equal(env.get('DNS_PORT_53_UDP_PROTO'), 'udp');
  assert.equal(env.get('HEADLESS_SERVICE_HOST'), undefined, 'headless services get no variables');
  assert.equal(env.get('ELSEWHERE_SERVICE_HOST'), undefined, 'other namespaces are not linked');
});

test('enableServiceLinks false keeps only the kubernetes service', () => {
  const env = serviceEnv(services, 'team', false);
  assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
  assert.equal(env.get('REDIS_MAIN_SERVICE_HOST'), undefined);
});

test("buildEnv: the container's env wins over service vars and may reference them", async () => {
  const pod = { metadata: { namespace: 'team', name: 'p' }, spec: { containers: [] } } as unknown as Pod;
  const c = { name: 'c', env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'override' }, { name: 'URL', value: 'redis://$(REDIS_MAIN_SERVICE_HOST):$(REDIS_MAIN_SERVICE_PORT)' }] };
  const out = await buildEnv(pod, c, { nodeName: 'n', podIP: '', hostIP: '' }, {} as ObjectSource, serviceEnv(services, 'team'));
  const get = (k: string) => out.filter((e) => e.key === k).map((e) => e.value);
  assert.deepEqual(get('KUBERNETES_SERVICE_HOST'), ['override']);
  assert.deepEqual(get('URL'), ['redis://10.43.7.7:6379']);
  assert.deepEqual(get('REDIS_MAIN_SERVICE_HOST'), ['10.43.7.7']);
});
