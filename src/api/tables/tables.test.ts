import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../errors.js';
import { findKind, RESOURCES } from '../resources.js';
import type { ResourceInfo } from '../resources.js';
import { hasPrinter, printerFor, tableColumnsOnly, toTable } from './index.js';

const NOW = new Date('2024-05-01T12:00:00Z');
/** RFC 3339 timestamp `ago` before NOW, e.g. ago('5m'). */
function ago(spec: string): string {
  const m = /^(\d+)([smhd])$/.exec(spec)!;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return new Date(NOW.getTime() - Number(m[1]) * unit).toISOString();
}

function info(group: string, version: string, kind: string): ResourceInfo {
  const r = findKind(group, version, kind);
  assert.ok(r, `${group}/${version}/${kind}`);
  return r;
}

function row(i: ResourceInfo, obj: KObject) {
  const t = toTable(i, [obj], { now: NOW });
  assert.equal(t.rows.length, 1);
  assert.equal(t.rows[0]!.cells.length, t.columnDefinitions.length, 'one cell per column');
  return t.rows[0]!;
}

const POD = info('', 'v1', 'Pod');
const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: ago('5m'), ...extra });
const running = { running: { startedAt: ago('4m') } };

describe('pods', () => {
  it('columns as upstream, Name formatted as name, wide columns at priority 1', () => {
    const t = tableColumnsOnly(POD);
    assert.deepEqual(
      t.columnDefinitions.map((c) => [c.name, c.type, c.format, c.priority]),
      [
        ['Name', 'string', 'name', 0],
        ['Ready', 'string', '', 0],
        ['Status', 'string', '', 0],
        ['Restarts', 'string', '', 0],
        ['Age', 'string', '', 0],
        ['IP', 'string', '', 1],
        ['Node', 'string', '', 1],
        ['Nominated Node', 'string', '', 1],
        ['Readiness Gates', 'string', '', 1],
      ],
    );
    assert.ok(t.columnDefinitions[0]!.description.startsWith('Name must be unique within a namespace.'));
    assert.deepEqual(t.rows, []);
  });

  const cases: Array<[string, KObject, unknown[]]> = [
    [
      'running 2/2',
      {
        metadata: meta('web-1'),
        spec: { nodeName: 'node-a', containers: [{ name: 'app' }, { name: 'sidecar' }] },
        status: {
          phase: 'Running',
          podIP: '10.0.0.5',
          podIPs: [{ ip: '10.0.0.5' }],
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { name: 'app', ready: true, restartCount: 0, state: running },
            { name: 'sidecar', ready: true, restartCount: 0, state: running },
          ],
        },
      },
      ['web-1', '2/2', 'Running', '0', '5m', '10.0.0.5', 'node-a', '<none>', '<none>'],
    ],
    [
      'CrashLoopBackOff with restarts',
      {
        metadata: meta('crash'),
        spec: { nodeName: 'node-a', containers: [{ name: 'app' }] },
        status: {
          phase: 'Running',
          podIPs: [{ ip: '10.0.0.6' }],
          containerStatuses: [
            {
              name: 'app',
              ready: false,
              restartCount: 5,
              state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s' } },
              lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago('2m') } },
            },
          ],
        },
      },
      ['crash', '0/1', 'CrashLoopBackOff', '5 (2m ago)', '5m', '10.0.0.6', 'node-a', '<none>', '<none>'],
    ],
    [
      'Init:0/1',
      {
        metadata: meta('init'),
        spec: { nodeName: 'node-a', initContainers: [{ name: 'setup' }], containers: [{ name: 'app' }] },
        status: {
          phase: 'Pending',
          conditions: [{ type: 'Initialized', status: 'False' }],
          initContainerStatuses: [{ name: 'setup', ready: false, restartCount: 0, state: running }],
          containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
        },
      },
      ['init', '0/1', 'Init:0/1', '0', '5m', '<none>', 'node-a', '<none>', '<none>'],
    ],
    [
      'Terminating',
      {
        metadata: meta('bye', { deletionTimestamp: ago('10s'), deletionGracePeriodSeconds: 30 }),
        spec: { nodeName: 'node-a', containers: [{ name: 'app' }] },
        status: { phase: 'Running', podIPs: [{ ip: '10.0.0.7' }], containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }] },
      },
      ['bye', '1/1', 'Terminating', '0', '5m', '10.0.0.7', 'node-a', '<none>', '<none>'],
    ],
    [
      'Pending, unscheduled',
      { metadata: meta('pending'), spec: { containers: [{ name: 'app' }] }, status: { phase: 'Pending' } },
      ['pending', '0/1', 'Pending', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'ContainerCreating',
      {
        metadata: meta('creating'),
        spec: { nodeName: 'n', containers: [{ name: 'app' }] },
        status: { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
      },
      ['creating', '0/1', 'ContainerCreating', '0', '5m', '<none>', 'n', '<none>', '<none>'],
    ],
    [
      'evicted (pod reason wins)',
      { metadata: meta('ev'), spec: { containers: [{ name: 'app' }] }, status: { phase: 'Failed', reason: 'Evicted' } },
      ['ev', '0/1', 'Evicted', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'SchedulingGated',
      { metadata: meta('gated'), spec: { containers: [{ name: 'app' }] }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } },
      ['gated', '0/1', 'SchedulingGated', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'terminated without reason shows the exit code',
      {
        metadata: meta('oops'),
        spec: { containers: [{ name: 'app' }] },
        status: { phase: 'Failed', containerStatuses: [{ name: 'app', restartCount: 0, state: { terminated: { exitCode: 137 } } }] },
      },
      ['oops', '0/1', 'ExitCode:137', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'Completed while a sidecar runs: Running when Ready',
      {
        metadata: meta('mixed'),
        spec: { containers: [{ name: 'a' }, { name: 'b' }] },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { name: 'a', ready: true, restartCount: 0, state: running },
            { name: 'b', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          ],
        },
      },
      ['mixed', '1/2', 'Running', '0', '5m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'failed init container',
      {
        metadata: meta('initfail'),
        spec: { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'app' }] },
        status: {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'i1', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            { name: 'i2', restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago('30s') } } },
          ],
        },
      },
      ['initfail', '0/1', 'Init:CrashLoopBackOff', '3 (30s ago)', '5m', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'native sidecar counted in READY',
      {
        metadata: meta('sidecar'),
        spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'app' }], readinessGates: [{ conditionType: 'example.com/lb' }] },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }, { type: 'example.com/lb', status: 'True' }],
          initContainerStatuses: [{ name: 'proxy', ready: true, started: true, restartCount: 1, state: running }],
          containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }],
        },
      },
      ['sidecar', '2/2', 'Running', '1', '5m', '<none>', '<none>', '<none>', '1/1'],
    ],
  ];
  for (const [name, obj, cells] of cases) it(name, () => assert.deepEqual(row(POD, obj).cells, cells));

  it('succeeded pods carry the Completed row condition', () => {
    const r = row(POD, {
      metadata: meta('done'),
      spec: { containers: [{ name: 'app' }] },
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'app', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    });
    assert.equal(r.cells[2], 'Completed');
    assert.deepEqual(r.conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
  });

  it('node-lost pods being deleted show Unknown', () => {
    const r = row(POD, { metadata: meta('lost', { deletionTimestamp: ago('1m') }), spec: { containers: [] }, status: { phase: 'Running', reason: 'NodeLost' } });
    assert.equal(r.cells[2], 'Unknown');
  });
});

