import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors.js';
import { strategicMergePatch } from './strategic-merge.js';
import { PATCH_META, ROOT_TYPES, fieldMeta, rootTypeName } from './patch-meta.js';

const POD_SPEC = 'io.k8s.api.core.v1.PodSpec';
const POD = 'io.k8s.api.core.v1.Pod';
const DEPLOY = 'io.k8s.api.apps.v1.Deployment';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

interface Case {
  name: string;
  original: object;
  patch: object;
  typeName: string | undefined;
  want: object;
}

const c = (names: string[], extra: Record<string, Record<string, unknown>> = {}) =>
  names.map((name) => ({ name, ...(extra[name] ?? {}) }));

const cases: Case[] = [
  // ---- maps ----
  { name: 'add field to map', original: { a: 1 }, patch: { b: 2 }, typeName: undefined, want: { a: 1, b: 2 } },
  { name: 'null deletes a key', original: { a: 1, b: 2 }, patch: { b: null }, typeName: undefined, want: { a: 1 } },
  { name: 'unmatched null is ignored', original: { a: 1 }, patch: { z: null }, typeName: undefined, want: { a: 1 } },
  {
    name: 'null deletes a label, keeps others',
    original: { metadata: { name: 'x', labels: { a: '1', b: '2' } } },
    patch: { metadata: { labels: { a: null, c: '3' } } },
    typeName: POD,
    want: { metadata: { name: 'x', labels: { b: '2', c: '3' } } },
  },
  {
    name: 'nested maps merge recursively',
    original: { spec: { a: { b: 1, c: 2 } } },
    patch: { spec: { a: { c: 3, d: { e: null, f: 1 } } } },
    typeName: undefined,
    want: { spec: { a: { b: 1, c: 3, d: { f: 1 } } } },
  },
  {
    name: '$patch: delete on a map yields an empty map',
    original: { metadata: { labels: { a: '1', b: '2' } } },
    patch: { metadata: { labels: { $patch: 'delete' } } },
    typeName: POD,
    want: { metadata: { labels: {} } },
  },
  {
    name: '$patch: delete on a missing map leaves it out',
    original: { metadata: { name: 'x' } },
    patch: { metadata: { labels: { $patch: 'delete' } } },
    typeName: POD,
    want: { metadata: { name: 'x' } },
  },
  {
    name: '$patch: replace replaces the map',
    original: { metadata: { labels: { a: '1', b: '2' } } },
    patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
    typeName: POD,
    want: { metadata: { labels: { c: '3' } } },
  },
  { name: '$patch: replace at the root', original: { a: 1, b: 1 }, patch: { $patch: 'replace', other: 'a' }, typeName: undefined, want: { other: 'a' } },
  { name: 'type change replaces', original: { a: { b: 1 } }, patch: { a: [1] }, typeName: undefined, want: { a: [1] } },
  { name: 'scalar replaced by map', original: { a: 1 }, patch: { a: { b: null, c: 1 } }, typeName: undefined, want: { a: { c: 1 } } },

  // ---- lists without merge strategy ----
  {
    name: 'unknown type: lists are replaced (JSON merge patch semantics)',
    original: { spec: { items: [{ name: 'a', v: 1 }, { name: 'b' }] } },
    patch: { spec: { items: [{ name: 'a', v: 2 }] } },
    typeName: undefined,
    want: { spec: { items: [{ name: 'a', v: 2 }] } },
  },
  {
    name: 'tolerations are replaced wholesale',
    original: { tolerations: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }] },
    patch: { tolerations: [{ key: 'c', operator: 'Exists' }] },
    typeName: POD_SPEC,
    want: { tolerations: [{ key: 'c', operator: 'Exists' }] },
  },
  {
    name: 'command (list of scalars without strategy) is replaced',
    original: { containers: [{ name: 'c', command: ['a', 'b'] }] },
    patch: { containers: [{ name: 'c', command: ['b', 'c'] }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'c', command: ['b', 'c'] }] },
  },
  {
    name: 'directives are stripped from atomic lists',
    original: {},
    patch: { tolerations: [{ key: 'a', $patch: 'delete' }] },
    typeName: POD_SPEC,
    want: { tolerations: [{ key: 'a' }] },
  },

  // ---- merge lists of maps ----
  {
    name: 'containers merge by name, keeping other fields',
    original: { containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'b:1' }] },
    patch: { containers: [{ name: 'b', image: 'b:2' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'b:2' }] },
  },
  {
    // Upstream mergeSortedSlice: a patch item absent from the original is emitted before the server-only items, as in
    // the kubernetes.io "Update API Objects in Place Using kubectl patch" task (patch-demo-ctr-2 lands first).
    name: 'new item without $setElementOrder goes before server-only items (upstream order)',
    original: { containers: c(['a', 'b']) },
    patch: { containers: [{ name: 'n', image: 'n' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'n', image: 'n' }, { name: 'a' }, { name: 'b' }] },
  },
  {
    name: 'new item after a patched existing item keeps relative order',
    original: { containers: c(['a', 'b', 'c']) },
    patch: { containers: [{ name: 'b', image: 'x' }, { name: 'n' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'a' }, { name: 'b', image: 'x' }, { name: 'n' }, { name: 'c' }] },
  },
  {
    name: 'upstream: preserve the order from the patch in a merging list',
    original: { containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }] },
    patch: { containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }, { name: '2', workingDir: 'x' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }, { name: '2', image: 'b', workingDir: 'x' }] },
  },
  {
    name: 'upstream: preserve the order from the patch in a merging list 2',
    original: { containers: [{ name: '1' }, { name: '2', image: 'b' }, { name: '3' }] },
    patch: { containers: [{ name: '3', image: 'c' }, { name: '1', image: 'a' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: '2', image: 'b' }, { name: '3', image: 'c' }, { name: '1', image: 'a' }] },
  },
  {
    name: '$patch: delete removes a container',
    original: { containers: c(['a', 'b', 'c']) },
    patch: { containers: [{ name: 'b', $patch: 'delete' }] },
    typeName: POD_SPEC,
    want: { containers: c(['a', 'c']) },
  },
  {
    name: 'upstream: delete all duplicate entries in a merging list',
    original: { containers: [{ name: '1' }, { name: '1' }, { name: '2', image: 'a' }, { name: '3' }, { name: '3' }] },
    patch: { containers: [{ name: '1', $patch: 'delete' }, { name: '3', $patch: 'delete' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: '2', image: 'a' }] },
  },
  {
    name: '$patch: replace item replaces the whole list',
    original: { containers: c(['a', 'b']) },
    patch: { containers: [{ name: 'z', image: 'z' }, { $patch: 'replace' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'z', image: 'z' }] },
  },
  {
    name: 'upstream: delete all items from merging list',
    original: { containers: c(['a', 'b']) },
    patch: { containers: [{ $patch: 'replace' }] },
    typeName: POD_SPEC,
    want: { containers: [] },
  },
  {
    name: 'env merges by name, null deletes a field of an item',
    original: { containers: [{ name: 'c', env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { fieldRef: { fieldPath: 'x' } } }] }] },
    patch: { containers: [{ name: 'c', env: [{ name: 'B', value: '2', valueFrom: null }, { name: 'A', value: '9' }] }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'c', env: [{ name: 'B', value: '2' }, { name: 'A', value: '9' }] }] },
  },
  {
    name: 'ports merge by containerPort',
    original: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }] },
    patch: { containers: [{ name: 'c', ports: [{ containerPort: 443, name: 'https' }] }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443, name: 'https' }] }] },
  },
  {
    name: 'volumeMounts merge by mountPath',
    original: { containers: [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: '/a' }] }] },
    patch: { containers: [{ name: 'c', volumeMounts: [{ mountPath: '/a', readOnly: true }] }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'c', volumeMounts: [{ name: 'v', mountPath: '/a', readOnly: true }] }] },
  },
  {
    name: 'new list is taken from the patch with directives interpreted',
    original: {},
    patch: { containers: [{ name: 'a', env: [{ name: 'X', value: '1', $patch: 'delete' }, { name: 'Y', value: null }] }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'a', env: [{ name: 'Y' }] }] },
  },
  {
    name: 'merge into empty list',
    original: { containers: [] },
    patch: { containers: [] },
    typeName: POD_SPEC,
    want: { containers: [] },
  },
  {
    name: 'ownerReferences merge by uid',
    original: { metadata: { ownerReferences: [{ uid: '1', name: 'a' }, { uid: '2', name: 'b' }] } },
    patch: { metadata: { ownerReferences: [{ uid: '2', controller: true }] } },
    typeName: POD,
    want: { metadata: { ownerReferences: [{ uid: '1', name: 'a' }, { uid: '2', name: 'b', controller: true }] } },
  },
  {
    name: 'node status conditions merge by type',
    original: { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'DiskPressure', status: 'False' }] } },
    patch: { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    typeName: 'io.k8s.api.core.v1.Node',
    want: { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'False' }] } },
  },
  {
    name: 'service ports merge by port',
    original: { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } },
    patch: { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
    typeName: 'io.k8s.api.core.v1.Service',
    want: { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } },
  },
  {
    name: 'cronjob jobTemplate reaches the pod spec',
    original: { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: '1' }, { name: 'b' }] } } } } } },
    patch: { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: '2' }] } } } } } },
    typeName: 'io.k8s.api.batch.v1.CronJob',
    want: { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: '2' }, { name: 'b' }] } } } } } },
  },

  // ---- merge lists of scalars ----
  {
    name: 'finalizers merge as a set (upstream: unique scalars when merging lists)',
    original: { finalizers: ['a', 'b'] },
    patch: { finalizers: ['b', 'c'] },
    typeName: META,
    want: { finalizers: ['a', 'b', 'c'] },
  },
  {
    name: 'upstream: preserve the order from the patch in a merging int list',
    original: { finalizers: ['1', '2', '3'] },
    patch: { finalizers: ['3', '1'] },
    typeName: META,
    want: { finalizers: ['2', '3', '1'] },
  },
  {
    name: '$deleteFromPrimitiveList removes finalizers',
    original: { metadata: { finalizers: ['a', 'b', 'c', 'b'] } },
    patch: { metadata: { $deleteFromPrimitiveList: undefined, '$deleteFromPrimitiveList/finalizers': ['b'] } },
    typeName: POD,
    want: { metadata: { finalizers: ['a', 'c'] } },
  },
  {
    name: 'upstream: add and delete items in lists of scalars',
    original: { finalizers: ['1', '2', '3', '4'] },
    patch: { '$setElementOrder/finalizers': ['1', '2', '4'], '$deleteFromPrimitiveList/finalizers': ['3'], finalizers: ['4'] },
    typeName: META,
    want: { finalizers: ['1', '2', '4'] },
  },
  {
    name: '$deleteFromPrimitiveList on a missing list is a no-op',
    original: { name: 'x' },
    patch: { '$deleteFromPrimitiveList/finalizers': ['a'] },
    typeName: META,
    want: { name: 'x' },
  },

  // ---- $setElementOrder ----
  {
    name: 'upstream: merge lists of maps with $setElementOrder',
    original: { containers: [{ name: '1', workingDir: 'a' }, { name: '2', image: '2', workingDir: 'b' }] },
    patch: {
      '$setElementOrder/containers': [{ name: '4' }, { name: '1' }, { name: '2' }, { name: '3' }],
      containers: [{ name: '4', image: '4' }, { name: '3', image: '3' }],
    },
    typeName: POD_SPEC,
    want: {
      containers: [{ name: '4', image: '4' }, { name: '1', workingDir: 'a' }, { name: '2', image: '2', workingDir: 'b' }, { name: '3', image: '3' }],
    },
  },
  {
    name: '$setElementOrder reorders without content changes',
    original: { containers: c(['a', 'b', 'c']) },
    patch: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }] },
    typeName: POD_SPEC,
    want: { containers: c(['c', 'a', 'b']) },
  },
  {
    name: 'upstream: $setElementOrder contains item not present in the list',
    original: { containers: c(['1', '3']) },
    patch: { '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }], containers: [{ name: '3', image: '3' }, { name: '1', image: '1' }] },
    typeName: POD_SPEC,
    want: { containers: [{ name: '3', image: '3' }, { name: '1', image: '1' }] },
  },
  {
    name: 'upstream: $setElementOrder on a primitive list',
    original: { finalizers: ['1', '3'] },
    patch: { '$setElementOrder/finalizers': ['3', '2', '1'] },
    typeName: META,
    want: { finalizers: ['3', '1'] },
  },
  {
    // Upstream mergeSortedSlice: server-only `s` (original index 1) precedes patch item `b` (original index 2).
    name: '$setElementOrder interleaves server-only items by original position',
    original: { containers: c(['a', 's', 'b']) },
    patch: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] },
    typeName: POD_SPEC,
    want: { containers: c(['s', 'b', 'a']) },
  },
  {
    name: '$setElementOrder with $patch: delete',
    original: { containers: c(['a', 'b', 'c']) },
    patch: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }], containers: [{ name: 'b', $patch: 'delete' }] },
    typeName: POD_SPEC,
    want: { containers: c(['c', 'a']) },
  },
  {
    name: '$setElementOrder on an atomic list is dropped',
    original: { tolerations: [{ key: 'a' }] },
    patch: { '$setElementOrder/tolerations': [{ key: 'b' }], tolerations: [{ key: 'b' }] },
    typeName: POD_SPEC,
    want: { tolerations: [{ key: 'b' }] },
  },

  {
    name: 'kubectl apply: $setElementOrder nested inside a container item',
    original: { containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] },
    patch: {
      '$setElementOrder/containers': [{ name: 'c' }],
      containers: [{ name: 'c', '$setElementOrder/env': [{ name: 'B' }, { name: 'C' }, { name: 'A' }], env: [{ name: 'C', value: '3' }] }],
    },
    typeName: POD_SPEC,
    want: { containers: [{ name: 'c', image: 'i', env: [{ name: 'B', value: '2' }, { name: 'C', value: '3' }, { name: 'A', value: '1' }] }] },
  },
  {
    name: 'kubectl apply: service ports with $setElementOrder',
    original: { spec: { ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }], clusterIP: '10.0.0.1' } },
    patch: { spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 443 }], ports: [{ port: 443, targetPort: 8443 }] } },
    typeName: 'io.k8s.api.core.v1.Service',
    want: { spec: { ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }, { port: 443, targetPort: 8443 }], clusterIP: '10.0.0.1' } },
  },
  {
    name: 'empty merge list in the patch leaves the original list alone (upstream)',
    original: { containers: c(['a']), finalizers: ['x'] },
    patch: { containers: [] },
    typeName: POD_SPEC,
    want: { containers: c(['a']), finalizers: ['x'] },
  },
  {
    name: 'null clears a merge list',
    original: { metadata: { finalizers: ['a', 'b'] } },
    patch: { metadata: { finalizers: null } },
    typeName: POD,
    want: { metadata: {} },
  },

  // ---- $retainKeys ----
  {
    name: 'Deployment strategy RollingUpdate → Recreate with $retainKeys',
    original: { spec: { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } },
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } },
    typeName: DEPLOY,
    want: { spec: { replicas: 1, strategy: { type: 'Recreate' } } },
  },
  {
    name: '$retainKeys drops unlisted keys even without patching them',
    original: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
    patch: { strategy: { $retainKeys: ['type'] } },
    typeName: 'io.k8s.api.apps.v1.DeploymentSpec',
    want: { strategy: { type: 'RollingUpdate' } },
  },
  {
    name: 'upstream: retainKeys map can add a field when no retainKeys directive present',
    original: { strategy: { type: 'Recreate' } },
    patch: { strategy: { rollingUpdate: { maxSurge: 1 } } },
    typeName: 'io.k8s.api.apps.v1.DeploymentSpec',
    want: { strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } },
  },
  {
    name: 'volumes: switch an item from emptyDir to configMap with $retainKeys',
    original: { volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', secret: { secretName: 's' } }] },
    patch: {
      '$setElementOrder/volumes': [{ name: 'v' }, { name: 'w' }],
      volumes: [{ $retainKeys: ['configMap', 'name'], name: 'v', configMap: { name: 'cm' }, emptyDir: null }],
    },
    typeName: POD_SPEC,
    want: { volumes: [{ name: 'v', configMap: { name: 'cm' } }, { name: 'w', secret: { secretName: 's' } }] },
  },

  // ---- kubectl scenarios ----
  {
    name: 'kubectl apply: image change with $setElementOrder keeps other container fields',
    original: {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'd', annotations: { old: 'x' } },
      spec: {
        replicas: 1,
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { containers: [{ name: 'c1', image: 'nginx:1', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }] },
        },
      },
    },
    patch: {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: { replicas: 2, template: { spec: { '$setElementOrder/containers': [{ name: 'c1' }], containers: [{ image: 'nginx:2', name: 'c1' }] } } },
    },
    typeName: DEPLOY,
    want: {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'd', annotations: { old: 'x', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
      spec: {
        replicas: 2,
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { containers: [{ name: 'c1', image: 'nginx:2', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }] },
        },
      },
    },
  },
  {
    name: 'kubectl set image',
    original: { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] } } } },
    patch: { spec: { template: { spec: { containers: [{ name: 'b', image: 'b:2' }] } } } },
    typeName: DEPLOY,
    want: { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }] } } } },
  },
  {
    name: 'kubectl rollout restart annotation',
    original: { spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'a' }] } } } },
    patch: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } } } } },
    typeName: DEPLOY,
    want: {
      spec: {
        template: {
          metadata: { labels: { app: 'x' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } },
          spec: { containers: [{ name: 'a' }] },
        },
      },
    },
  },
  {
    name: 'kubectl apply removing a container and a finalizer',
    original: { metadata: { finalizers: ['f1', 'f2'] }, spec: { template: { spec: { containers: c(['a', 'b']) } } } },
    patch: {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['f2'], '$setElementOrder/finalizers': ['f1'] },
      spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'b', $patch: 'delete' }] } } },
    },
    typeName: DEPLOY,
    want: { metadata: { finalizers: ['f1'] }, spec: { template: { spec: { containers: c(['a']) } } } },
  },
  {
    name: '__proto__ keys are plain data',
    original: { a: 1 },
    patch: JSON.parse('{"__proto__": {"polluted": true}, "b": {"__proto__": 1}}') as object,
    typeName: undefined,
    want: JSON.parse('{"a": 1, "__proto__": {"polluted": true}, "b": {"__proto__": 1}}') as object,
  },
];

