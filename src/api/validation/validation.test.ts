import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject } from './index.js';
import { applyDefaults } from '../defaults.js';
import { RESOURCES, findKind } from '../resources.js';
import type { KObject, StatusCause } from '../errors.js';

const info = (gv: string, kind: string) => {
  const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
  const r = findKind(group, version, kind);
  if (!r) throw new Error(`${gv} ${kind}`);
  return r;
};

const podSpec = () => ({ containers: [{ name: 'c', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] });
const tpl = (labels: Record<string, string> = { app: 'a' }, restartPolicy?: string) => ({ metadata: { labels }, spec: { ...podSpec(), ...(restartPolicy ? { restartPolicy } : {}) } });
const md = (name = 'x', namespace: string | null = 'default') => (namespace ? { name, namespace } : { name });

/** One valid object per kind (before defaults). */
const VALID: Record<string, KObject> = {
  'v1/Namespace': { metadata: md('team', null) },
  'v1/Pod': { metadata: md(), spec: podSpec() },
  'v1/Node': { metadata: md('node-1', null), spec: { podCIDR: '10.244.0.0/24', taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }, status: { capacity: { cpu: '4', memory: '8Gi' } } },
  'v1/Service': { metadata: md('svc'), spec: { selector: { app: 'a' }, ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443, targetPort: 'https' }] } },
  'v1/Endpoints': { metadata: md(), subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] },
  'v1/ConfigMap': { metadata: md(), data: { 'app.conf': 'x=1' }, binaryData: { bin: 'AAEC' } },
  'v1/Secret': { metadata: md(), type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } },
  'v1/Event': { metadata: md('x.123'), involvedObject: { kind: 'Pod', name: 'x', namespace: 'default' }, reason: 'Started', message: 'm', type: 'Normal' },
  'v1/ServiceAccount': { metadata: md() },
  'v1/ResourceQuota': { metadata: md(), spec: { hard: { pods: '10', 'requests.cpu': '4', 'requests.nvidia.com/gpu': '2', 'count/deployments.apps': '5' } } },
  'v1/LimitRange': { metadata: md(), spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { cpu: '100m' }, default: { cpu: '500m' } }] } },
  'v1/PersistentVolume': { metadata: md('pv', null), spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } } },
  'v1/PersistentVolumeClaim': { metadata: md(), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  'apps/v1/Deployment': { metadata: md(), spec: { selector: { matchLabels: { app: 'a' } }, template: tpl() } },
  'apps/v1/ReplicaSet': { metadata: md(), spec: { selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] }, template: tpl() } },
  'apps/v1/StatefulSet': { metadata: md(), spec: { serviceName: 'x', selector: { matchLabels: { app: 'a' } }, template: tpl(),
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } },
  'apps/v1/DaemonSet': { metadata: md(), spec: { selector: { matchLabels: { app: 'a' } }, template: tpl() } },
  'apps/v1/ControllerRevision': { metadata: md(), data: { spec: {} }, revision: 1 },
  'batch/v1/Job': { metadata: { ...md(), uid: 'uid-1' }, spec: { template: tpl({}, 'Never') } },
  'batch/v1/CronJob': { metadata: md(), spec: { schedule: '*/5 * * * *', timeZone: 'Europe/Paris', jobTemplate: { spec: { template: tpl({}, 'OnFailure') } } } },
  'networking.k8s.io/v1/Ingress': { metadata: md(), spec: { ingressClassName: 'nginx', rules: [{ host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }] } },
  'networking.k8s.io/v1/IngressClass': { metadata: md('nginx', null), spec: { controller: 'k8s.io/ingress-nginx' } },
  'networking.k8s.io/v1/NetworkPolicy': { metadata: md(), spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { podSelector: { matchLabels: { a: 'b' } }, namespaceSelector: {} }], ports: [{ port: 80, endPort: 90 }] }] } },
  'coordination.k8s.io/v1/Lease': { metadata: md(), spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
  'discovery.k8s.io/v1/EndpointSlice': { metadata: md(), addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80 }] },
  'scheduling.k8s.io/v1/PriorityClass': { metadata: md('high', null), value: 1000 },
  'scheduling.x-k8s.io/v1alpha1/PodGroup': { metadata: md('gang'), spec: { minMember: 3, scheduleTimeoutSeconds: 60 } },
  'events.k8s.io/v1/Event': { metadata: md('e1'), eventTime: '2024-01-01T00:00:00.000000Z', type: 'Normal', reportingController: 'skiff.io/ctl', reportingInstance: 'i', action: 'Start', reason: 'Started', regarding: { namespace: 'default' } },
  'policy/v1/PodDisruptionBudget': { metadata: md(), spec: { minAvailable: '50%', selector: { matchLabels: { app: 'a' } } } },
  'autoscaling/v2/HorizontalPodAutoscaler': { metadata: md(), spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, minReplicas: 1, maxReplicas: 5,
    metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } }] } },
  'autoscaling/v1/HorizontalPodAutoscaler': { metadata: md(), spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 3, targetCPUUtilizationPercentage: 50 } },
  'rbac.authorization.k8s.io/v1/Role': { metadata: md(), rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
  'rbac.authorization.k8s.io/v1/RoleBinding': { metadata: md(), roleRef: { kind: 'Role', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'default' }, { kind: 'User', name: 'alice' }] },
  'rbac.authorization.k8s.io/v1/ClusterRole': { metadata: md('system:view', null), rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { metadata: md('b', null), roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'Group', name: 'devs' }] },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': { metadata: {}, spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { metadata: {}, spec: { namespace: 'default' } },
  'authorization.k8s.io/v1/SubjectAccessReview': { metadata: {}, spec: { user: 'alice', nonResourceAttributes: { path: '/', verb: 'get' } } },
  'authentication.k8s.io/v1/SelfSubjectReview': { metadata: {} },
  'authentication.k8s.io/v1/TokenReview': { metadata: {}, spec: { token: 't' } },
};

