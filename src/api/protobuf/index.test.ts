import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { ApiError } from '../errors.js';
import { decodeProtobuf, encodeProtobuf, PROTOBUF_CONTENT_TYPE, PROTOBUF_MAGIC, supportsProtobuf } from './index.js';
import { KUBECTL_1_32_CAPTURES } from './kubectl-captures.js';

/** k8s\0 + Unknown{typeMeta{apiVersion, kind}, raw}, written by hand with the protobufjs Writer. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).fork().uint32((1 << 3) | 2).string(apiVersion).uint32((2 << 3) | 2).string(kind).ldelim();
  w.uint32((2 << 3) | 2).bytes(raw);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), w.finish()]);
}

function is400(e: unknown): boolean {
  return e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest';
}

test('constants', () => {
  assert.equal(PROTOBUF_CONTENT_TYPE, 'application/vnd.kubernetes.protobuf');
  assert.deepEqual([...PROTOBUF_MAGIC], [0x6b, 0x38, 0x73, 0x00]);
});

test('golden: a hand-built Namespace decodes', () => {
  // Namespace{metadata(1){name(1):"x"}}
  const raw = Uint8Array.from([0x0a, 0x03, 0x0a, 0x01, 0x78]);
  const body = envelope('v1', 'Namespace', raw);
  // magic | Unknown.typeMeta(1){apiVersion(1):"v1", kind(2):"Namespace"} | Unknown.raw(2)
  assert.equal(body.toString('hex'), '6b387300' + '0a0f' + '0a027631' + '1209' + Buffer.from('Namespace').toString('hex') + '1205' + '0a030a0178');
  assert.deepEqual(decodeProtobuf(body), {
    apiVersion: 'v1',
    kind: 'Namespace',
    object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } },
  });
  // And our encoder writes exactly those bytes back (plus Go's empty contentEncoding/contentType).
  assert.equal(
    encodeProtobuf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }).toString('hex'),
    body.toString('hex') + '1a002200',
  );
});

/** What the JSON API would have received for each capture (kubectl's JSON minus `creationTimestamp: null`). */
const EXPECTED: Record<string, Record<string, unknown>> = {
  'kubectl create namespace x': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: {}, status: {} },
  'kubectl create configmap cm1 -n default --from-literal=a=b --from-literal=c=d': {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', namespace: 'default' }, data: { a: 'b', c: 'd' },
  },
  'kubectl create secret generic s1 -n default --from-literal=user=admin --from-literal=pass=s3cr3t': {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'default' },
    data: { pass: Buffer.from('s3cr3t').toString('base64'), user: Buffer.from('admin').toString('base64') },
  },
  'kubectl create deployment web -n default --image=nginx --replicas=2 --port=80': {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] },
      },
      strategy: {},
    },
    status: {},
  },
  'kubectl create service clusterip svc1 -n default --tcp=80:8080 --tcp=443:https': {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc1', namespace: 'default', labels: { app: 'svc1' } },
    spec: {
      ports: [
        { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: '443-https', protocol: 'TCP', port: 443, targetPort: 'https' },
      ],
      selector: { app: 'svc1' },
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  },
  'kubectl create priorityclass pc0 --value=0': {
    apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'pc0' }, value: 0, preemptionPolicy: 'PreemptLowerPriority',
  },
  'kubectl create quota q1 -n default --hard=cpu=1,memory=1G,pods=2 --scopes=BestEffort': {
    apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q1', namespace: 'default' },
    spec: { hard: { cpu: '1', memory: '1G', pods: '2' }, scopes: ['BestEffort'] }, status: {},
  },
  'kubectl create poddisruptionbudget pdb1 -n default --selector=app=web --min-available=50%': {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pdb1', namespace: 'default' },
    spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } } },
    status: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  },
  'kubectl create token sa1 -n default --audience=api --audience=vault --duration=10m': {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {},
    spec: { audiences: ['api', 'vault'], expirationSeconds: 600 }, status: { token: '' },
  },
  'kubectl create token sa1 -n default --bound-object-kind=Secret --bound-object-name=s1 --bound-object-uid=1234': {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {},
    spec: { boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 's1', uid: '1234' } }, status: { token: '' },
  },
  'kubectl auth can-i create pods -n default': {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
    spec: { resourceAttributes: { namespace: 'default', verb: 'create', resource: 'pods' } }, status: { allowed: false },
  },
  'kubectl auth can-i get /logs': {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
    spec: { nonResourceAttributes: { path: '/logs', verb: 'get' } }, status: { allowed: false },
  },
  'kubectl create job j1 -n default --image=busybox -- echo hi': {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j1', namespace: 'default' },
    spec: {
      template: {
        metadata: {},
        spec: { containers: [{ name: 'j1', image: 'busybox', command: ['echo', 'hi'], resources: {} }], restartPolicy: 'Never' },
      },
    },
    status: {},
  },
  'kubectl create cronjob cj1 -n default --image=busybox --schedule=*/5 * * * * -- date': {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj1', namespace: 'default' },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: {
        metadata: { name: 'cj1' },
        spec: {
          template: {
            metadata: {},
            spec: { containers: [{ name: 'cj1', image: 'busybox', command: ['date'], resources: {} }], restartPolicy: 'OnFailure' },
          },
        },
      },
    },
    status: {},
  },
  'kubectl create role r1 -n default --verb=get,list --resource=pods,configmaps,deployments.apps --resource-name=a': {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r1', namespace: 'default' },
    rules: [
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'configmaps'], resourceNames: ['a'] },
      { verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['a'] },
    ],
  },
  'kubectl create rolebinding rb1 -n default --role=r1 --user=bob --serviceaccount=default:sa1 --group=devs': {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb1', namespace: 'default' },
    subjects: [
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' },
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' },
      { kind: 'ServiceAccount', name: 'sa1', namespace: 'default' },
    ],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r1' },
  },
  'kubectl create clusterrole cr2 --aggregation-rule=rbac.example.com/aggregate-to-monitoring=true': {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr2' },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } }] },
  },
  'kubectl create ingress ing1 -n default --class=nginx --rule=foo.com/bar*=svc1:8080,tls=my-cert --rule=bar.com/=svc2:http': {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing1', namespace: 'default' },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['foo.com'], secretName: 'my-cert' }],
      rules: [
        { host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] } },
        { host: 'bar.com', http: { paths: [{ path: '/', pathType: 'Exact', backend: { service: { name: 'svc2', port: { name: 'http' } } } }] } },
      ],
    },
    status: { loadBalancer: {} },
  },
};

