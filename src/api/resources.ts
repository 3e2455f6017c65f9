/**
 * The kinds the apiserver serves: group/version/resource, scope, short names, categories and subresources as
 * kube-apiserver 1.32 lists them in discovery. Every other module (routing, discovery, OpenAPI, protobuf, tables,
 * validation) looks kinds up here so a kind is declared once.
 */

export interface SubresourceInfo {
  /** `status`, `scale`, `binding`, `token`, `log`, `exec`, ... */
  name: string;
  /** The kind the subresource reads and writes (Scale for scale, the parent kind for status). */
  kind: string;
  group: string;
  version: string;
  verbs: string[];
}

export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  kind: string;
  listKind: string;
  /** Plural lower-case name used in URLs. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: SubresourceInfo[];
  /** Storage key segment: resources of one group share storage across versions (e.g. HPA v1/v2). */
  storageResource: string;
  /** The group whose storage is used (events.k8s.io shares core events' storage). */
  storageGroup: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const CREATE_ONLY = ['create'];

interface Def {
  kind: string;
  resource: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: boolean;
  verbs?: string[];
  extraSub?: Array<Omit<SubresourceInfo, 'group' | 'version'> & { group?: string; version?: string }>;
  storageGroup?: string;
  storageResource?: string;
}

const GROUPS: Array<{ group: string; version: string; defs: Def[] }> = [
  {
    group: '', version: 'v1', defs: [
      { kind: 'Namespace', resource: 'namespaces', namespaced: false, shortNames: ['ns'], status: true,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        extraSub: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }] },
      { kind: 'Pod', resource: 'pods', namespaced: false, shortNames: ['po'], categories: ['all'], status: true,
        extraSub: [
          { name: 'binding', kind: 'Binding', verbs: ['create'] },
          { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
          { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
          { name: 'log', kind: 'Pod', verbs: ['get'] },
          { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
          { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
          { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
        ] },
      { kind: 'Node', resource: 'nodes', namespaced: false, shortNames: ['no'], status: true,
        extraSub: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }] },
      { kind: 'Service', resource: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
      { kind: 'Endpoints', resource: 'endpoints', namespaced: true, shortNames: ['ep'] },
      { kind: 'ConfigMap', resource: 'configmaps', namespaced: true, shortNames: ['cm'] },
      { kind: 'Secret', resource: 'secrets', namespaced: true },
      { kind: 'Event', resource: 'events', namespaced: true, shortNames: ['ev'] },
      { kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true, shortNames: ['sa'],
        extraSub: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }] },
      { kind: 'ResourceQuota', resource: 'resourcequotas', namespaced: true, shortNames: ['quota'], status: true },
      { kind: 'LimitRange', resource: 'limitranges', namespaced: true, shortNames: ['limits'] },
      { kind: 'PersistentVolume', resource: 'persistentvolumes', namespaced: false, shortNames: ['pv'], status: true },
      { kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true, shortNames: ['pvc'], status: true },
    ],
  },
  {
    group: 'apps', version: 'v1', defs: [
      { kind: 'Deployment', resource: 'deployments', namespaced: true, shortNames: ['deploy'], categories: ['all'], status: true, scale: true },
      { kind: 'ReplicaSet', resource: 'replicasets', namespaced: true, shortNames: ['rs'], categories: ['all'], status: true, scale: true },
      { kind: 'StatefulSet', resource: 'statefulsets', namespaced: true, shortNames: ['sts'], categories: ['all'], status: true, scale: true },
      { kind: 'DaemonSet', resource: 'daemonsets', namespaced: true, shortNames: ['ds'], categories: ['all'], status: true },
      { kind: 'ControllerRevision', resource: 'controllerrevisions', namespaced: true },
    ],
  },
  {
    group: 'batch', version: 'v1', defs: [
      { kind: 'Job', resource: 'jobs', namespaced: true, categories: ['all'], status: true },
      { kind: 'CronJob', resource: 'cronjobs', namespaced: true, shortNames: ['cj'], categories: ['all'], status: true },
    ],
  },
  {
    group: 'networking.k8s.io', version: 'v1', defs: [
      { kind: 'Ingress', resource: 'ingresses', namespaced: true, shortNames: ['ing'], status: true },
      { kind: 'IngressClass', resource: 'ingressclasses', namespaced: false },
      { kind: 'NetworkPolicy', resource: 'networkpolicies', namespaced: true, shortNames: ['netpol'] },
    ],
  },
  { group: 'coordination.k8s.io', version: 'v1', defs: [{ kind: 'Lease', resource: 'leases', namespaced: true }] },
  { group: 'discovery.k8s.io', version: 'v1', defs: [{ kind: 'EndpointSlice', resource: 'endpointslices', namespaced: true }] },
  { group: 'scheduling.k8s.io', version: 'v1', defs: [{ kind: 'PriorityClass', resource: 'priorityclasses', namespaced: false, shortNames: ['pc'] }] },
  // Gang scheduling (scheduler-plugins' PodGroup), served as a built-in kind until CRDs arrive; see
  // src/scheduler/plugins/coscheduling/. No OpenAPI schema: fields are kept as sent, no defaults or validation here.
  { group: 'scheduling.x-k8s.io', version: 'v1alpha1', defs: [{ kind: 'PodGroup', resource: 'podgroups', namespaced: true, shortNames: ['pg', 'pgs'], status: true }] },
  { group: 'events.k8s.io', version: 'v1', defs: [{ kind: 'Event', resource: 'events', namespaced: true, shortNames: ['ev'], storageGroup: '' }] },
  { group: 'policy', version: 'v1', defs: [{ kind: 'PodDisruptionBudget', resource: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'], status: true }] },
  {
    group: 'autoscaling', version: 'v2', defs: [
      { kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'], status: true },
    ],
  },
  {
    group: 'autoscaling', version: 'v1', defs: [
      { kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'], status: true },
    ],
  },
  {
    group: 'rbac.authorization.k8s.io', version: 'v1', defs: [
      { kind: 'Role', resource: 'roles', namespaced: true },
      { kind: 'RoleBinding', resource: 'rolebindings', namespaced: true },
      { kind: 'ClusterRole', resource: 'clusterroles', namespaced: false },
      { kind: 'ClusterRoleBinding', resource: 'clusterrolebindings', namespaced: false },
    ],
  },
  {
    group: 'authorization.k8s.io', version: 'v1', defs: [
      { kind: 'SelfSubjectAccessReview', resource: 'selfsubjectaccessreviews', namespaced: false, verbs: CREATE_ONLY },
      { kind: 'SelfSubjectRulesReview', resource: 'selfsubjectrulesreviews', namespaced: false, verbs: CREATE_ONLY },
      { kind: 'SubjectAccessReview', resource: 'subjectaccessreviews', namespaced: false, verbs: CREATE_ONLY },
    ],
  },
  {
    group: 'authentication.k8s.io', version: 'v1', defs: [
      { kind: 'SelfSubjectReview', resource: 'selfsubjectreviews', namespaced: false, verbs: CREATE_ONLY },
      { kind: 'TokenReview', resource: 'tokenreviews', namespaced: false, verbs: CREATE_ONLY },
    ],
  },
];

// Pods are namespaced; the flag above is fixed here to keep the table readable.
for (const g of GROUPS) for (const d of g.defs) if (d.kind === 'Pod') d.namespaced = true;

function build(): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  for (const g of GROUPS) {
    for (const d of g.defs) {
      const subresources: SubresourceInfo[] = [];
      if (d.status) subresources.push({ name: 'status', kind: d.kind, group: g.group, version: g.version, verbs: ['get', 'patch', 'update'] });
      if (d.scale) subresources.push({ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] });
      for (const s of d.extraSub ?? []) subresources.push({ group: g.group, version: g.version, ...s });
      out.push({
        group: g.group,
        version: g.version,
        kind: d.kind,
        listKind: `${d.kind}List`,
        resource: d.resource,
        singular: d.kind.toLowerCase(),
        namespaced: d.namespaced,
        shortNames: d.shortNames ?? [],
        categories: d.categories ?? [],
        verbs: d.verbs ?? ALL_VERBS,
        subresources,
        storageGroup: d.storageGroup ?? g.group,
        storageResource: d.storageResource ?? d.resource,
      });
    }
  }
  return out;
}

/** Every served resource, in discovery order (first version of a group listed is its preferred version). */
export const RESOURCES: readonly ResourceInfo[] = build();

/** Group → versions in preference order. */
export function groupVersions(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of RESOURCES) {
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return m;
}

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

const byGVR = new Map<string, ResourceInfo>();
const byGVK = new Map<string, ResourceInfo>();
for (const r of RESOURCES) {
  byGVR.set(`${r.group}/${r.version}/${r.resource}`, r);
  byGVK.set(`${r.group}/${r.version}/${r.kind}`, r);
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return byGVR.get(`${group}/${version}/${resource}`);
}

export function findKind(group: string, version: string, kind: string): ResourceInfo | undefined {
  return byGVK.get(`${group}/${version}/${kind}`);
}

/** Splits an apiVersion string into group and version ("apps/v1" → apps, v1; "v1" → "", v1). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Kinds whose objects carry a `spec` worth generation tracking (everything with a status subresource). */
export function tracksGeneration(r: ResourceInfo): boolean {
  return r.subresources.some((s) => s.name === 'status') && r.kind !== 'Namespace' && r.kind !== 'Node';
}