describe('strategicMergePatch', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      // Drop undefined-valued keys used only for readability above.
      const patch = JSON.parse(JSON.stringify(tc.patch)) as object;
      const before = JSON.stringify(tc.original);
      const patchBefore = JSON.stringify(patch);
      const got = strategicMergePatch(tc.original, patch, tc.typeName);
      assert.deepStrictEqual(got, tc.want);
      assert.equal(JSON.stringify(tc.original), before, 'original mutated');
      assert.equal(JSON.stringify(patch), patchBefore, 'patch mutated');
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    });
  }
});

interface ErrCase {
  name: string;
  original: object;
  patch: unknown;
  typeName?: string;
  code: number;
  message?: RegExp;
}

const errCases: ErrCase[] = [
  { name: 'non-object patch', original: {}, patch: [1], code: 400, message: /cannot unmarshal array/ },
  { name: 'unknown $patch on a map', original: { a: {} }, patch: { a: { $patch: 'bogus' } }, code: 400, message: /unknown patch type: bogus in map/ },
  { name: '$patch: merge on a map', original: {}, patch: { $patch: 'merge' }, code: 400 },
  { name: 'non-string $patch', original: {}, patch: { $patch: 1 }, code: 400 },
  {
    name: '$patch: merge in a list',
    original: { containers: [] },
    patch: { containers: [{ name: 'a', $patch: 'merge' }] },
    typeName: POD_SPEC,
    code: 400,
    message: /merging lists cannot yet be specified/,
  },
  {
    name: 'unknown $patch in a list',
    original: { containers: [{ name: 'a' }] },
    patch: { containers: [{ name: 'a', $patch: 'nope' }] },
    typeName: POD_SPEC,
    code: 400,
  },
  {
    name: 'missing merge key',
    original: { containers: [{ name: 'a' }] },
    patch: { containers: [{ image: 'b' }] },
    typeName: POD_SPEC,
    code: 400,
    message: /does not contain declared merge key: name/,
  },
  {
    name: '$patch: delete without merge key',
    original: { containers: [{ name: 'a' }] },
    patch: { containers: [{ $patch: 'delete' }] },
    typeName: POD_SPEC,
    code: 400,
  },
  { name: '$retainKeys not a list', original: {}, patch: { $retainKeys: 'a' }, code: 400, message: /invalid patch format of retainKeys/ },
  { name: 'patch key not in $retainKeys', original: {}, patch: { $retainKeys: ['a'], b: 1 }, code: 400, message: /retainKeys/ },
  { name: '$setElementOrder not a list', original: {}, patch: { '$setElementOrder/x': 1 }, code: 400, message: /setElementOrder/ },
  { name: '$setElementOrder without slash', original: {}, patch: { $setElementOrderx: [] }, code: 400, message: /setElementOrder/ },
  { name: '$deleteFromPrimitiveList not a list', original: {}, patch: { '$deleteFromPrimitiveList/x': 'a' }, code: 400, message: /primitive list/ },
  { name: '$deleteFromPrimitiveList without slash', original: {}, patch: { $deleteFromPrimitiveList: ['a'] }, code: 400 },
  {
    name: 'patch list order contradicts $setElementOrder',
    original: { containers: c(['1', '3', '2']) },
    patch: { '$setElementOrder/containers': [{ name: '1' }, { name: '2' }, { name: '3' }], containers: [{ name: '3', image: '3' }, { name: '1', image: '1' }] },
    typeName: POD_SPEC,
    code: 400,
    message: /doesn't match/,
  },
  {
    name: 'mixed element types in a merge list',
    original: { finalizers: ['a'] },
    patch: { finalizers: [1] },
    typeName: META,
    code: 400,
    message: /not identical/,
  },
  { name: 'list of lists in a merge list', original: { finalizers: [] }, patch: { finalizers: [['a']] }, typeName: META, code: 422 },
  {
    name: 'object merge key value',
    original: { containers: [{ name: 'a' }] },
    patch: { containers: [{ name: { x: 1 } }] },
    typeName: POD_SPEC,
    code: 400,
  },
];