test('real kubectl 1.32 bodies decode to the JSON kubectl would have sent', () => {
  assert.ok(KUBECTL_1_32_CAPTURES.length >= 20);
  const checked = new Set<string>();
  for (const c of KUBECTL_1_32_CAPTURES) {
    const body = Buffer.from(c.hex, 'hex');
    const d = decodeProtobuf(body);
    assert.equal(d.object['apiVersion'], d.apiVersion);
    assert.equal(d.object['kind'], d.kind);
    const want = EXPECTED[c.command];
    if (want) {
      assert.deepStrictEqual(d.object, want, c.command);
      checked.add(c.command);
    }
    // Whatever kubectl sent survives our encoder: decode(encode(x)) === x.
    assert.deepStrictEqual(decodeProtobuf(encodeProtobuf(d.object)).object, d.object, c.command);
  }
  assert.deepEqual([...checked].sort(), Object.keys(EXPECTED).sort());
});

test('bad magic, truncation and garbage are 400s', () => {
  const good = Buffer.from(KUBECTL_1_32_CAPTURES[3]!.hex, 'hex');
  const cases: Array<[string, Buffer, RegExp]> = [
    ['empty', Buffer.alloc(0), /expected prefix \[107 56 115 0\]/],
    ['json', Buffer.from('{"kind":"Namespace"}'), /does not appear to be a protobuf message/],
    ['magic only', Buffer.from('k8s\0', 'latin1'), /Kind' is missing/],
    ['truncated envelope', good.subarray(0, 40), /unable to decode/],
    ['truncated object', good.subarray(0, good.length - 30), /unable to decode/],
    ['invalid wire type', Buffer.concat([PROTOBUF_MAGIC, Buffer.from([0x0f, 0xff])]), /unable to decode/],
    ['unknown kind', envelope('v1', 'Frobnicator', new Uint8Array()), /no kind "Frobnicator" is registered for version "v1"/],
    ['unknown group', envelope('example.com/v1', 'Widget', new Uint8Array()), /no kind "Widget" is registered for version "example.com\/v1"/],
    ['garbage raw', envelope('v1', 'Namespace', Uint8Array.from([0x0a, 0x7f, 0x01])), /unable to decode protobuf v1 Namespace/],
    ['bad embedded json', envelope('apps/v1', 'ControllerRevision', Uint8Array.from([0x12, 0x03, 0x0a, 0x01, 0x7b])), /RawExtension does not hold valid JSON/],
    ['time out of range', envelope('v1', 'Namespace', Uint8Array.from([0x0a, 0x0c, 0x42, 0x0a, 0x08, ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]])), /outside the range/],
  ];
  for (const [name, body, msg] of cases) {
    assert.throws(() => decodeProtobuf(body), (e: unknown) => is400(e) && msg.test((e as Error).message), name);
  }
});

