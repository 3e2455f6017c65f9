import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCES } from '../resources.js';
import {
  checkFieldTypes,
  definitionForKind,
  findUnknownFields,
  groupVersionKey,
  handleOpenapi,
  openapiV3Doc,
  openapiV3Root,
  strictDecodingBadRequestMessage,
  strictDecodingMessage,
  typeErrorBadRequestMessage,
  unknownFieldWarnings,
} from './index.js';

type Json = Record<string, any>;
const docOf = (key: string): Json => JSON.parse(openapiV3Doc(key)!.json.toString('utf8'));

test('root lists every group-version of RESOURCES with a hash-pinned URL', () => {
  const root = openapiV3Root();
  const expected = new Set(RESOURCES.map((r) => groupVersionKey(r.group, r.version)));
  assert.deepEqual(new Set(Object.keys(root.paths)), expected);
  assert.ok(root.paths['api/v1'] && root.paths['apis/apps/v1']);
  for (const [key, { serverRelativeURL }] of Object.entries(root.paths)) {
    assert.equal(serverRelativeURL, `/openapi/v3/${key}?hash=${openapiV3Doc(key)!.etag}`);
    assert.match(openapiV3Doc(key)!.etag, /^[0-9A-F]{128}$/);
  }
});

test('every served kind (and its subresource kinds) has a schema with its GVK', () => {
  for (const r of RESOURCES) {
    assert.ok(definitionForKind(r.group, r.version, r.kind), `${r.group}/${r.version} ${r.kind}`);
    const doc = docOf(groupVersionKey(r.group, r.version));
    const found = Object.values<Json>(doc.components.schemas).some((s) =>
      (s['x-kubernetes-group-version-kind'] ?? []).some((g: Json) => g.group === r.group && g.version === r.version && g.kind === r.kind));
    assert.ok(found, `explain target for ${r.kind} in ${r.group}/${r.version}`);
  }
});

