import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from './index.js';
import { applyDefaults } from '../defaults.js';
import { findKind } from '../resources.js';
import type { KObject, StatusCause } from '../errors.js';

const info = (g: string, v: string, k: string) => findKind(g, v, k)!;
const fmt = (c: StatusCause[]) => c.map((x) => `${x.field}: ${x.message} [${x.reason}]`).join('\n');
const meta = () => ({ name: 'x', namespace: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z', resourceVersion: '5' });

function stored(g: string, v: string, k: string, o: KObject): KObject {
  applyDefaults(info(g, v, k), o);
  return o;
}

function check(g: string, v: string, k: string, old: KObject, mutate: (o: KObject) => void, want: Array<[string, string, string?]>): void {
  const o = structuredClone(old);
  mutate(o);
  applyDefaults(info(g, v, k), o, old);
  const causes = validateObject(info(g, v, k), o, old);
  if (want.length === 0) assert.equal(fmt(causes), '', `${k}: expected no causes`);
  for (const [field, reason, msg] of want) {
    assert.ok(causes.some((c) => c.field === field && c.reason === reason && (msg === undefined || c.message.startsWith(msg))), `${k} ${field} ${reason} ${msg ?? ''}\n got:\n${fmt(causes)}`);
  }
}

test('metadata immutables', () => {
  const cm = stored('', 'v1', 'ConfigMap', { metadata: meta(), data: { a: 'b' } });
  check('', 'v1', 'ConfigMap', cm, (o) => { o.metadata.uid = 'u2'; }, [['metadata.uid', 'FieldValueInvalid', 'Invalid value: "u2": field is immutable']]);
  check('', 'v1', 'ConfigMap', cm, (o) => { o.metadata.name = 'y'; }, [['metadata.name', 'FieldValueInvalid', 'Invalid value: "y": field is immutable']]);
  check('', 'v1', 'ConfigMap', cm, (o) => { o.metadata.creationTimestamp = '2025-01-01T00:00:00Z'; }, [['metadata.creationTimestamp', 'FieldValueInvalid']]);
  check('', 'v1', 'ConfigMap', cm, (o) => { delete o.metadata.uid; o.data = { a: 'c' }; }, []);
  check('', 'v1', 'ConfigMap', { ...cm, metadata: { ...cm.metadata, deletionTimestamp: '2024-01-02T00:00:00Z' } },
    (o) => { o.metadata.finalizers = ['example.com/f']; }, [['metadata.finalizers', 'FieldValueForbidden']]);
});

test('configmap / secret immutable data', () => {
  const cm = stored('', 'v1', 'ConfigMap', { metadata: meta(), data: { a: 'b' }, immutable: true });
  check('', 'v1', 'ConfigMap', cm, (o) => { o.data = { a: 'c' }; }, [['data', 'FieldValueForbidden', 'Forbidden: field is immutable when `immutable` is set']]);
  check('', 'v1', 'ConfigMap', cm, (o) => { o.immutable = false; }, [['immutable', 'FieldValueForbidden']]);
  const sec = stored('', 'v1', 'Secret', { metadata: meta(), data: { a: 'Yg==' } });
  check('', 'v1', 'Secret', sec, (o) => { o.type = 'kubernetes.io/tls'; o.data['tls.crt'] = 'YQ=='; o.data['tls.key'] = 'YQ=='; }, [['type', 'FieldValueInvalid', 'Invalid value: "kubernetes.io/tls": field is immutable']]);
  check('', 'v1', 'Secret', sec, (o) => { o.data = { a: 'Yw==' }; }, []);
});

test('workload selectors are immutable; template is not', () => {
  const d = stored('apps', 'v1', 'Deployment', { metadata: meta(), spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a', v: '1' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
  check('apps', 'v1', 'Deployment', d, (o) => { o.spec.selector = { matchLabels: { app: 'a', v: '1' } }; }, [['spec.selector', 'FieldValueInvalid', 'Invalid value: {"matchLabels":{"app":"a","v":"1"}}: field is immutable']]);
  check('apps', 'v1', 'Deployment', d, (o) => { o.spec.template.spec.containers[0].image = 'j'; o.spec.replicas = 3; }, []);
  const sts = stored('apps', 'v1', 'StatefulSet', { metadata: meta(), spec: { serviceName: 's', selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } });
  check('apps', 'v1', 'StatefulSet', sts, (o) => { o.spec.serviceName = 't'; }, [['spec', 'FieldValueForbidden', "Forbidden: updates to statefulset spec for fields other than 'replicas'"]]);
  check('apps', 'v1', 'StatefulSet', sts, (o) => { o.spec.replicas = 4; }, []);
});

test('job template and selector are immutable', () => {
  const job = stored('batch', 'v1', 'Job', { metadata: meta(), spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } } });
  check('batch', 'v1', 'Job', job, (o) => { o.spec.template.spec.containers[0].image = 'j'; }, [['spec.template', 'FieldValueInvalid']]);
  check('batch', 'v1', 'Job', job, (o) => { o.spec.suspend = true; o.spec.parallelism = 2; }, []);
});

test('service clusterIP immutability', () => {
  const svc = stored('', 'v1', 'Service', { metadata: meta(), spec: { clusterIP: '10.96.0.10', selector: { a: 'b' }, ports: [{ port: 80 }] } });
  check('', 'v1', 'Service', svc, (o) => { o.spec.clusterIP = '10.96.0.11'; }, [['spec.clusterIP', 'FieldValueInvalid']]);
  check('', 'v1', 'Service', svc, (o) => { o.spec.type = 'ExternalName'; o.spec.externalName = 'a.example.com'; delete o.spec.clusterIP; o.spec.ports = []; }, []);
  check('', 'v1', 'Service', svc, (o) => { o.spec.ports[0].port = 81; }, []);
});

test('pvc spec is immutable except requests', () => {
  const pvc = stored('', 'v1', 'PersistentVolumeClaim', { metadata: meta(), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  check('', 'v1', 'PersistentVolumeClaim', pvc, (o) => { o.spec.resources.requests.storage = '2Gi'; }, []);
  check('', 'v1', 'PersistentVolumeClaim', pvc, (o) => { o.spec.volumeName = 'pv-1'; }, []);
  check('', 'v1', 'PersistentVolumeClaim', pvc, (o) => { o.spec.accessModes = ['ReadWriteMany']; }, [['spec', 'FieldValueForbidden', 'Forbidden: spec is immutable after creation except resources.requests']]);
  check('', 'v1', 'PersistentVolumeClaim', pvc, (o) => { o.spec.resources.requests.storage = '512Mi'; }, [['spec.resources.requests.storage', 'FieldValueForbidden']]);
});

test('pod updates', () => {
  const pod = stored('', 'v1', 'Pod', { metadata: meta(), spec: { activeDeadlineSeconds: 100, tolerations: [{ key: 'a', operator: 'Exists' }], containers: [{ name: 'c', image: 'nginx:1' }] } });
  check('', 'v1', 'Pod', pod, (o) => { o.spec.containers[0].image = 'nginx:2'; o.spec.activeDeadlineSeconds = 50; o.spec.tolerations.push({ key: 'b', operator: 'Exists' }); }, []);
  check('', 'v1', 'Pod', pod, (o) => { o.spec.restartPolicy = 'Never'; }, [['spec', 'FieldValueForbidden', 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`']]);
  check('', 'v1', 'Pod', pod, (o) => { o.spec.containers.push({ name: 'd', image: 'x' }); }, [['spec.containers', 'FieldValueForbidden', 'Forbidden: pod updates may not add or remove containers']]);
  check('', 'v1', 'Pod', pod, (o) => { o.spec.activeDeadlineSeconds = 200; }, [['spec.activeDeadlineSeconds', 'FieldValueInvalid', 'Invalid value: 200: must be less than or equal to previous value']]);
  check('', 'v1', 'Pod', pod, (o) => { o.spec.tolerations = []; }, [['spec.tolerations', 'FieldValueForbidden']]);
  check('', 'v1', 'Pod', pod, (o) => { o.metadata.labels = { new: 'label' }; }, []);
});

test('other update rules', () => {
  const pc = stored('scheduling.k8s.io', 'v1', 'PriorityClass', { metadata: { name: 'p', uid: 'u' }, value: 5 });
  check('scheduling.k8s.io', 'v1', 'PriorityClass', pc, (o) => { o.value = 6; }, [['value', 'FieldValueForbidden', 'Forbidden: may not be changed in an update.']]);
  const rb = stored('rbac.authorization.k8s.io', 'v1', 'RoleBinding', { metadata: meta(), roleRef: { kind: 'Role', name: 'a' }, subjects: [] });
  check('rbac.authorization.k8s.io', 'v1', 'RoleBinding', rb, (o) => { o.roleRef.name = 'b'; }, [['roleRef', 'FieldValueInvalid']]);
  const es = stored('discovery.k8s.io', 'v1', 'EndpointSlice', { metadata: meta(), addressType: 'IPv4', endpoints: [] });
  check('discovery.k8s.io', 'v1', 'EndpointSlice', es, (o) => { o.addressType = 'IPv6'; }, [['addressType', 'FieldValueInvalid', 'Invalid value: "IPv6": field is immutable']]);
});