test('encode rejects what has no protobuf form', () => {
  assert.throws(() => encodeProtobuf({ kind: 'Namespace' }), is400);
  assert.throws(() => encodeProtobuf({ apiVersion: 'v1', kind: 'Nope' }), is400);
  assert.throws(() => encodeProtobuf({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { replicas: 'two' } }), (e: unknown) => is400(e) && /spec\.replicas: expected integer/.test((e as Error).message));
  assert.throws(() => encodeProtobuf({ apiVersion: 'v1', kind: 'Secret', data: { a: 'not base64!' } }), is400);
  assert.throws(() => encodeProtobuf({ apiVersion: 'v1', kind: 'Pod', metadata: { creationTimestamp: 'yesterday' } }), is400);
  assert.throws(() => encodeProtobuf({ apiVersion: 'v1', kind: 'Pod', spec: { containers: {} } }), is400);
  assert.throws(() => encodeProtobuf({ apiVersion: 'v1', kind: 'Pod', spec: { priority: 2 ** 31 } }), is400);
});

test('supportsProtobuf knows the built-in kinds and their lists', () => {
  const kinds: Array<[string, string]> = [
    ['v1', 'Namespace'], ['v1', 'Pod'], ['v1', 'PodList'], ['v1', 'Node'], ['v1', 'Service'], ['v1', 'Endpoints'],
    ['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'Event'], ['v1', 'ServiceAccount'], ['v1', 'ResourceQuota'],
    ['v1', 'LimitRange'], ['v1', 'PersistentVolume'], ['v1', 'PersistentVolumeClaim'], ['v1', 'Binding'],
    ['v1', 'PodTemplate'], ['v1', 'ReplicationController'], ['v1', 'Status'], ['v1', 'List'], ['v1', 'DeleteOptions'],
    ['apps/v1', 'Deployment'], ['apps/v1', 'ReplicaSet'], ['apps/v1', 'StatefulSet'], ['apps/v1', 'DaemonSet'],
    ['apps/v1', 'ControllerRevision'], ['apps/v1', 'DeploymentList'], ['batch/v1', 'Job'], ['batch/v1', 'CronJob'],
    ['networking.k8s.io/v1', 'Ingress'], ['networking.k8s.io/v1', 'IngressClass'], ['networking.k8s.io/v1', 'NetworkPolicy'],
    ['coordination.k8s.io/v1', 'Lease'], ['discovery.k8s.io/v1', 'EndpointSlice'], ['scheduling.k8s.io/v1', 'PriorityClass'],
    ['events.k8s.io/v1', 'Event'], ['policy/v1', 'PodDisruptionBudget'], ['policy/v1', 'Eviction'],
    ['autoscaling/v1', 'HorizontalPodAutoscaler'], ['autoscaling/v1', 'Scale'], ['autoscaling/v2', 'HorizontalPodAutoscaler'],
    ['rbac.authorization.k8s.io/v1', 'Role'], ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole'], ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'],
    ['authentication.k8s.io/v1', 'TokenRequest'], ['authentication.k8s.io/v1', 'TokenReview'], ['authentication.k8s.io/v1', 'SelfSubjectReview'],
    ['authorization.k8s.io/v1', 'SelfSubjectAccessReview'], ['authorization.k8s.io/v1', 'SelfSubjectRulesReview'],
    ['authorization.k8s.io/v1', 'SubjectAccessReview'], ['authorization.k8s.io/v1', 'LocalSubjectAccessReview'],
    ['meta.k8s.io/v1', 'PartialObjectMetadata'], ['apps/v1', 'DeleteOptions'],
  ];
  for (const [v, k] of kinds) assert.ok(supportsProtobuf(v, k), `${v} ${k}`);
  for (const [v, k] of [['v1', 'PodTemplateSpec'], ['apps/v1', 'Pod'], ['v2', 'Pod'], ['apiextensions.k8s.io/v1', 'CustomResourceDefinition']] as const) {
    assert.ok(!supportsProtobuf(v, k), `${v} ${k}`);
  }
});

test('property: arbitrary bytes only ever fail with a 400 ApiError', () => {
  const check = (body: Uint8Array): void => {
    try {
      decodeProtobuf(Buffer.from(body));
    } catch (e) {
      if (!is400(e)) throw e;
    }
  };
  const bodies = KUBECTL_1_32_CAPTURES.map((c) => Buffer.from(c.hex, 'hex'));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([PROTOBUF_MAGIC, b])),
        // Valid envelopes of real kinds with a random object payload.
        fc.tuple(fc.constantFrom(...bodies), fc.uint8Array({ maxLength: 200 })).map(([b, raw]) => {
          const d = decodeProtobuf(b);
          return envelope(d.apiVersion, d.kind, raw);
        }),
        // Real bodies with one byte flipped or cut short.
        fc.tuple(fc.constantFrom(...bodies), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([b, i, x, cut]) => {
          const c = Buffer.from(b);
          const at = 4 + (i % (c.length - 4));
          if (cut) return c.subarray(0, at);
          c[at] = c[at]! ^ x;
          return c;
        }),
      ),
      (body) => check(body),
    ),
    { numRuns: 2000 },
  );
});