describe('includeObject and table metadata', () => {
  const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: meta('p', { labels: { a: 'b' } }), spec: { containers: [] }, status: {} };
  it('defaults to PartialObjectMetadata', () => {
    const t = toTable(POD, [pod], { now: NOW, resourceVersion: '42', continue: 'tok', remainingItemCount: 3 });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.metadata, { resourceVersion: '42', continue: 'tok', remainingItemCount: 3 });
    assert.deepEqual(t.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata });
  });
  it('Object carries the whole object; None carries none', () => {
    assert.equal(toTable(POD, [pod], { now: NOW, includeObject: 'Object' }).rows[0]!.object, pod);
    assert.equal('object' in toTable(POD, [pod], { now: NOW, includeObject: 'None' }).rows[0]!, false);
  });
  it('noHeaders drops column definitions', () => {
    assert.deepEqual(toTable(POD, [pod], { now: NOW, noHeaders: true }).columnDefinitions, []);
  });
  it('column definitions are copies (callers may mutate them)', () => {
    toTable(POD, [], {}).columnDefinitions[0]!.name = 'mutated';
    assert.equal(tableColumnsOnly(POD).columnDefinitions[0]!.name, 'Name');
  });
});

describe('workloads', () => {
  const DEPLOY = info('apps', 'v1', 'Deployment');
  it('deployment 2/3 with wide columns', () => {
    const d: KObject = {
      metadata: meta('web', { creationTimestamp: ago('10m') }),
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }, { name: 'log', image: 'busybox' }] } },
      },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    };
    assert.deepEqual(row(DEPLOY, d).cells, ['web', '2/3', 3, 2, '10m', 'nginx,log', 'nginx:1.25,busybox', 'app=web']);
    assert.deepEqual(
      tableColumnsOnly(DEPLOY).columnDefinitions.map((c) => c.name),
      ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector'],
    );
  });

  it('replicaset, statefulset, daemonset, controllerrevision', () => {
    const tmpl = { spec: { containers: [{ name: 'c', image: 'i' }], nodeSelector: { 'kubernetes.io/os': 'linux' } } };
    assert.deepEqual(
      row(info('apps', 'v1', 'ReplicaSet'), { metadata: meta('rs'), spec: { replicas: 2, selector: { matchLabels: { app: 'x' } }, template: tmpl }, status: { replicas: 2, readyReplicas: 1 } }).cells,
      ['rs', 2, 2, 1, '5m', 'c', 'i', 'app=x'],
    );
    assert.deepEqual(row(info('apps', 'v1', 'StatefulSet'), { metadata: meta('db'), spec: { template: tmpl }, status: {} }).cells, ['db', '0/1', '5m', 'c', 'i']);
    assert.deepEqual(
      row(info('apps', 'v1', 'DaemonSet'), {
        metadata: meta('ds'),
        spec: { selector: { matchLabels: { app: 'ds' } }, template: tmpl },
        status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
      }).cells,
      ['ds', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '5m', 'c', 'i', 'app=ds'],
    );
    assert.deepEqual(
      row(info('apps', 'v1', 'ControllerRevision'), {
        metadata: meta('db-7d9f', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u', controller: true }] }),
        revision: 2,
      }).cells,
      ['db-7d9f', 'statefulset.apps/db', 2, '5m'],
    );
  });

  const JOB = info('batch', 'v1', 'Job');
  const job = (status: Record<string, unknown>, extra: Record<string, unknown> = {}): KObject => ({
    metadata: meta('pi', { creationTimestamp: ago('2m') }),
    spec: {
      completions: 1,
      parallelism: 1,
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } },
      template: { spec: { containers: [{ name: 'pi', image: 'perl:5.34' }] } },
      ...extra,
    },
    status,
  });
  it('job complete', () => {
    const j = job({ succeeded: 1, startTime: ago('2m'), completionTime: ago('90s'), conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }] });
    assert.deepEqual(row(JOB, j).cells, ['pi', 'Complete', '1/1', '30s', '2m', 'pi', 'perl:5.34', 'batch.kubernetes.io/controller-uid=u1']);
  });
  it('job running / failed / suspended and completions forms', () => {
    assert.deepEqual(row(JOB, job({ active: 1, startTime: ago('45s') })).cells.slice(1, 4), ['Running', '0/1', '45s']);
    assert.deepEqual(row(JOB, job({ failed: 1, conditions: [{ type: 'Failed', status: 'True' }] })).cells.slice(1, 4), ['Failed', '0/1', '']);
    assert.deepEqual(row(JOB, job({ conditions: [{ type: 'Suspended', status: 'True' }] })).cells[1], 'Suspended');
    assert.deepEqual(row(JOB, job({ succeeded: 2 }, { completions: undefined, parallelism: 3 })).cells[2], '2/1 of 3');
    assert.deepEqual(row(JOB, job({}, { completions: undefined, parallelism: undefined })).cells[2], '0/1');
  });

  it('cronjob', () => {
    const cj: KObject = {
      metadata: meta('hello'),
      spec: { schedule: '*/1 * * * *', suspend: false, jobTemplate: { spec: { template: { spec: { containers: [{ name: 'hello', image: 'busybox' }] } } } } },
      status: { active: [{ name: 'hello-1' }], lastScheduleTime: ago('40s') },
    };
    assert.deepEqual(row(info('batch', 'v1', 'CronJob'), cj).cells, ['hello', '*/1 * * * *', '<none>', 'False', 1, '40s', '5m', 'hello', 'busybox', '<none>']);
  });
});

