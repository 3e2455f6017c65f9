/**
 * Strategic-merge-patch metadata of the built-in kinds: the `patchStrategy` / `patchMergeKey` struct tags of the
 * upstream Go types (k8s.io/api, k8s.io/apimachinery ObjectMeta), transcribed as a small type graph. kube-apiserver
 * reads these tags by reflection; we have no Go structs, so the strategic merge walks this graph instead.
 *
 * Only the paths that lead to a tagged list or map are described. Anything not described behaves as upstream does
 * for an untagged field: maps merge key by key, lists are atomic (replaced wholesale). Types we know nothing about
 * (custom resources) therefore get plain JSON-merge-patch semantics.
 */

/** A Go `patchStrategy` tag value as upstream spells it. */
export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';

/** What the strategic merge needs to know about one JSON field of a Go struct. */
export interface FieldMeta {
  /** The type of the field's value (of each element when `list`); only given when that type has tagged fields
   * below it, so the walk can keep descending. */
  type?: string;
  /** The field is a JSON array (of `type` elements when `type` is given). */
  list?: true;
  /** `patchMergeKey`: the element field that identifies list items. Only meaningful with strategy merge. */
  mergeKey?: string;
  /** `patchStrategy`. Absent: maps merge, lists are replaced. */
  strategy?: PatchStrategy;
}

/** JSON field name → metadata, for one Go type. */
export type TypeMeta = Readonly<Record<string, FieldMeta>>;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const CORE = 'io.k8s.api.core.v1.';
const APPS = 'io.k8s.api.apps.v1.';
const BATCH = 'io.k8s.api.batch.v1.';

/** The field every object kind has. */
const objectMeta: FieldMeta = { type: META };
/** `conditions` lists tagged `patchStrategy:"merge" patchMergeKey:"type"` in many status types. */
const conditionsByType: FieldMeta = { list: true, mergeKey: 'type', strategy: 'merge' };
const podTemplate: FieldMeta = { type: CORE + 'PodTemplateSpec' };

/** The fields shared by Container and EphemeralContainerCommon (the ephemeral one is inlined upstream). */
const containerFields: TypeMeta = {
  ports: { list: true, mergeKey: 'containerPort', strategy: 'merge' },
  env: { list: true, mergeKey: 'name', strategy: 'merge' },
  volumeMounts: { list: true, mergeKey: 'mountPath', strategy: 'merge' },
  volumeDevices: { list: true, mergeKey: 'devicePath', strategy: 'merge' },
  // resizePolicy is `+listType=atomic` without a patchStrategy tag upstream, so it is replaced wholesale.
};

/**
 * Type name → tagged fields. Type names follow the OpenAPI definition names kube-apiserver publishes
 * (`io.k8s.api.apps.v1.Deployment`) so other modules (OpenAPI, SSA) can share them.
 */
