/**
 * Pins the causes of `validatePodSpec` for the pod every create in the scheduler benchmark carries (defaulted, with the
 * service-account projected volume) and for near-valid variants of it. The validators take fast paths that skip field
 * paths when a value is valid; each variant here must fall back to the full checks and report exactly what they do
 * (expectations recorded from the validators before the fast paths were added). No timing assertions.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePodSpec } from './pod.js';
import { validateObject } from './index.js';
import { findKind } from '../resources.js';

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `bench/scheduler.ts` `measuredPod()` after defaulting and service-account admission. */
const benchPod = (): { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: Spec } => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'pod-1', namespace: 'bench', labels: { app: 'bench' } },
  spec: {
    containers: [{
      name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } },
      imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      volumeMounts: [{ name: 'kube-api-access-jkdjq', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
    }],
    dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', securityContext: {}, terminationGracePeriodSeconds: 30,
    schedulerName: 'default-scheduler', enableServiceLinks: true, serviceAccountName: 'default', serviceAccount: 'default',
    volumes: [{
      name: 'kube-api-access-jkdjq',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }],
    priority: 0, preemptionPolicy: 'PreemptLowerPriority',
  },
});

const CASES: Array<[string, (spec: Spec) => void, Array<[string, string, string]>]> = [
  ["the benchmark pod", () => {}, []],
  ["token expiry below 10 minutes", (spec) => { spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds = 599; }, [["spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds", "FieldValueInvalid", "Invalid value: 599: may not specify a duration less than 10 minutes"]]],
  ["token expiry above 2^32", (spec) => { spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds = 2 ** 32 + 1; }, [["spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds", "FieldValueInvalid", "Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds"]]],
  ["token path escaping", (spec) => { spec.volumes[0].projected.sources[0].serviceAccountToken.path = '../token'; }, [["spec.volumes[0].projected.sources[0].serviceAccountToken.path", "FieldValueInvalid", "Invalid value: \"../token\": must not contain '..'"]]],
  ["token path absolute", (spec) => { spec.volumes[0].projected.sources[0].serviceAccountToken.path = '/token'; }, [["spec.volumes[0].projected.sources[0].serviceAccountToken.path", "FieldValueInvalid", "Invalid value: \"/token\": must be a relative path"]]],
  ["token path with dots inside a name", (spec) => { spec.volumes[0].projected.sources[0].serviceAccountToken.path = 'a..b/c'; }, []],
  ["two kinds in one source", (spec) => { spec.volumes[0].projected.sources[0].secret = { name: 's' }; }, [["spec.volumes[0].projected.sources[0].serviceAccountToken", "FieldValueForbidden", "Forbidden: may not specify more than 1 volume type per source"]]],
  ["empty source", (spec) => { spec.volumes[0].projected.sources[1] = {}; }, [["spec.volumes[0].projected.sources[1]", "FieldValueRequired", "Required value: must specify exactly one projection source"]]],
  ["non-object source", (spec) => { spec.volumes[0].projected.sources[1] = 'x'; }, [["spec.volumes[0].projected.sources[1]", "FieldValueTypeInvalid", "Invalid value: \"x\": must be of type object"]]],
  ["configMap item without key", (spec) => { delete spec.volumes[0].projected.sources[1].configMap.items[0].key; }, [["spec.volumes[0].projected.sources[1].configMap.items[0].key", "FieldValueRequired", "Required value"]]],
  ["configMap item mode too large", (spec) => { spec.volumes[0].projected.sources[1].configMap.items[0].mode = 512; }, [["spec.volumes[0].projected.sources[1].configMap.items[0].mode", "FieldValueInvalid", "Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive"]]],
  ["downward item unknown field", (spec) => { spec.volumes[0].projected.sources[2].downwardAPI.items[0].fieldRef.fieldPath = 'spec.nodeName'; }, [["spec.volumes[0].projected.sources[2].downwardAPI.items[0].fieldRef.fieldPath", "FieldValueNotSupported", "Unsupported value: \"spec.nodeName\": supported values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", \"metadata.namespace\", \"metadata.uid\""]]],
  ["downward item label subscript", (spec) => { spec.volumes[0].projected.sources[2].downwardAPI.items[0].fieldRef.fieldPath = "metadata.labels['a/b/c']"; }, [["spec.volumes[0].projected.sources[2].downwardAPI.items[0].fieldRef.fieldPath", "FieldValueInvalid", "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]]],
  ["downward item without apiVersion", (spec) => { spec.volumes[0].projected.sources[2].downwardAPI.items[0].fieldRef.apiVersion = ''; }, [["spec.volumes[0].projected.sources[2].downwardAPI.items[0].fieldRef.apiVersion", "FieldValueRequired", "Required value"]]],
  ["downward item with both refs", (spec) => { spec.volumes[0].projected.sources[2].downwardAPI.items[0].resourceFieldRef = { containerName: 'c', resource: 'limits.cpu' }; }, [["spec.volumes[0].projected.sources[2].downwardAPI.items[0]", "FieldValueInvalid", "Invalid value: \"resource\": fieldRef and resourceFieldRef can not be specified simultaneously"]]],
  ["defaultMode negative", (spec) => { spec.volumes[0].projected.defaultMode = -1; }, [["spec.volumes[0].projected.defaultMode", "FieldValueInvalid", "Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive"]]],
  ["volume name invalid", (spec) => { spec.volumes[0].name = 'Kube_API'; spec.containers[0].volumeMounts[0].name = 'Kube_API'; }, [["spec.volumes[0].name", "FieldValueInvalid", "Invalid value: \"Kube_API\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]]],
  ["duplicate volume", (spec) => { spec.volumes.push(structuredClone(spec.volumes[0])); }, [["spec.volumes[1].name", "FieldValueDuplicate", "Duplicate value: \"kube-api-access-jkdjq\""]]],
  ["second volume source", (spec) => { spec.volumes[0].emptyDir = {}; }, [["spec.volumes[0].projected", "FieldValueForbidden", "Forbidden: may not specify more than 1 volume type"]]],
  ["no volume source", (spec) => { delete spec.volumes[0].projected; }, [["spec.volumes[0]", "FieldValueRequired", "Required value: must specify a volume type"]]],
  ["emptyDir with bad medium and size", (spec) => { spec.volumes.push({ name: 'e', emptyDir: { medium: 'Disk', sizeLimit: '-1Gi' } }); }, [["spec.volumes[1].emptyDir.medium", "FieldValueNotSupported", "Unsupported value: \"Disk\": supported values: \"\", \"Memory\", \"HugePages\""], ["spec.volumes[1].emptyDir.sizeLimit", "FieldValueInvalid", "Invalid value: \"-1Gi\": must be greater than or equal to 0"]]],
  ["secret volume without secretName", (spec) => { spec.volumes.push({ name: 's', secret: { defaultMode: 420 } }); }, [["spec.volumes[1].secret.secretName", "FieldValueRequired", "Required value"]]],
  ["pvc volume with non-boolean readOnly", (spec) => { spec.volumes.push({ name: 'p', persistentVolumeClaim: { claimName: 'c', readOnly: 'yes' } }); }, [["spec.volumes[1].persistentVolumeClaim.readOnly", "FieldValueTypeInvalid", "Invalid value: \"yes\": must be of type boolean"]]],
  ["mount of an unknown volume", (spec) => { spec.containers[0].volumeMounts[0].name = 'nope'; }, [["spec.containers[0].volumeMounts[0].name", "FieldValueNotFound", "Not found: \"nope\""]]],
  ["duplicate mount path", (spec) => { spec.containers[0].volumeMounts.push({ name: 'kube-api-access-jkdjq', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }); }, [["spec.containers[0].volumeMounts[1].mountPath", "FieldValueInvalid", "Invalid value: \"/var/run/secrets/kubernetes.io/serviceaccount\": must be unique"]]],
  ["mount with subPath and subPathExpr", (spec) => { Object.assign(spec.containers[0].volumeMounts[0], { subPath: '../x', subPathExpr: 'y', mountPropagation: 'Sideways' }); }, [["spec.containers[0].volumeMounts[0].subPath", "FieldValueInvalid", "Invalid value: \"../x\": must not contain '..'"], ["spec.containers[0].volumeMounts[0].subPathExpr", "FieldValueInvalid", "Invalid value: \"y\": subPathExpr and subPath are mutually exclusive"], ["spec.containers[0].volumeMounts[0].mountPropagation", "FieldValueNotSupported", "Unsupported value: \"Sideways\": supported values: \"Bidirectional\", \"HostToContainer\", \"None\""]]],
  ["mount readOnly not boolean", (spec) => { spec.containers[0].volumeMounts[0].readOnly = 'true'; }, [["spec.containers[0].volumeMounts[0].readOnly", "FieldValueTypeInvalid", "Invalid value: \"true\": must be of type boolean"]]],
  ["request above limit", (spec) => { spec.containers[0].resources.limits = { cpu: '50m', memory: '128Mi' }; }, [["spec.containers[0].resources.requests[cpu]", "FieldValueInvalid", "Invalid value: \"100m\": must be less than or equal to cpu limit of 50m"]]],
  ["negative and malformed quantities", (spec) => { spec.containers[0].resources.requests = { cpu: '-1', memory: 'lots', 'ephemeral-storage': 5 }; }, [["spec.containers[0].resources.requests[cpu]", "FieldValueInvalid", "Invalid value: \"-1\": must be greater than or equal to 0"], ["spec.containers[0].resources.requests[memory]", "FieldValueInvalid", "Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]]],
  ["non-standard resource names", (spec) => { spec.containers[0].resources.requests = { gpu: '1', 'example.com/dev': '1.5', 'hugepages-2Mi': '2Mi' }; }, [["spec.containers[0].resources.requests[gpu]", "FieldValueInvalid", "Invalid value: \"gpu\": must be a standard resource type or fully qualified"], ["spec.containers[0].resources.requests[example.com/dev]", "FieldValueInvalid", "Invalid value: \"1500m\": must be an integer"], ["spec.containers[0].resources.limits[example.com/dev]", "FieldValueForbidden", "Forbidden: Limit must be set for non overcommitable resources"], ["spec.containers[0].resources.limits[hugepages-2Mi]", "FieldValueForbidden", "Forbidden: Limit must be set for non overcommitable resources"]]],
  ["resources of the wrong type", (spec) => { spec.containers[0].resources = { requests: [], limits: 'x', claims: {} }; }, [["spec.containers[0].resources.limits", "FieldValueTypeInvalid", "Invalid value: \"x\": must be of type object"], ["spec.containers[0].resources.requests", "FieldValueTypeInvalid", "Invalid value: []: must be of type object"], ["spec.containers[0].resources.claims", "FieldValueTypeInvalid", "Invalid value: {}: must be of type array"]]],
  ["container name and policies invalid", (spec) => { Object.assign(spec.containers[0], { name: 'C', imagePullPolicy: 'Sometimes', terminationMessagePolicy: '' }); }, [["spec.containers[0].name", "FieldValueInvalid", "Invalid value: \"C\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"], ["spec.containers[0].terminationMessagePolicy", "FieldValueRequired", "Required value"], ["spec.containers[0].imagePullPolicy", "FieldValueNotSupported", "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""]]],
  ["container image missing and command wrong", (spec) => { Object.assign(spec.containers[0], { image: '', command: 'sh', args: [1] }); }, [["spec.containers[0].image", "FieldValueRequired", "Required value"], ["spec.containers[0].command", "FieldValueTypeInvalid", "Invalid value: \"sh\": must be of type array"], ["spec.containers[0].args[0]", "FieldValueTypeInvalid", "Invalid value: 1: must be of type string"]]],
  ["security context ids out of range", (spec) => { spec.securityContext = { runAsUser: -1, fsGroup: 2147483648, runAsNonRoot: 'no' }; spec.containers[0].securityContext = { runAsGroup: 1.5, privileged: 1 }; }, [["spec.containers[0].securityContext.runAsGroup", "FieldValueTypeInvalid", "Invalid value: 1.5: must be of type integer"], ["spec.containers[0].securityContext.privileged", "FieldValueTypeInvalid", "Invalid value: 1: must be of type boolean"], ["spec.securityContext.runAsUser", "FieldValueInvalid", "Invalid value: -1: must be between 0 and 2147483647, inclusive"], ["spec.securityContext.fsGroup", "FieldValueInvalid", "Invalid value: 2147483648: must be between 0 and 2147483647, inclusive"], ["spec.securityContext.runAsNonRoot", "FieldValueTypeInvalid", "Invalid value: \"no\": must be of type boolean"]]],
  ["pod fields invalid", (spec) => { Object.assign(spec, { restartPolicy: 'Sometimes', dnsPolicy: '', schedulerName: 'Default_Scheduler', hostname: 'Host', hostNetwork: 'yes', priority: 'high', activeDeadlineSeconds: 0 }); }, [["spec.hostNetwork", "FieldValueTypeInvalid", "Invalid value: \"yes\": must be of type boolean"], ["spec.restartPolicy", "FieldValueNotSupported", "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""], ["spec.dnsPolicy", "FieldValueRequired", "Required value"], ["spec.schedulerName", "FieldValueInvalid", "Invalid value: \"Default_Scheduler\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"], ["spec.hostname", "FieldValueInvalid", "Invalid value: \"Host\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"], ["spec.activeDeadlineSeconds", "FieldValueInvalid", "Invalid value: 0: must be between 1 and 4294967295, inclusive"], ["spec.priority", "FieldValueTypeInvalid", "Invalid value: \"high\": must be of type integer"]]],
  ["containers empty", (spec) => { spec.containers = []; }, [["spec.containers", "FieldValueRequired", "Required value"]]],
  ["containers with a non-object", (spec) => { spec.containers.unshift(7); }, [["spec.containers[0]", "FieldValueTypeInvalid", "Invalid value: 7: must be of type object"]]],
  ["duplicate container names across kinds", (spec) => { spec.initContainers = [{ name: 'c', image: 'i', terminationMessagePolicy: 'File', imagePullPolicy: 'Always' }]; }, [["spec.containers[0].name", "FieldValueDuplicate", "Duplicate value: \"c\""]]],
];

test('the benchmark pod and its near-valid variants get exactly the recorded causes', () => {
  for (const [name, mutate, want] of CASES) {
    const pod = benchPod();
    mutate(pod.spec);
    const got = validatePodSpec(pod.spec, 'spec', [], { isPod: true }).map((c) => [c.field, c.reason, c.message]);
    assert.deepEqual(got, want, name);
  }
});

test('the benchmark pod validates clean as a whole object, repeatedly', () => {
  const info = findKind('', 'v1', 'Pod');
  assert.ok(info);
  for (let i = 0; i < 50; i++) {
    const pod = benchPod();
    pod.metadata.name = `pod-${i}`;
    assert.deepEqual(validateObject(info, pod), []);
  }
});

test('array holes are skipped as before while undefined items are reported', () => {
  const holes = benchPod();
  holes.spec.containers[0].volumeMounts = [, holes.spec.containers[0].volumeMounts[0]]; // eslint-disable-line no-sparse-arrays
  assert.deepEqual(validatePodSpec(holes.spec, 'spec', [], { isPod: true }), []);
  const undef = benchPod();
  undef.spec.containers[0].volumeMounts.push(undefined);
  assert.deepEqual(validatePodSpec(undef.spec, 'spec', [], { isPod: true }).map((c) => c.field), ['spec.containers[0].volumeMounts[1]']);
});