describe('core kinds', () => {
  it('service with NodePort ports', () => {
    const svc: KObject = {
      metadata: meta('web', { creationTimestamp: ago('3h') }),
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.12.7',
        clusterIPs: ['10.96.12.7'],
        selector: { app: 'web' },
        ports: [
          { port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' },
          { port: 53, protocol: 'UDP', nodePort: 30053 },
        ],
      },
    };
    assert.deepEqual(row(info('', 'v1', 'Service'), svc).cells, ['web', 'NodePort', '10.96.12.7', '<none>', '80:30080/TCP,53:30053/UDP', '3h', 'app=web']);
  });
  it('service variants: headless, LoadBalancer pending/ready, ExternalName', () => {
    const SVC = info('', 'v1', 'Service');
    assert.deepEqual(row(SVC, { metadata: meta('h'), spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432, protocol: 'TCP' }] } }).cells.slice(1, 5), ['ClusterIP', 'None', '<none>', '5432/TCP']);
    assert.equal(row(SVC, { metadata: meta('lb'), spec: { type: 'LoadBalancer', clusterIPs: ['10.0.0.1'], ports: [] } }).cells[3], '<pending>');
    assert.equal(
      row(SVC, { metadata: meta('lb'), spec: { type: 'LoadBalancer', externalIPs: ['9.9.9.9'] }, status: { loadBalancer: { ingress: [{ ip: '2.2.2.2' }, { hostname: 'a.example.com' }] } } }).cells[3],
      '2.2.2.2,a.example.com,9.9.9.9',
    );
    assert.deepEqual(row(SVC, { metadata: meta('ext'), spec: { type: 'ExternalName', externalName: 'db.example.com' } }).cells.slice(1, 5), ['ExternalName', '<none>', 'db.example.com', '<none>']);
  });

  const NODE = info('', 'v1', 'Node');
  it('node Ready,SchedulingDisabled with roles', () => {
    const node: KObject = {
      metadata: { name: 'cp-1', creationTimestamp: ago('35d'), labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'master', 'kubernetes.io/hostname': 'cp-1' } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
        addresses: [{ type: 'Hostname', address: 'cp-1' }, { type: 'InternalIP', address: '192.168.1.10' }],
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Ubuntu 24.04 LTS', kernelVersion: '6.8.0', containerRuntimeVersion: 'containerd://1.7.2' },
      },
    };
    assert.deepEqual(row(NODE, node).cells, ['cp-1', 'Ready,SchedulingDisabled', 'control-plane,master', '35d', 'v1.32.0', '192.168.1.10', '<none>', 'Ubuntu 24.04 LTS', '6.8.0', 'containerd://1.7.2']);
  });
  it('node NotReady / Unknown', () => {
    assert.equal(row(NODE, { metadata: { name: 'n' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }).cells[1], 'NotReady');
    assert.deepEqual(row(NODE, { metadata: { name: 'n' } }).cells.slice(1, 4), ['Unknown', '<none>', '<unknown>']);
  });

  it('namespace, configmap, secret, serviceaccount', () => {
    assert.deepEqual(row(info('', 'v1', 'Namespace'), { metadata: { name: 'prod', creationTimestamp: ago('2d') }, status: { phase: 'Active' } }).cells, ['prod', 'Active', '2d']);
    assert.deepEqual(row(info('', 'v1', 'ConfigMap'), { metadata: meta('cm'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }).cells, ['cm', 3, '5m']);
    assert.deepEqual(row(info('', 'v1', 'Secret'), { metadata: meta('s'), type: 'Opaque', data: { a: 'MQ==' } }).cells, ['s', 'Opaque', 1, '5m']);
    assert.deepEqual(row(info('', 'v1', 'ServiceAccount'), { metadata: meta('sa'), secrets: [{ name: 'x' }] }).cells, ['sa', 1, '5m']);
  });

  it('endpoints', () => {
    const EP = info('', 'v1', 'Endpoints');
    const ep = (addrs: string[], ports: number[]) => ({ metadata: meta('e'), subsets: [{ addresses: addrs.map((ip) => ({ ip })), ports: ports.map((port) => ({ port })) }] });
    assert.equal(row(EP, { metadata: meta('e') }).cells[1], '<none>');
    assert.equal(row(EP, ep(['10.0.0.1', 'fd00::1'], [80])).cells[1], '10.0.0.1:80,[fd00::1]:80');
    assert.equal(row(EP, ep(['1.1.1.1', '1.1.1.2', '1.1.1.3'], [80, 443])).cells[1], '1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 3 more...');
  });

  it('events: LAST SEEN TYPE REASON OBJECT MESSAGE (+ wide)', () => {
    const ev: KObject = {
      metadata: { name: 'web-1.17a', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', fieldPath: 'spec.containers{app}' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container\n',
      type: 'Warning',
      source: { component: 'kubelet', host: 'node-a' },
      firstTimestamp: ago('10m'),
      lastTimestamp: ago('30s'),
      count: 7,
    };
    const EV = info('', 'v1', 'Event');
    assert.deepEqual(row(EV, ev).cells, ['30s', 'Warning', 'BackOff', 'pod/web-1', 'spec.containers{app}', 'kubelet, node-a', 'Back-off restarting failed container', '10m', 7, 'web-1.17a']);
    assert.deepEqual(
      tableColumnsOnly(EV).columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name),
      ['Last Seen', 'Type', 'Reason', 'Object', 'Message'],
    );
    // New-style events: eventTime, series, reportingController; events.k8s.io shape prints the same.
    const v1: KObject = {
      metadata: { name: 'x' },
      regarding: { kind: 'Node', name: 'n1' },
      note: 'Starting kubelet.',
      reason: 'Starting',
      type: 'Normal',
      eventTime: ago('5m'),
      reportingController: 'kubelet',
      reportingInstance: 'n1',
      series: { count: 3, lastObservedTime: ago('1m') }, // 60s: under two minutes prints seconds
    };
    assert.deepEqual(row(info('events.k8s.io', 'v1', 'Event'), v1).cells, ['60s', 'Normal', 'Starting', 'node/n1', '', 'kubelet, n1', 'Starting kubelet.', '5m', 3, 'x']);
  });

  it('resourcequota, PV, PVC', () => {
    assert.deepEqual(
      row(info('', 'v1', 'ResourceQuota'), {
        metadata: meta('q'),
        status: { hard: { 'requests.cpu': '4', pods: '10', 'limits.memory': '8Gi' }, used: { 'requests.cpu': '0.5', 'limits.memory': '1.5Gi' } },
      }).cells,
      // Quantities print canonically, as Quantity.String() does: 0.5 → 500m, 1.5Gi → 1536Mi.
      ['q', 'pods: 0/10, requests.cpu: 500m/4', 'limits.memory: 1536Mi/8Gi', '5m'],
    );
    assert.deepEqual(
      row(info('', 'v1', 'PersistentVolume'), {
        metadata: { name: 'pv1', creationTimestamp: ago('1h') },
        spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'default', name: 'data' }, storageClassName: 'fast', volumeMode: 'Filesystem' },
        status: { phase: 'Bound' },
      }).cells,
      ['pv1', '10Gi', 'RWO,RWX', 'Retain', 'Bound', 'default/data', 'fast', '<unset>', '', '60m', 'Filesystem'],
    );
    assert.deepEqual(
      row(info('', 'v1', 'PersistentVolumeClaim'), {
        metadata: meta('data'),
        spec: { volumeName: 'pv1', storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } },
        status: { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'] },
      }).cells,
      ['data', 'Bound', 'pv1', '10Gi', 'RWO', 'fast', '<unset>', '5m', '<unset>'],
    );
  });
});