describe('strategicMergePatch errors', () => {
  for (const tc of errCases) {
    it(tc.name, () => {
      assert.throws(
        () => strategicMergePatch(tc.original, tc.patch as object, tc.typeName),
        (e: unknown) => {
          assert.ok(e instanceof ApiError, String(e));
          assert.equal(e.code, tc.code, e.message);
          if (tc.message) assert.match(e.message, tc.message);
          return true;
        },
      );
    });
  }

  it('merges large lists in near-linear time', () => {
    const n = 20000;
    const env = Array.from({ length: n }, (_, i) => ({ name: `E${i}`, value: String(i) }));
    const patchEnv = Array.from({ length: n }, (_, i) => ({ name: `E${n - 1 - i}`, value: 'x' }));
    const t0 = Date.now();
    const out = strategicMergePatch({ containers: [{ name: 'c', env }] }, { containers: [{ name: 'c', env: patchEnv }] }, POD_SPEC) as {
      containers: Array<{ env: Array<{ name: string; value: string }> }>;
    };
    assert.equal(out.containers[0]!.env.length, n);
    assert.equal(out.containers[0]!.env[0]!.name, `E${n - 1}`);
    assert.ok(Date.now() - t0 < 5000, 'too slow');
  });

  it('rejects absurdly deep patches with 400 instead of overflowing the stack', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 5000; i++) {
      const next = {};
      deep['a'] = next;
      deep = next;
    }
    assert.throws(() => strategicMergePatch({}, root, undefined), (e: unknown) => e instanceof ApiError && e.code === 400);
  });
});