const keyOf = (r: { group: string; version: string; kind: string }) => `${r.group ? `${r.group}/` : ''}${r.version}/${r.kind}`;
const fmt = (c: StatusCause[]) => c.map((x) => `${x.field}: ${x.message} [${x.reason}]`).join('\n');

function defaulted(k: string): KObject {
  const o = structuredClone(VALID[k]);
  const [gv, kind] = [k.slice(0, k.lastIndexOf('/')), k.slice(k.lastIndexOf('/') + 1)];
  applyDefaults(info(gv, kind), o);
  return o;
}

test('a valid, defaulted object of every kind passes', () => {
  for (const r of RESOURCES) {
    const k = keyOf(r);
    assert.ok(VALID[k], `missing fixture for ${k}`);
    const o = defaulted(k);
    assert.deepEqual(fmt(validateObject(r, o)), '', k);
  }
});

type Case = [kind: string, mutate: (o: KObject) => void, field: string, reason: string, message?: string];
const CASES: Case[] = [
  // ObjectMeta
  ['v1/ConfigMap', (o) => { o.metadata.name = 'Foo_bar'; }, 'metadata.name', 'FieldValueInvalid',
    `Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`],
  ['v1/ConfigMap', (o) => { delete o.metadata.name; }, 'metadata.name', 'FieldValueRequired', 'Required value: name or generateName is required'],
  ['v1/ConfigMap', (o) => { delete o.metadata.name; o.metadata.generateName = 'Bad_'; }, 'metadata.generateName', 'FieldValueInvalid'],
  ['v1/ConfigMap', (o) => { delete o.metadata.namespace; }, 'metadata.namespace', 'FieldValueRequired', 'Required value'],
  ['v1/Namespace', (o) => { o.metadata.namespace = 'x'; }, 'metadata.namespace', 'FieldValueForbidden', 'Forbidden: not allowed on this type'],
  ['v1/Namespace', (o) => { o.metadata.name = 'a.b'; }, 'metadata.name', 'FieldValueInvalid'],
  ['v1/Service', (o) => { o.metadata.name = '1svc'; }, 'metadata.name', 'FieldValueInvalid'],
  ['rbac.authorization.k8s.io/v1/Role', (o) => { o.metadata.name = 'a/b'; }, 'metadata.name', 'FieldValueInvalid', `Invalid value: "a/b": may not contain '/'`],
  ['v1/ConfigMap', (o) => { o.metadata.labels = { 'bad key!': 'v' }; }, 'metadata.labels', 'FieldValueInvalid'],
  ['v1/ConfigMap', (o) => { o.metadata.labels = { k: 'x'.repeat(64) }; }, 'metadata.labels', 'FieldValueInvalid'],
  ['v1/ConfigMap', (o) => { (o.metadata as Record<string, unknown>).labels = { k: 5 }; }, 'metadata.labels[k]', 'FieldValueTypeInvalid'],
  ['v1/ConfigMap', (o) => { (o.metadata as Record<string, unknown>).labels = ['a']; }, 'metadata.labels', 'FieldValueTypeInvalid'],
  ['v1/ConfigMap', (o) => { o.metadata.annotations = { a: 'x'.repeat(256 * 1024) }; }, 'metadata.annotations', 'FieldValueTooLong'],
  ['v1/ConfigMap', (o) => { o.metadata.finalizers = ['bad finalizer']; }, 'metadata.finalizers', 'FieldValueInvalid'],
  ['v1/ConfigMap', (o) => { o.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Pod', name: 'p' }]; }, 'metadata.ownerReferences[0].uid', 'FieldValueInvalid', 'Invalid value: "": uid must not be empty'],
  ['v1/ConfigMap', (o) => { (o as Record<string, unknown>).metadata = 'str'; }, 'metadata', 'FieldValueTypeInvalid'],
  // Pod
  ['v1/Pod', (o) => { o.spec.containers = []; }, 'spec.containers', 'FieldValueRequired'],
  ['v1/Pod', (o) => { o.spec = 'nope'; }, 'spec', 'FieldValueTypeInvalid'],
  ['v1/Pod', (o) => { o.spec.containers[0].name = 'Bad'; }, 'spec.containers[0].name', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.containers.push({ name: 'c', image: 'x' }); }, 'spec.containers[1].name', 'FieldValueDuplicate', 'Duplicate value: "c"'],
  ['v1/Pod', (o) => { o.spec.initContainers = [{ name: 'c', image: 'x' }]; }, 'spec.containers[0].name', 'FieldValueDuplicate'],
  ['v1/Pod', (o) => { delete o.spec.containers[0].image; }, 'spec.containers[0].image', 'FieldValueRequired'],
  ['v1/Pod', (o) => { o.spec.containers[0].image = ' nginx'; }, 'spec.containers[0].image', 'FieldValueInvalid', 'Invalid value: " nginx": must not have leading or trailing whitespace'],
  ['v1/Pod', (o) => { o.spec.containers[0].ports[0].containerPort = 70000; }, 'spec.containers[0].ports[0].containerPort', 'FieldValueInvalid', 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
  ['v1/Pod', (o) => { o.spec.containers[0].ports[0].protocol = 'ICMP'; }, 'spec.containers[0].ports[0].protocol', 'FieldValueNotSupported', 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'],
  ['v1/Pod', (o) => { o.spec.restartPolicy = 'Sometimes'; }, 'spec.restartPolicy', 'FieldValueNotSupported'],
  ['v1/Pod', (o) => { o.spec.containers[0].resources = { requests: { cpu: '2' }, limits: { cpu: '1' } }; }, 'spec.containers[0].resources.requests[cpu]', 'FieldValueInvalid', 'Invalid value: "2": must be less than or equal to cpu limit of 1'],
  ['v1/Pod', (o) => { o.spec.containers[0].resources = { limits: { memory: '1Kb' } }; }, 'spec.containers[0].resources.limits[memory]', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.containers[0].resources = { limits: { memory: '-1' } }; }, 'spec.containers[0].resources.limits[memory]', 'FieldValueInvalid', 'Invalid value: "-1": must be greater than or equal to 0'],
  ['v1/Pod', (o) => { o.spec.containers[0].resources = { limits: { 'nvidia.com/gpu': '1' }, requests: { 'nvidia.com/gpu': '2' } }; }, 'spec.containers[0].resources.requests[nvidia.com/gpu]', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.containers[0].resources = { limits: { 'nvidia.com/gpu': '500m' } }; }, 'spec.containers[0].resources.limits[nvidia.com/gpu]', 'FieldValueInvalid', 'Invalid value: "500m": must be an integer'],
  ['v1/Pod', (o) => { o.spec.containers[0].resources = { limits: { gpu: '1' } }; }, 'spec.containers[0].resources.limits[gpu]', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.volumes = [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }]; }, 'spec.volumes[1].name', 'FieldValueDuplicate'],
  ['v1/Pod', (o) => { o.spec.volumes = [{ name: 'v' }]; }, 'spec.volumes[0]', 'FieldValueRequired', 'Required value: must specify a volume type'],
  ['v1/Pod', (o) => { o.spec.volumes = [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }]; }, 'spec.volumes[0].emptyDir', 'FieldValueForbidden'],
  ['v1/Pod', (o) => { o.spec.volumes = [{ name: 'v', configMap: {} }]; }, 'spec.volumes[0].configMap.name', 'FieldValueRequired'],
  ['v1/Pod', (o) => { o.spec.volumes = [{ name: 'v', secret: { secretName: 's', defaultMode: 1000 } }]; }, 'spec.volumes[0].secret.defaultMode', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.containers[0].volumeMounts = [{ name: 'nope', mountPath: '/x' }]; }, 'spec.containers[0].volumeMounts[0].name', 'FieldValueNotFound', 'Not found: "nope"'],
  ['v1/Pod', (o) => { o.spec.containers[0].livenessProbe = { periodSeconds: 5 }; }, 'spec.containers[0].livenessProbe', 'FieldValueRequired', 'Required value: must specify a handler type'],
  ['v1/Pod', (o) => { o.spec.containers[0].livenessProbe = { exec: { command: ['x'] }, tcpSocket: { port: 80 } }; }, 'spec.containers[0].livenessProbe.tcpSocket', 'FieldValueForbidden'],
  ['v1/Pod', (o) => { o.spec.containers[0].livenessProbe = { exec: { command: ['x'] }, successThreshold: 2 }; }, 'spec.containers[0].livenessProbe.successThreshold', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.containers[0].env = [{ name: 'A=B', value: 'x' }]; }, 'spec.containers[0].env[0].name', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.containers[0].env = [{ name: 'A', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.bogus' } } }]; }, 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', 'FieldValueNotSupported'],
  ['v1/Pod', (o) => { o.spec.tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }]; }, 'spec.tolerations[0].operator', 'FieldValueInvalid'],
  ['v1/Pod', (o) => { o.spec.dnsPolicy = 'None'; }, 'spec.dnsConfig', 'FieldValueRequired'],
  ['v1/Pod', (o) => { o.spec.ephemeralContainers = [{ name: 'e', image: 'busybox' }]; }, 'spec.ephemeralContainers', 'FieldValueForbidden', 'Forbidden: cannot be set on create'],
  // Workloads
  ['apps/v1/Deployment', (o) => { o.spec.template.metadata.labels = { app: 'b' }; }, 'spec.template.metadata.labels', 'FieldValueInvalid', 'Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`'],
  ['apps/v1/Deployment', (o) => { delete o.spec.selector; }, 'spec.selector', 'FieldValueRequired'],
  ['apps/v1/Deployment', (o) => { o.spec.selector = {}; }, 'spec.selector', 'FieldValueInvalid', 'Invalid value: {}: empty selector is invalid for deployment'],
  ['apps/v1/Deployment', (o) => { o.spec.replicas = -1; }, 'spec.replicas', 'FieldValueInvalid', 'Invalid value: -1: must be greater than or equal to 0'],
  ['apps/v1/Deployment', (o) => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } }; }, 'spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid', 'Invalid value: "0%": may not be 0 when `maxSurge` is 0'],
  ['apps/v1/Deployment', (o) => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '10', maxUnavailable: 1 } }; }, 'spec.strategy.rollingUpdate.maxSurge', 'FieldValueInvalid'],
  ['apps/v1/Deployment', (o) => { o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } }; }, 'spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid', 'Invalid value: "150%": must not be greater than 100%'],
  ['apps/v1/Deployment', (o) => { o.spec.strategy = { type: 'Blue' }; }, 'spec.strategy', 'FieldValueNotSupported'],
  ['apps/v1/Deployment', (o) => { o.spec.strategy = { type: 'Recreate', rollingUpdate: {} }; }, 'spec.strategy.rollingUpdate', 'FieldValueForbidden'],
  ['apps/v1/Deployment', (o) => { o.spec.template.spec.restartPolicy = 'Never'; }, 'spec.template.spec.restartPolicy', 'FieldValueNotSupported'],
  ['apps/v1/Deployment', (o) => { o.spec.template.spec.containers[0].image = ''; }, 'spec.template.spec.containers[0].image', 'FieldValueRequired'],
  ['apps/v1/StatefulSet', (o) => { o.spec.podManagementPolicy = 'Random'; }, 'spec.podManagementPolicy', 'FieldValueInvalid'],
  ['apps/v1/DaemonSet', (o) => { o.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } }; }, 'spec.updateStrategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid'],
  ['batch/v1/Job', (o) => { o.spec.parallelism = -1; }, 'spec.parallelism', 'FieldValueInvalid'],
  ['batch/v1/Job', (o) => { o.spec.completionMode = 'Sometimes'; }, 'spec.completionMode', 'FieldValueNotSupported'],
  ['batch/v1/Job', (o) => { o.spec.completionMode = 'Indexed'; delete o.spec.completions; }, 'spec.completions', 'FieldValueRequired', 'Required value: when completion mode is Indexed'],
  ['batch/v1/Job', (o) => { o.spec.template.spec.restartPolicy = 'Always'; }, 'spec.template.spec.restartPolicy', 'FieldValueNotSupported', 'Unsupported value: "Always": supported values: "OnFailure", "Never"'],
  ['batch/v1/Job', (o) => { o.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': 'other' } }; }, 'spec.selector', 'FieldValueInvalid'],
  ['batch/v1/CronJob', (o) => { o.spec.schedule = 'every minute'; }, 'spec.schedule', 'FieldValueInvalid', 'Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]'],
  ['batch/v1/CronJob', (o) => { o.spec.schedule = ''; }, 'spec.schedule', 'FieldValueRequired'],
  ['batch/v1/CronJob', (o) => { o.spec.timeZone = 'Nowhere/Land'; }, 'spec.timeZone', 'FieldValueInvalid'],
  ['batch/v1/CronJob', (o) => { o.spec.concurrencyPolicy = 'Sometimes'; }, 'spec.concurrencyPolicy', 'FieldValueNotSupported'],
  ['batch/v1/CronJob', (o) => { o.spec.schedule = 'CRON_TZ=UTC 0 * * * *'; }, 'spec.schedule', 'FieldValueInvalid'],
  ['batch/v1/CronJob', (o) => { o.metadata.name = 'x'.repeat(53); }, 'metadata.name', 'FieldValueInvalid', `Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`],
  // Service
  ['v1/Service', (o) => { o.spec.ports = []; }, 'spec.ports', 'FieldValueRequired'],
  ['v1/Service', (o) => { o.spec.ports[0].port = 0; }, 'spec.ports[0].port', 'FieldValueInvalid'],
  ['v1/Service', (o) => { delete o.spec.ports[1].name; }, 'spec.ports[1].name', 'FieldValueRequired'],
  ['v1/Service', (o) => { o.spec.ports[1].name = 'http'; }, 'spec.ports[1].name', 'FieldValueDuplicate'],
  ['v1/Service', (o) => { o.spec.type = 'Magic'; }, 'spec.type', 'FieldValueNotSupported'],
  ['v1/Service', (o) => { o.spec.type = 'NodePort'; o.spec.ports[0].nodePort = 70000; }, 'spec.ports[0].nodePort', 'FieldValueInvalid', 'Invalid value: 70000: must be between 1 and 65535, inclusive'],
  ['v1/Service', (o) => { o.spec.clusterIP = '300.1.1.1'; }, 'spec.clusterIP', 'FieldValueInvalid'],
  ['v1/Service', (o) => { o.spec.selector = { 'a b': 'c' }; }, 'spec.selector', 'FieldValueInvalid'],
  // ConfigMap / Secret
  ['v1/ConfigMap', (o) => { o.data = { 'a/b': 'x' }; }, 'data[a/b]', 'FieldValueInvalid'],
  ['v1/ConfigMap', (o) => { o.data = { big: 'x'.repeat(1024 * 1024 + 1) }; }, '', 'FieldValueTooLong'],
  ['v1/ConfigMap', (o) => { o.data = ['x']; }, 'data', 'FieldValueTypeInvalid'],
  ['v1/Secret', (o) => { o.data['tls.key'] = 'not base64!'; }, 'data[tls.key]', 'FieldValueInvalid'],
  ['v1/Secret', (o) => { delete o.data['tls.crt']; }, 'data[tls.crt]', 'FieldValueRequired'],
  ['v1/Namespace', (o) => { o.spec = { finalizers: ['custom'] }; }, 'spec.finalizers', 'FieldValueInvalid'],
  ['v1/Node', (o) => { o.spec.taints[0].effect = 'Never'; }, 'spec.taints[0].effect', 'FieldValueNotSupported'],
  ['v1/Endpoints', (o) => { o.subsets[0].addresses[0].ip = 'x'; }, 'subsets[0].addresses[0].ip', 'FieldValueInvalid'],
  ['v1/Event', (o) => { o.involvedObject.namespace = 'other'; }, 'involvedObject.namespace', 'FieldValueInvalid'],
  ['v1/ResourceQuota', (o) => { o.spec.hard.pods = '1.5'; }, 'spec.hard[pods]', 'FieldValueInvalid', 'Invalid value: "1500m": must be an integer'],
  ['v1/ResourceQuota', (o) => { o.spec.hard.widgets = '1'; }, 'spec.hard[widgets]', 'FieldValueInvalid'],
  ['v1/ResourceQuota', (o) => { o.spec.hard.cpu = 'lots'; }, 'spec.hard[cpu]', 'FieldValueInvalid'],
  ['v1/LimitRange', (o) => { o.spec.limits[0].min = { cpu: '3' }; }, 'spec.limits[0].min[cpu]', 'FieldValueInvalid', 'Invalid value: "3": min value 3 is greater than max value 2'],
  ['v1/LimitRange', (o) => { o.spec.limits[0].type = 'Thing'; }, 'spec.limits[0].type', 'FieldValueNotSupported'],
  ['v1/PersistentVolume', (o) => { delete o.spec.accessModes; }, 'spec.accessModes', 'FieldValueRequired'],
  ['v1/PersistentVolume', (o) => { delete o.spec.hostPath; }, 'spec', 'FieldValueRequired'],
  ['v1/PersistentVolumeClaim', (o) => { o.spec.accessModes = []; }, 'spec.accessModes', 'FieldValueRequired', 'Required value: at least 1 access mode is required'],
  ['v1/PersistentVolumeClaim', (o) => { o.spec.resources.requests = {}; }, 'spec.resources[storage]', 'FieldValueRequired'],
  ['v1/PersistentVolumeClaim', (o) => { o.spec.accessModes = ['ReadWriteSometimes']; }, 'spec.accessModes', 'FieldValueNotSupported'],
  // Others
  ['networking.k8s.io/v1/Ingress', (o) => { delete o.spec.rules[0].http.paths[0].pathType; }, 'spec.rules[0].http.paths[0].pathType', 'FieldValueRequired', 'Required value: pathType must be specified'],
  ['networking.k8s.io/v1/Ingress', (o) => { o.spec.rules[0].http.paths[0].path = 'api'; }, 'spec.rules[0].http.paths[0].path', 'FieldValueInvalid', 'Invalid value: "api": must be an absolute path'],
  ['networking.k8s.io/v1/Ingress', (o) => { o.spec.rules[0].http.paths[0].pathType = 'Regex'; }, 'spec.rules[0].http.paths[0].pathType', 'FieldValueNotSupported'],
  ['networking.k8s.io/v1/Ingress', (o) => { o.spec.rules[0].http.paths[0].backend = { service: { name: 'svc', port: {} } }; }, 'spec.rules[0].http.paths[0].backend', 'FieldValueRequired'],
  ['networking.k8s.io/v1/Ingress', (o) => { o.spec.rules[0].http.paths[0].backend = {}; }, 'spec.rules[0].http.paths[0].backend', 'FieldValueInvalid'],
  ['networking.k8s.io/v1/Ingress', (o) => { o.spec.rules = []; }, 'spec', 'FieldValueInvalid'],
  ['networking.k8s.io/v1/Ingress', (o) => { o.spec.rules[0].host = '10.0.0.1'; }, 'spec.rules[0].host', 'FieldValueInvalid'],
  ['networking.k8s.io/v1/IngressClass', (o) => { o.spec.controller = ''; }, 'spec.controller', 'FieldValueRequired'],
  ['networking.k8s.io/v1/NetworkPolicy', (o) => { o.spec.ingress[0].from[0].ipBlock.cidr = 'x'; }, 'spec.ingress[0].from[0].ipBlock.cidr', 'FieldValueInvalid'],
  ['networking.k8s.io/v1/NetworkPolicy', (o) => { o.spec.ingress[0].from[0].podSelector = {}; }, 'spec.ingress[0].from[0]', 'FieldValueForbidden'],
  ['networking.k8s.io/v1/NetworkPolicy', (o) => { o.spec.policyTypes = ['Sideways']; }, 'spec.policyTypes[0]', 'FieldValueNotSupported'],
  ['coordination.k8s.io/v1/Lease', (o) => { o.spec.leaseDurationSeconds = 0; }, 'spec.leaseDurationSeconds', 'FieldValueInvalid'],
  ['discovery.k8s.io/v1/EndpointSlice', (o) => { o.addressType = 'IPv5'; }, 'addressType', 'FieldValueNotSupported'],
  ['discovery.k8s.io/v1/EndpointSlice', (o) => { o.endpoints[0].addresses = ['fe80::1']; }, 'endpoints[0].addresses[0]', 'FieldValueInvalid'],
  ['scheduling.k8s.io/v1/PriorityClass', (o) => { o.value = 2000000000; }, 'value', 'FieldValueForbidden', 'Forbidden: maximum allowed value of a user defined priority is 1000000000'],
  ['scheduling.k8s.io/v1/PriorityClass', (o) => { o.metadata.name = 'system-mine'; }, 'metadata.name', 'FieldValueForbidden'],
  ['events.k8s.io/v1/Event', (o) => { delete o.reportingController; }, 'reportingController', 'FieldValueRequired'],
  ['policy/v1/PodDisruptionBudget', (o) => { o.spec.maxUnavailable = 1; }, 'spec', 'FieldValueInvalid'],
  ['policy/v1/PodDisruptionBudget', (o) => { o.spec.minAvailable = '120%'; }, 'spec.minAvailable', 'FieldValueInvalid'],
  ['autoscaling/v2/HorizontalPodAutoscaler', (o) => { o.spec.maxReplicas = 0; }, 'spec.maxReplicas', 'FieldValueInvalid', 'Invalid value: 0: must be greater than 0'],
  ['autoscaling/v2/HorizontalPodAutoscaler', (o) => { o.spec.minReplicas = 6; }, 'spec.maxReplicas', 'FieldValueInvalid', 'Invalid value: 5: must be greater than or equal to `minReplicas`'],
  ['autoscaling/v2/HorizontalPodAutoscaler', (o) => { delete o.spec.scaleTargetRef.kind; }, 'spec.scaleTargetRef.kind', 'FieldValueRequired'],
  ['autoscaling/v2/HorizontalPodAutoscaler', (o) => { o.spec.metrics[0].type = 'Magic'; }, 'spec.metrics[0].type', 'FieldValueNotSupported'],
  ['rbac.authorization.k8s.io/v1/Role', (o) => { o.rules[0].verbs = []; }, 'rules[0].verbs', 'FieldValueRequired', 'Required value: verbs must contain at least one value'],
  ['rbac.authorization.k8s.io/v1/Role', (o) => { o.rules[0] = { nonResourceURLs: ['/x'], verbs: ['get'] }; }, 'rules[0].nonResourceURLs', 'FieldValueInvalid'],
  ['rbac.authorization.k8s.io/v1/RoleBinding', (o) => { o.roleRef.kind = 'Thing'; }, 'roleRef.kind', 'FieldValueNotSupported'],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', (o) => { o.subjects = [{ kind: 'ServiceAccount', name: 'sa' }]; }, 'subjects[0].namespace', 'FieldValueRequired'],
  ['authorization.k8s.io/v1/SubjectAccessReview', (o) => { o.spec = {}; }, 'spec.resourceAttributes', 'FieldValueInvalid'],
];

test('invalid objects: field, reason and message as upstream', () => {
  for (const [k, mutate, field, reason, message] of CASES) {
    const o = defaulted(k);
    mutate(o);
    const [gv, kind] = [k.slice(0, k.lastIndexOf('/')), k.slice(k.lastIndexOf('/') + 1)];
    const causes = validateObject(info(gv, kind), o);
    const hit = causes.find((c) => c.field === field && c.reason === reason && (message === undefined || c.message === message));
    assert.ok(hit, `${k} ${field} ${reason}${message ? ` "${message}"` : ''}\n got:\n${fmt(causes)}`);
  }
});