test('apps/v1 deployments: patch operation with GVK object, fieldValidation, no strategic merge', () => {
  const doc = docOf('apis/apps/v1');
  assert.equal(doc.openapi, '3.0.0');
  assert.ok(doc.info.title);
  const item = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
  const patch = item.patch;
  assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.equal(patch['x-kubernetes-action'], 'patch');
  const names = patch.parameters.map((p: Json) => p.name);
  for (const n of ['fieldValidation', 'dryRun', 'fieldManager', 'force']) assert.ok(names.includes(n), n);
  assert.equal(patch.parameters.find((p: Json) => p.name === 'fieldValidation').in, 'query');
  const types = Object.keys(patch.requestBody.content);
  assert.deepEqual(types.sort(), ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
  assert.ok(!JSON.stringify(doc.paths).includes('strategic-merge-patch'));
  assert.equal(item.get['x-kubernetes-action'], 'get');
  assert.equal(item.put['x-kubernetes-action'], 'put');
  assert.ok(item.put.parameters.some((p: Json) => p.name === 'fieldValidation'));
  assert.equal(item.delete['x-kubernetes-action'], 'delete');
  const coll = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments'];
  assert.equal(coll.get['x-kubernetes-action'], 'list');
  assert.equal(coll.post['x-kubernetes-action'], 'post');
  assert.ok(coll.post.parameters.some((p: Json) => p.name === 'fieldValidation'));
  assert.equal(coll.delete['x-kubernetes-action'], 'deletecollection');
  assert.equal(doc.paths['/apis/apps/v1/deployments'].get['x-kubernetes-action'], 'list');
  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
  assert.deepEqual(scale.patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  assert.ok(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status'].put);
  // Every $ref resolves inside the document.
  const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.length > 10);
  for (const r of refs) assert.ok(doc.components.schemas[r], r);
});

test('core/v1: cluster-scoped and namespaced paths, ConfigMap patch for server-side validation', () => {
  const doc = docOf('api/v1');
  assert.ok(doc.paths['/api/v1/nodes/{name}'].patch);
  assert.ok(doc.paths['/api/v1/namespaces/{name}'].get);
  assert.deepEqual(doc.paths['/api/v1/namespaces/{namespace}/configmaps/{name}'].patch['x-kubernetes-group-version-kind'],
    { group: '', version: 'v1', kind: 'ConfigMap' });
  assert.ok(!doc.paths['/api/v1/namespaces'].delete, 'namespaces have no deletecollection');
});

test('schemas: GVK arrays, descriptions, special types', () => {
  const apps = docOf('apis/apps/v1').components.schemas;
  const dep = apps['io.k8s.api.apps.v1.Deployment'];
  assert.deepEqual(dep['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  assert.match(dep.description, /declarative updates/);
  assert.equal(dep.properties.metadata.allOf[0].$ref, '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  assert.ok(dep.properties.metadata.description);
  const container = apps['io.k8s.api.core.v1.Container'];
  assert.equal(container.properties.image.type, 'string');
  assert.match(container.properties.image.description, /image name/i);
  assert.deepEqual(container.required, ['name']);
  assert.equal(apps['io.k8s.api.apps.v1.DeploymentSpec'].properties.replicas.type, 'integer');
  const ios = apps['io.k8s.apimachinery.pkg.util.intstr.IntOrString'];
  assert.equal(ios['x-kubernetes-int-or-string'], true);
  assert.equal(ios.format, 'int-or-string');
  assert.equal(apps['io.k8s.apimachinery.pkg.apis.meta.v1.Time'].format, 'date-time');
  assert.equal(apps['io.k8s.apimachinery.pkg.runtime.RawExtension']['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(apps['io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1']['x-kubernetes-preserve-unknown-fields'], true);
  assert.deepEqual(apps['io.k8s.apimachinery.pkg.api.resource.Quantity'].oneOf, [{ type: 'string' }, { type: 'number' }]);
  assert.ok(apps['io.k8s.api.autoscaling.v1.Scale']['x-kubernetes-group-version-kind']);
  const core = docOf('api/v1').components.schemas;
  assert.equal(core['io.k8s.api.core.v1.Secret'].properties.data.additionalProperties.format, 'byte');
  // 1.32 supplement
  assert.ok(core['io.k8s.api.core.v1.PodSpec'].properties.resources);
  assert.ok(core['io.k8s.api.core.v1.Volume'].properties.image);
  assert.ok(docOf('apis/batch/v1').components.schemas['io.k8s.api.batch.v1.JobSpec'].properties.successPolicy);
});

test('handler3: root, hash redirect, immutable caching, 304, 404s', () => {
  const root = handleOpenapi('/openapi/v3', new URLSearchParams());
  assert.equal(root.status, 200);
  assert.equal(root.headers['Content-Type'], 'application/json');
  const url = JSON.parse(root.body!.toString()).paths['apis/apps/v1'].serverRelativeURL as string;
  const [path, qs] = url.split('?');
  const etag = openapiV3Doc('apis/apps/v1')!.etag;

  const stale = handleOpenapi(path, new URLSearchParams('hash=0123&timeout=32s'));
  assert.equal(stale.status, 301);
  assert.equal(stale.headers.Location, url);

  const hit = handleOpenapi(path, new URLSearchParams(`${qs}&timeout=32s`));
  assert.equal(hit.status, 200);
  assert.equal(hit.headers.ETag, `"${etag}"`);
  assert.equal(hit.headers['Cache-Control'], 'public, immutable');
  const expires = Date.parse(hit.headers.Expires);
  assert.ok(expires - Date.now() > 360 * 86400_000, hit.headers.Expires);
  assert.match(hit.headers.Expires, /GMT$/);
  assert.ok(hit.body!.equals(openapiV3Doc('apis/apps/v1')!.json));

  const plain = handleOpenapi(path, new URLSearchParams());
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.ETag, `"${etag}"`);
  assert.equal(plain.headers['Cache-Control'], undefined);

  assert.equal(handleOpenapi(path, new URLSearchParams(), { ifNoneMatch: `"${etag}"` }).status, 304);
  assert.equal(handleOpenapi('/openapi/v3/apis/nope/v1', new URLSearchParams()).status, 404);
  assert.equal(handleOpenapi('/openapi/v3/apis/apps/v2', new URLSearchParams()).status, 404);
  assert.equal(handleOpenapi('/openapi/v2/', new URLSearchParams()).status, 404);
});

test('unknown fields: nested, in arrays and maps, metadata, top level', () => {
  const dep = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labelz: { a: 'b' } },
    spec: {
      replicas: 2,
      foo: true,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'a', image: 'nginx' },
            { name: 'b', imagee: 'nginx', resources: { limits: { cpu: '1' }, limitz: {} } },
          ],
        },
      },
    },
    extra: 1,
  };
  assert.deepEqual(findUnknownFields('apps/v1', 'Deployment', dep), [
    'metadata.labelz',
    'spec.foo',
    'spec.template.spec.containers[1].imagee',
    'spec.template.spec.containers[1].resources.limitz',
    'extra',
  ]);
  // Map values that are structs: ResourceQuota scopeSelector is a struct, hard is a map of quantities.
  assert.deepEqual(findUnknownFields('v1', 'Pod', {
    spec: { containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'a', bogus: 1 } } }] }] },
  }), ['spec.containers[0].env[0].valueFrom.fieldRef.bogus']);
  assert.deepEqual(findUnknownFields('v1', 'ConfigMap', { metadata: { managedFields: [{ manager: 'k', fieldsV1: { 'f:data': { 'f:x': {} } }, bad: 1 }] } }),
    ['metadata.managedFields[0].bad']);
  // Case matters, like upstream's case-sensitive decoder.
  assert.deepEqual(findUnknownFields('v1', 'ConfigMap', { Data: {} }), ['Data']);
  // Unknown kinds have nothing to check against.
  assert.deepEqual(findUnknownFields('example.com/v1', 'Widget', { anything: 1 }), []);
});