describe('other kinds', () => {
  it('ingress and ingressclass', () => {
    assert.deepEqual(
      row(info('networking.k8s.io', 'v1', 'Ingress'), {
        metadata: meta('ing'),
        spec: { ingressClassName: 'nginx', rules: [{ host: 'a.com' }, { host: 'b.com' }, {}, { host: 'd.com' }, { host: 'e.com' }], tls: [{ hosts: ['a.com'] }] },
        status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
      }).cells,
      ['ing', 'nginx', 'a.com,b.com,d.com + 2 more...', '1.2.3.4', '80, 443', '5m'],
    );
    assert.deepEqual(row(info('networking.k8s.io', 'v1', 'Ingress'), { metadata: meta('i'), spec: {} }).cells.slice(1, 5), ['<none>', '*', '', '80']);
    assert.deepEqual(
      row(info('networking.k8s.io', 'v1', 'IngressClass'), { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } }).cells.slice(0, 3),
      ['nginx', 'k8s.io/ingress-nginx', 'IngressParameters.k8s.example.com/p'],
    );
  });

  it('networkpolicy, lease, endpointslice, priorityclass, pdb', () => {
    assert.deepEqual(row(info('networking.k8s.io', 'v1', 'NetworkPolicy'), { metadata: meta('deny'), spec: { podSelector: {} } }).cells, ['deny', '<none>', '5m']);
    assert.deepEqual(row(info('coordination.k8s.io', 'v1', 'Lease'), { metadata: meta('l'), spec: { holderIdentity: 'node-a' } }).cells, ['l', 'node-a', '5m']);
    assert.deepEqual(
      row(info('discovery.k8s.io', 'v1', 'EndpointSlice'), {
        metadata: meta('web-abc'),
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 80 }, { name: 'named' }, {}],
        endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2', '10.0.0.3', '10.0.0.4'] }],
      }).cells,
      ['web-abc', 'IPv4', '80,named,*', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '5m'],
    );
    assert.deepEqual(row(info('discovery.k8s.io', 'v1', 'EndpointSlice'), { metadata: meta('e'), addressType: 'IPv4' }).cells.slice(2, 4), ['<unset>', '<unset>']);
    assert.deepEqual(
      row(info('scheduling.k8s.io', 'v1', 'PriorityClass'), { metadata: { name: 'high', creationTimestamp: ago('1d') }, value: 1000000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' }).cells,
      ['high', 1000000, false, '24h', 'PreemptLowerPriority'],
    );
    assert.deepEqual(row(info('policy', 'v1', 'PodDisruptionBudget'), { metadata: meta('pdb'), spec: { minAvailable: '50%' }, status: { disruptionsAllowed: 1 } }).cells, ['pdb', '50%', 'N/A', 1, '5m']);
  });

  it('HPA v2 and v1', () => {
    const v2: KObject = {
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } },
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
        ],
      },
      status: { currentReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42, averageValue: '120m' } } }] },
    };
    assert.deepEqual(row(info('autoscaling', 'v2', 'HorizontalPodAutoscaler'), v2).cells, ['web', 'Deployment/web', 'cpu: 42%/60%, memory: <unknown>/500Mi + 1 more...', '2', 10, 3, '5m']);
    const v1: KObject = {
      apiVersion: 'autoscaling/v1',
      metadata: meta('web'),
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 50 },
      status: { currentReplicas: 1, currentCPUUtilizationPercentage: 12 },
    };
    assert.deepEqual(row(info('autoscaling', 'v1', 'HorizontalPodAutoscaler'), v1).cells, ['web', 'Deployment/web', 'cpu: 12%/50%', '1', 5, 1, '5m']);
  });

  it('scale subresource', () => {
    const SCALE = { group: 'autoscaling', version: 'v1', kind: 'Scale' } as ResourceInfo;
    const t = toTable(SCALE, [{ kind: 'Scale', metadata: meta('web'), spec: { replicas: 3 }, status: { replicas: 2, selector: 'app=web' } }], { now: NOW });
    assert.deepEqual(t.columnDefinitions.map((c) => c.name), ['Name', 'Desired', 'Available', 'Age']);
    assert.deepEqual(t.rows[0]!.cells, ['web', 3, 2, '5m']);
  });

  it('rolebinding / clusterrolebinding; roles use the default table', () => {
    const rb: KObject = {
      metadata: meta('rb'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'Group', name: 'devs' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'tools' },
        { kind: 'User', name: 'bob' },
      ],
    };
    assert.deepEqual(row(info('rbac.authorization.k8s.io', 'v1', 'RoleBinding'), rb).cells, ['rb', 'ClusterRole/view', '5m', 'alice, bob', 'devs', 'tools/ci']);
    assert.deepEqual(row(info('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding'), { metadata: { name: 'crb' }, roleRef: { kind: 'ClusterRole', name: 'admin' } }).cells, ['crb', 'ClusterRole/admin', '<unknown>', '', '', '']);
    const ROLE = info('rbac.authorization.k8s.io', 'v1', 'Role');
    assert.equal(hasPrinter(ROLE), false);
    const t = toTable(ROLE, [{ metadata: { name: 'reader', creationTimestamp: '2024-04-30T10:00:00Z' } }], { now: NOW });
    assert.deepEqual(t.columnDefinitions.map((c) => [c.name, c.type, c.format]), [['Name', 'string', 'name'], ['Created At', 'date', '']]);
    assert.deepEqual(t.rows[0]!.cells, ['reader', '2024-04-30T10:00:00Z']);
  });
});