describe('patch metadata', () => {
  it('maps served kinds to root types', () => {
    assert.equal(rootTypeName('apps/v1', 'Deployment'), DEPLOY);
    assert.equal(rootTypeName('v1', 'Pod'), POD);
    assert.equal(rootTypeName('batch/v1', 'CronJob'), 'io.k8s.api.batch.v1.CronJob');
    assert.equal(rootTypeName('networking.k8s.io/v1', 'Ingress'), 'io.k8s.api.networking.v1.Ingress');
    assert.equal(rootTypeName('rbac.authorization.k8s.io/v1', 'ClusterRole'), 'io.k8s.api.rbac.v1.ClusterRole');
    assert.equal(rootTypeName('autoscaling/v2', 'HorizontalPodAutoscaler'), 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler');
    assert.equal(rootTypeName('example.com/v1', 'Widget'), undefined);
    assert.equal(ROOT_TYPES['v1 PodSpec'], undefined, 'non-object types are not roots');
  });

  it('every referenced type exists', () => {
    for (const [name, fields] of Object.entries(PATCH_META)) {
      for (const [f, m] of Object.entries(fields)) {
        if (m.type) assert.ok(PATCH_META[m.type], `${name}.${f} → ${m.type}`);
        if (m.mergeKey) assert.ok(m.strategy?.startsWith('merge'), `${name}.${f} has a merge key without merge strategy`);
      }
    }
  });

  it('covers upstream tags', () => {
    assert.deepEqual(fieldMeta(POD_SPEC, 'topologySpreadConstraints'), { list: true, mergeKey: 'topologyKey', strategy: 'merge' });
    assert.equal(fieldMeta(POD_SPEC, 'tolerations'), undefined);
    assert.equal(fieldMeta(POD_SPEC, '__proto__'), undefined);
    assert.equal(fieldMeta('io.k8s.api.apps.v1.DeploymentSpec', 'strategy')?.strategy, 'retainKeys');
    assert.equal(fieldMeta(META, 'finalizers')?.strategy, 'merge');
  });
});