test('no unknown fields in realistic objects; anything goes under RawExtension', () => {
  const podSpec = {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    securityContext: { runAsNonRoot: true, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }] } } },
    tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
    initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'] }],
    containers: [{
      name: 'app',
      image: 'nginx:1.27',
      imagePullPolicy: 'IfNotPresent',
      args: ['--port=8080'],
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      env: [
        { name: 'A', value: '1' },
        { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: true } } },
        { name: 'C', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
      envFrom: [{ configMapRef: { name: 'cm' } }],
      resources: { requests: { cpu: '100m', memory: '128Mi', 'nvidia.com/gpu': 1 }, limits: { cpu: 1, memory: '1Gi' } },
      livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X', value: 'y' }] }, initialDelaySeconds: 3, periodSeconds: 10 },
      readinessProbe: { tcpSocket: { port: 8080 }, failureThreshold: 3 },
      startupProbe: { exec: { command: ['cat', '/tmp/ok'] } },
      lifecycle: { preStop: { sleep: { seconds: 5 } } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'cfg', mountPath: '/etc/cfg', readOnly: true }],
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }],
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'pvc' } },
      { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'a', path: 'a.conf' }], defaultMode: 420 } },
      { name: 'sec', secret: { secretName: 's' } },
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'proj', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }, { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }] } },
      { name: 'img', image: { reference: 'quay.io/x/y:1', pullPolicy: 'IfNotPresent' } },
    ],
  };
  const meta = {
    name: 'web',
    namespace: 'default',
    labels: { app: 'web' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    uid: 'abc',
    resourceVersion: '5',
    generation: 1,
    creationTimestamp: '2024-01-01T00:00:00Z',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true, blockOwnerDeletion: true }],
    finalizers: ['x'],
    managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } } } }],
  };
  const cases: Array<[string, string, unknown]> = [
    ['apps/v1', 'Deployment', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta,
      spec: {
        replicas: 3, revisionHistoryLimit: 5, progressDeadlineSeconds: 600,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
        template: { metadata: { labels: { app: 'web' } }, spec: podSpec },
      },
      status: { replicas: 3, readyReplicas: 3, conditions: [{ type: 'Available', status: 'True', lastUpdateTime: '2024-01-01T00:00:00Z', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'x', message: 'y' }] },
    }],
    ['v1', 'Pod', { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: podSpec, status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx', imageID: 'x', started: true, state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }] } }],
    ['v1', 'Service', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { port: 443, targetPort: 8443 }], sessionAffinity: 'None' } }],
    ['v1', 'Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { password: 'cGFzcw==' }, stringData: { user: 'me' }, immutable: false }],
    ['v1', 'ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'a.conf': 'x=1' }, binaryData: { b: 'AA==' } }],
    ['batch/v1', 'CronJob', {
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj' },
      spec: {
        schedule: '*/5 * * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, suspend: false,
        jobTemplate: { spec: { backoffLimit: 2, completions: 1, parallelism: 1, ttlSecondsAfterFinished: 100, template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox', command: ['date'] }] } } } },
      },
    }],
    ['batch/v1', 'Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { completionMode: 'Indexed', completions: 3, successPolicy: { rules: [{ succeededIndexes: '0', succeededCount: 1 }] }, podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] }, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } }],
    ['autoscaling/v2', 'HorizontalPodAutoscaler', { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] } }],
    ['networking.k8s.io/v1', 'Ingress', { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i' }, spec: { ingressClassName: 'nginx', rules: [{ host: 'a.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }], tls: [{ hosts: ['a.example'], secretName: 't' }] } }],
    ['rbac.authorization.k8s.io/v1', 'Role', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }],
    ['v1', 'ResourceQuota', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { pods: '10', 'requests.cpu': 4 } } }],
    ['coordination.k8s.io/v1', 'Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: '2024-01-01T00:00:00.000000Z' } }],
    ['apps/v1', 'ControllerRevision', { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'cr' }, revision: 1, data: { spec: { template: { whatever: [1, { deep: true }] } }, anything: 'goes' } }],
  ];
  for (const [apiVersion, kind, obj] of cases) {
    assert.deepEqual(findUnknownFields(apiVersion, kind, obj), [], `${kind}`);
    assert.deepEqual(checkFieldTypes(apiVersion, kind, obj), [], `${kind} types`);
  }
});