export const PATCH_META: Readonly<Record<string, TypeMeta>> = {
  [META]: {
    finalizers: { list: true, strategy: 'merge' },
    ownerReferences: { list: true, mergeKey: 'uid', strategy: 'merge' },
  },

  // ---- core/v1 ----
  [CORE + 'PodTemplateSpec']: { metadata: objectMeta, spec: { type: CORE + 'PodSpec' } },
  [CORE + 'PodTemplate']: { metadata: objectMeta, template: podTemplate },
  [CORE + 'Pod']: { metadata: objectMeta, spec: { type: CORE + 'PodSpec' }, status: { type: CORE + 'PodStatus' } },
  [CORE + 'PodSpec']: {
    volumes: { type: CORE + 'Volume', list: true, mergeKey: 'name', strategy: 'merge,retainKeys' },
    initContainers: { type: CORE + 'Container', list: true, mergeKey: 'name', strategy: 'merge' },
    containers: { type: CORE + 'Container', list: true, mergeKey: 'name', strategy: 'merge' },
    ephemeralContainers: { type: CORE + 'EphemeralContainer', list: true, mergeKey: 'name', strategy: 'merge' },
    imagePullSecrets: { list: true, mergeKey: 'name', strategy: 'merge' },
    hostAliases: { list: true, mergeKey: 'ip', strategy: 'merge' },
    topologySpreadConstraints: { list: true, mergeKey: 'topologyKey', strategy: 'merge' },
    resourceClaims: { list: true, mergeKey: 'name', strategy: 'merge,retainKeys' },
    schedulingGates: { list: true, mergeKey: 'name', strategy: 'merge' },
    // tolerations, readinessGates, dnsConfig, affinity: untagged → atomic lists / merged maps.
  },
  // Volume inlines VolumeSource; the retainKeys strategy lives on PodSpec.volumes. No tagged fields below.
  [CORE + 'Volume']: {},
  [CORE + 'Container']: containerFields,
  [CORE + 'EphemeralContainer']: containerFields,
  [CORE + 'PodStatus']: {
    conditions: conditionsByType,
    podIPs: { list: true, mergeKey: 'ip', strategy: 'merge' },
    hostIPs: { list: true, mergeKey: 'ip', strategy: 'merge' },
    resourceClaimStatuses: { list: true, mergeKey: 'name', strategy: 'merge,retainKeys' },
  },
  [CORE + 'Node']: { metadata: objectMeta, spec: { type: CORE + 'NodeSpec' }, status: { type: CORE + 'NodeStatus' } },
  [CORE + 'NodeSpec']: { podCIDRs: { list: true, strategy: 'merge' } },
  [CORE + 'NodeStatus']: {
    conditions: conditionsByType,
    addresses: { list: true, mergeKey: 'type', strategy: 'merge' },
  },
  [CORE + 'Namespace']: { metadata: objectMeta, status: { type: CORE + 'NamespaceStatus' } },
  [CORE + 'NamespaceStatus']: { conditions: conditionsByType },
  [CORE + 'Service']: { metadata: objectMeta, spec: { type: CORE + 'ServiceSpec' }, status: { type: CORE + 'ServiceStatus' } },
  [CORE + 'ServiceSpec']: { ports: { list: true, mergeKey: 'port', strategy: 'merge' } },
  [CORE + 'ServiceStatus']: { conditions: conditionsByType },
  // Endpoints.subsets and its addresses/ports carry no patch tags upstream: atomic.
  [CORE + 'Endpoints']: { metadata: objectMeta },
  [CORE + 'ConfigMap']: { metadata: objectMeta },
  [CORE + 'Secret']: { metadata: objectMeta },
  [CORE + 'Event']: { metadata: objectMeta },
  [CORE + 'ServiceAccount']: { metadata: objectMeta, secrets: { list: true, mergeKey: 'name', strategy: 'merge' } },
  [CORE + 'ResourceQuota']: { metadata: objectMeta },
  [CORE + 'LimitRange']: { metadata: objectMeta },
  [CORE + 'PersistentVolume']: { metadata: objectMeta },
  [CORE + 'PersistentVolumeClaim']: { metadata: objectMeta, status: { type: CORE + 'PersistentVolumeClaimStatus' } },
  [CORE + 'PersistentVolumeClaimStatus']: { conditions: conditionsByType },

  // ---- apps/v1 ----
  [APPS + 'Deployment']: { metadata: objectMeta, spec: { type: APPS + 'DeploymentSpec' }, status: { type: APPS + 'DeploymentStatus' } },
  [APPS + 'DeploymentSpec']: { template: podTemplate, strategy: { strategy: 'retainKeys' } },
  [APPS + 'DeploymentStatus']: { conditions: conditionsByType },
  [APPS + 'ReplicaSet']: { metadata: objectMeta, spec: { type: APPS + 'ReplicaSetSpec' }, status: { type: APPS + 'ReplicaSetStatus' } },
  [APPS + 'ReplicaSetSpec']: { template: podTemplate },
  [APPS + 'ReplicaSetStatus']: { conditions: conditionsByType },
  [APPS + 'StatefulSet']: { metadata: objectMeta, spec: { type: APPS + 'StatefulSetSpec' }, status: { type: APPS + 'StatefulSetStatus' } },
  // volumeClaimTemplates and updateStrategy are untagged upstream.
  [APPS + 'StatefulSetSpec']: { template: podTemplate },
  [APPS + 'StatefulSetStatus']: { conditions: conditionsByType },
  [APPS + 'DaemonSet']: { metadata: objectMeta, spec: { type: APPS + 'DaemonSetSpec' }, status: { type: APPS + 'DaemonSetStatus' } },
  [APPS + 'DaemonSetSpec']: { template: podTemplate },
  [APPS + 'DaemonSetStatus']: { conditions: conditionsByType },
  [APPS + 'ControllerRevision']: { metadata: objectMeta },

  // ---- batch/v1 ----
  [BATCH + 'Job']: { metadata: objectMeta, spec: { type: BATCH + 'JobSpec' }, status: { type: BATCH + 'JobStatus' } },
  [BATCH + 'JobSpec']: { template: podTemplate },
  [BATCH + 'JobStatus']: { conditions: conditionsByType },
  [BATCH + 'CronJob']: { metadata: objectMeta, spec: { type: BATCH + 'CronJobSpec' } },
  [BATCH + 'CronJobSpec']: { jobTemplate: { type: BATCH + 'JobTemplateSpec' } },
  [BATCH + 'JobTemplateSpec']: { metadata: objectMeta, spec: { type: BATCH + 'JobSpec' } },

  // ---- kinds whose only tagged fields are in ObjectMeta (or in status conditions) ----
  'io.k8s.api.networking.v1.Ingress': { metadata: objectMeta },
  'io.k8s.api.networking.v1.IngressClass': { metadata: objectMeta },
  'io.k8s.api.networking.v1.NetworkPolicy': { metadata: objectMeta },
  'io.k8s.api.coordination.v1.Lease': { metadata: objectMeta },
  'io.k8s.api.discovery.v1.EndpointSlice': { metadata: objectMeta },
  'io.k8s.api.scheduling.v1.PriorityClass': { metadata: objectMeta },
  'io.k8s.api.events.v1.Event': { metadata: objectMeta },
  'io.k8s.api.policy.v1.PodDisruptionBudget': { metadata: objectMeta, status: { type: 'io.k8s.api.policy.v1.PodDisruptionBudgetStatus' } },
  'io.k8s.api.policy.v1.PodDisruptionBudgetStatus': { conditions: conditionsByType },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler': {
    metadata: objectMeta,
    status: { type: 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus' },
  },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus': { conditions: conditionsByType },
  'io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler': { metadata: objectMeta },
  'io.k8s.api.autoscaling.v1.Scale': { metadata: objectMeta },
  'io.k8s.api.rbac.v1.Role': { metadata: objectMeta },
  'io.k8s.api.rbac.v1.RoleBinding': { metadata: objectMeta },
  'io.k8s.api.rbac.v1.ClusterRole': { metadata: objectMeta },
  'io.k8s.api.rbac.v1.ClusterRoleBinding': { metadata: objectMeta },
};