describe('every served kind', () => {
  const named = ['Pod', 'Node', 'Namespace', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'Event', 'ServiceAccount', 'ResourceQuota', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ControllerRevision', 'Job', 'CronJob', 'Ingress', 'IngressClass', 'NetworkPolicy', 'Lease', 'EndpointSlice', 'PriorityClass', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'RoleBinding', 'ClusterRoleBinding'];
  it('kinds with an upstream printer have one', () => {
    for (const r of RESOURCES) if (named.includes(r.kind)) assert.ok(hasPrinter(r), `${r.group}/${r.kind}`);
  });
  it('prints bare and empty objects without throwing, one cell per column, Name column formatted', () => {
    for (const r of RESOURCES) {
      for (const obj of [{ metadata: {} }, { metadata: { name: 'x' }, spec: {}, status: {} }] as KObject[]) {
        const t = toTable(r, [obj], { now: NOW });
        assert.equal(t.rows[0]!.cells.length, t.columnDefinitions.length, `${r.group}/${r.kind}`);
        assert.ok(t.columnDefinitions.some((c) => c.name === 'Name' && c.format === 'name'), `${r.kind} Name column`);
      }
      assert.equal(printerFor(r).columns.length, tableColumnsOnly(r).columnDefinitions.length);
    }
  });
});