test('strict decoding messages match upstream wording', () => {
  const fields = ['spec.foo', 'spec.template.spec.containers[0].imagee'];
  assert.equal(strictDecodingMessage(fields), 'strict decoding error: unknown field "spec.foo", unknown field "spec.template.spec.containers[0].imagee"');
  assert.equal(strictDecodingBadRequestMessage('apps/v1', 'Deployment', ['spec.foo']),
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"');
  assert.deepEqual(unknownFieldWarnings(fields), ['unknown field "spec.foo"', 'unknown field "spec.template.spec.containers[0].imagee"']);
});

test('type errors are reported in upstream JSON-decoder wording', () => {
  const errs = checkFieldTypes('apps/v1', 'Deployment', {
    metadata: { name: 'x', labels: { a: 'b' } },
    spec: { replicas: '3', template: { spec: { containers: [{ name: 'c', image: { x: 1 }, ports: [{ containerPort: 80 }] }] } } },
  });
  assert.deepEqual(errs.map((e) => e.field), ['spec.replicas', 'spec.template.spec.containers[0].image']);
  assert.equal(typeErrorBadRequestMessage('apps/v1', 'Deployment', errs[0]),
    'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32');
  assert.equal(errs[1].message, 'json: cannot unmarshal object into Go struct field Container.spec.template.spec.containers.image of type string');
  // Quantities, int-or-strings, times and null are accepted as upstream's custom decoders accept them.
  assert.deepEqual(checkFieldTypes('v1', 'Service', { metadata: { creationTimestamp: null }, spec: { ports: [{ port: 80, targetPort: 'http' }] } }), []);
  assert.deepEqual(checkFieldTypes('v1', 'Pod', { spec: { containers: [{ name: 'c', resources: { limits: { cpu: 1, memory: '1Gi' } } }] } }), []);
});