/**
 * `apiVersion kind` → root type name, e.g. `apps/v1 Deployment` → `io.k8s.api.apps.v1.Deployment`. Only kinds we
 * have metadata for are listed; the apiserver treats any other kind (CRDs) as untyped.
 */
export const ROOT_TYPES: Readonly<Record<string, string>> = (() => {
  const out: Record<string, string> = {};
  for (const name of Object.keys(PATCH_META)) {
    const m = /^io\.k8s\.api\.([a-z0-9]+)\.(v[0-9a-z]+)\.([A-Z][A-Za-z]*)$/.exec(name);
    if (!m) continue;
    const [, pkg, version, kind] = m;
    if (!PATCH_META[name]!.metadata) continue; // only object kinds (they have metadata) are roots
    const group = ({ core: '', apps: 'apps', batch: 'batch', policy: 'policy', autoscaling: 'autoscaling',
      networking: 'networking.k8s.io', coordination: 'coordination.k8s.io', discovery: 'discovery.k8s.io',
      scheduling: 'scheduling.k8s.io', events: 'events.k8s.io', rbac: 'rbac.authorization.k8s.io' } as Record<string, string>)[pkg!];
    if (group === undefined) continue;
    out[`${group ? group + '/' : ''}${version} ${kind}`] = name;
  }
  return out;
})();

/** The root type of a served kind, or undefined for kinds without strategic-merge metadata (custom resources). */
export function rootTypeName(apiVersion: string, kind: string): string | undefined {
  return ROOT_TYPES[`${apiVersion} ${kind}`];
}

/**
 * The patch metadata of `field` in `typeName`; undefined when the type or field carries no tags (the field then
 * behaves as untagged: maps merge, lists are replaced). Own-property lookups only, so `__proto__` and friends in
 * user JSON never resolve to something.
 */
export function fieldMeta(typeName: string | undefined, field: string): FieldMeta | undefined {
  if (typeName === undefined || !Object.prototype.hasOwnProperty.call(PATCH_META, typeName)) return undefined;
  const t = PATCH_META[typeName]!;
  return Object.prototype.hasOwnProperty.call(t, field) ? t[field] : undefined;
}
