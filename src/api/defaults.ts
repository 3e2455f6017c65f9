/**
 * Server-side defaulting: what kube-apiserver 1.32 fills in when it decodes an object (the generated
 * `SetObjectDefaults_*` functions of pkg/apis/<group>/v1/defaults.go), plus the few create-time strategy steps that
 * clients observe as defaults (a Namespace's `kubernetes` finalizer, a Job's generated selector and labels).
 *
 * Every function tolerates arbitrary JSON: a field of the wrong shape is left alone for validation to report.
 */

import type { KObject } from './errors.js';
import type { ResourceInfo } from './resources.js';
import { canonicalQuantityValue } from './quantity.js';

type Rec = Record<string, unknown>;

const isObj = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Go zero values that defaulting treats as "unset": absent, null, and the empty string. */
const unset = (v: unknown): boolean => v === undefined || v === null || v === '';
const objAt = (o: Rec, k: string): Rec | undefined => (isObj(o[k]) ? (o[k] as Rec) : undefined);
const arrAt = (o: Rec, k: string): unknown[] => (Array.isArray(o[k]) ? (o[k] as unknown[]) : []);
const objsAt = (o: Rec, k: string): Rec[] => arrAt(o, k).filter(isObj);

/** Returns o[k] as an object, creating `{}` when absent or null; undefined when it holds something else. */
function ensureObj(o: Rec, k: string): Rec | undefined {
  if (o[k] === undefined || o[k] === null) o[k] = {};
  return objAt(o, k);
}

function def(o: Rec | undefined, k: string, v: unknown): void {
  if (o && unset(o[k])) o[k] = typeof v === 'object' && v !== null ? cloneDefault(v) : v;
}

/** A fresh copy of a default value; the common `{}` (every pod's securityContext) without structuredClone. */
function cloneDefault(v: object): unknown {
  if (!Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype) {
    let empty = true;
    for (const _ in v) { empty = false; break; }
    if (empty) return {};
  }
  return structuredClone(v);
}

/** Re-prints a quantity the way the apiserver's Go round trip does; invalid values are left for validation. */
function canonQ(v: unknown, roundMilli: boolean): unknown {
  if (typeof v !== 'string' && typeof v !== 'number') return v;
  return canonicalQuantityValue(v, roundMilli);
}

/** `SetDefaults_ResourceList`: every value canonicalized and rounded up to milli precision. */
export function normalizeResourceList(list: unknown): void {
  if (!isObj(list)) return;
  for (const k of Object.keys(list)) list[k] = canonQ(list[k], true);
}

function normQuantityField(o: Rec | undefined, k: string): void {
  if (o && o[k] !== undefined && o[k] !== null) o[k] = canonQ(o[k], false);
}

/**
 * `SetDefaults_Container`'s pull-policy rule: `Always` when the image resolves to the `latest` tag (explicit, or no
 * tag and no digest), else `IfNotPresent`.
 */
export function defaultPullPolicy(image: unknown): 'Always' | 'IfNotPresent' {
  if (typeof image !== 'string' || image === '') return 'IfNotPresent';
  let name = image;
  const at = name.indexOf('@');
  const hasDigest = at >= 0;
  if (hasDigest) name = name.slice(0, at);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const tag = colon > slash ? name.slice(colon + 1) : hasDigest ? '' : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultFieldRef(envSource: Rec | undefined): void {
  const ref = envSource && objAt(envSource, 'fieldRef');
  def(ref, 'apiVersion', 'v1');
}

function defaultHTTPGet(handler: Rec | undefined): void {
  const h = handler && objAt(handler, 'httpGet');
  def(h, 'path', '/');
  def(h, 'scheme', 'HTTP');
}

function defaultProbe(p: Rec | undefined): void {
  if (!p) return;
  def(p, 'timeoutSeconds', 1);
  def(p, 'periodSeconds', 10);
  def(p, 'successThreshold', 1);
  def(p, 'failureThreshold', 3);
  defaultHTTPGet(p);
}

function defaultContainer(c: Rec): void {
  def(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  def(c, 'terminationMessagePath', '/dev/termination-log');
  def(c, 'terminationMessagePolicy', 'File');
  const res = ensureObj(c, 'resources');
  if (res) {
    normalizeResourceList(res.limits);
    normalizeResourceList(res.requests);
  }
  for (const p of objsAt(c, 'ports')) def(p, 'protocol', 'TCP');
  for (const e of objsAt(c, 'env')) defaultFieldRef(objAt(e, 'valueFrom'));
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(objAt(c, k));
  const lc = objAt(c, 'lifecycle');
  if (lc) for (const k of ['postStart', 'preStop']) defaultHTTPGet(objAt(lc, k));
}

/** `SetDefaults_PersistentVolumeClaimSpec` (+ the template's metadata and requests normalization). */
function defaultPVCSpec(spec: Rec | undefined): void {
  if (!spec) return;
  def(spec, 'volumeMode', 'Filesystem');
  const res = objAt(spec, 'resources');
  if (res) {
    normalizeResourceList(res.requests);
    normalizeResourceList(res.limits);
  }
}

function defaultDownwardItems(o: Rec | undefined): void {
  if (!o) return;
  for (const it of objsAt(o, 'items')) {
    defaultFieldRef(it);
    const rf = objAt(it, 'resourceFieldRef');
    if (rf) normQuantityField(rf, 'divisor');
  }
}

function defaultVolume(v: Rec): void {
  const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
  if (sources.length === 0) v.emptyDir = {};
  for (const k of ['configMap', 'secret', 'downwardAPI', 'projected']) def(objAt(v, k), 'defaultMode', 420);
  defaultDownwardItems(objAt(v, 'downwardAPI'));
  const ed = objAt(v, 'emptyDir');
  if (ed) normQuantityField(ed, 'sizeLimit');
  def(objAt(v, 'hostPath'), 'type', '');
  def(objAt(v, 'iscsi'), 'iscsiInterface', 'default');
  const rbd = objAt(v, 'rbd');
  def(rbd, 'pool', 'rbd');
  def(rbd, 'user', 'admin');
  def(rbd, 'keyring', '/etc/ceph/keyring');
  const proj = objAt(v, 'projected');
  if (proj) {
    for (const s of objsAt(proj, 'sources')) {
      def(objAt(s, 'serviceAccountToken'), 'expirationSeconds', 3600);
      defaultDownwardItems(objAt(s, 'downwardAPI'));
    }
  }
  const eph = objAt(v, 'ephemeral');
  const vct = eph && objAt(eph, 'volumeClaimTemplate');
  if (vct) {
    const md = ensureObj(vct, 'metadata');
    if (md && !('creationTimestamp' in md)) md.creationTimestamp = null;
    defaultPVCSpec(objAt(vct, 'spec'));
  }
}

/**
 * `SetDefaults_PodSpec` and everything the generated defaulter reaches under a PodSpec (containers, probes,
 * volumes, resource lists). `isPod` adds the Pod-only `SetDefaults_Pod` steps: `enableServiceLinks`, requests
 * copied from limits, and host ports on hostNetwork pods — templates in workloads do not get those.
 */
export function defaultPodSpec(spec: Rec, isPod: boolean): void {
  def(spec, 'dnsPolicy', 'ClusterFirst');
  def(spec, 'restartPolicy', 'Always');
  def(spec, 'securityContext', {});
  def(spec, 'terminationGracePeriodSeconds', 30);
  def(spec, 'schedulerName', 'default-scheduler');
  for (const k of ['initContainers', 'containers', 'ephemeralContainers']) for (const c of objsAt(spec, k)) defaultContainer(c);
  for (const v of objsAt(spec, 'volumes')) defaultVolume(v);
  normalizeResourceList(spec.overhead);
  if (isPod) {
    def(spec, 'enableServiceLinks', true);
    for (const k of ['initContainers', 'containers']) {
      for (const c of objsAt(spec, k)) {
        const res = objAt(c, 'resources');
        const limits = res && objAt(res, 'limits');
        if (!res || !limits || Object.keys(limits).length === 0) continue;
        const requests = ensureObj(res, 'requests');
        if (!requests) continue;
        for (const [rk, rv] of Object.entries(limits)) if (!(rk in requests)) requests[rk] = rv;
      }
      if (spec.hostNetwork === true) {
        for (const c of objsAt(spec, k)) for (const p of objsAt(c, 'ports')) if (unset(p.hostPort) || p.hostPort === 0) p.hostPort = p.containerPort;
      }
    }
  }
}

/** A PodTemplateSpec inside a workload: Go prints its zero `creationTimestamp` as null, and the spec gets pod defaults. */
export function defaultPodTemplate(tpl: unknown): void {
  if (!isObj(tpl)) return;
  const md = ensureObj(tpl, 'metadata');
  if (md && !('creationTimestamp' in md)) md.creationTimestamp = null;
  const spec = objAt(tpl, 'spec');
  if (spec) defaultPodSpec(spec, false);
}

function defaultJobSpec(spec: Rec | undefined): void {
  if (!spec) return;
  defaultPodTemplate(spec.template);
}

function defaultService(spec: Rec): void {
  def(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = ensureObj(spec, 'sessionAffinityConfig');
    const ip = cfg && ensureObj(cfg, 'clientIP');
    def(ip, 'timeoutSeconds', 10800);
  }
  def(spec, 'type', 'ClusterIP');
  for (const p of objsAt(spec, 'ports')) {
    def(p, 'protocol', 'TCP');
    if ((unset(p.targetPort) || p.targetPort === 0) && typeof p.port === 'number') p.targetPort = p.port;
  }
  const type = spec.type;
  const externallyAccessible = type === 'LoadBalancer' || type === 'NodePort'
    || (type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
  if (externallyAccessible) def(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP') def(spec, 'internalTrafficPolicy', 'Cluster');
  if (type === 'LoadBalancer') def(spec, 'allocateLoadBalancerNodePorts', true);
  if (type !== 'ExternalName') {
    // The service REST storage fills the IP family fields on a single-stack cluster; headless services without a
    // selector are marked RequireDualStack as upstream does.
    const headless = spec.clusterIP === 'None';
    const selectorless = !isObj(spec.selector) || Object.keys(spec.selector).length === 0;
    if (headless && selectorless) {
      def(spec, 'ipFamilyPolicy', 'RequireDualStack');
      def(spec, 'ipFamilies', ['IPv4', 'IPv6']);
    } else {
      def(spec, 'ipFamilyPolicy', 'SingleStack');
      const ip = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
      def(spec, 'ipFamilies', [ip.includes(':') ? 'IPv6' : 'IPv4']);
    }
  }
}

function defaultLimitRange(spec: Rec): void {
  for (const item of objsAt(spec, 'limits')) {
    for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) normalizeResourceList(item[k]);
    if (item.type !== 'Container') continue;
    const dflt: Rec = isObj(item.default) ? item.default : {};
    const dreq: Rec = isObj(item.defaultRequest) ? item.defaultRequest : {};
    if (isObj(item.max)) for (const [k, v] of Object.entries(item.max)) if (!(k in dflt)) dflt[k] = v;
    for (const [k, v] of Object.entries(dflt)) if (!(k in dreq)) dreq[k] = v;
    if (isObj(item.min)) for (const [k, v] of Object.entries(item.min)) if (!(k in dreq)) dreq[k] = v;
    if (Object.keys(dflt).length && (item.default === undefined || item.default === null || isObj(item.default))) item.default = dflt;
    if (Object.keys(dreq).length && (item.defaultRequest === undefined || item.defaultRequest === null || isObj(item.defaultRequest))) item.defaultRequest = dreq;
  }
}

const HPA_SCALE_UP = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
const HPA_SCALE_DOWN = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

function defaultHPARules(behavior: Rec, key: string, dflt: Rec): void {
  const cur = behavior[key];
  if (cur === undefined || cur === null) { behavior[key] = structuredClone(dflt); return; }
  if (!isObj(cur)) return;
  for (const [k, v] of Object.entries(dflt)) if (cur[k] === undefined || cur[k] === null) cur[k] = structuredClone(v);
}

function defaultMetricTargets(metrics: Rec[]): void {
  for (const m of metrics) {
    for (const src of ['resource', 'containerResource', 'pods', 'object', 'external']) {
      const s = objAt(m, src);
      const t = s && objAt(s, 'target');
      if (t) { normQuantityField(t, 'value'); normQuantityField(t, 'averageValue'); }
    }
  }
}

/** Generates a Job's selector and labels the way the job strategy does on create (`generateSelector`). */
function generateJobSelector(obj: KObject, spec: Rec): void {
  if (spec.manualSelector === true) return;
  const uid = obj.metadata?.uid;
  const name = obj.metadata?.name;
  if (typeof uid !== 'string' || uid === '') return;
  const tpl = objAt(spec, 'template');
  if (!tpl) return;
  const md = ensureObj(tpl, 'metadata');
  const labels = md && ensureObj(md, 'labels');
  if (!labels) return;
  for (const k of ['job-name', 'batch.kubernetes.io/job-name']) if (!(k in labels)) labels[k] = name ?? '';
  for (const k of ['controller-uid', 'batch.kubernetes.io/controller-uid']) if (!(k in labels)) labels[k] = uid;
  const sel = ensureObj(spec, 'selector');
  const ml = sel && ensureObj(sel, 'matchLabels');
  if (ml && !('batch.kubernetes.io/controller-uid' in ml)) ml['batch.kubernetes.io/controller-uid'] = uid;
}

/**
 * Applies kube-apiserver 1.32 defaults to `obj` in place. `old` is the stored object on update; create-only steps
 * (a Namespace's `kubernetes` finalizer, a Job's generated selector) run only when it is absent, as upstream runs
 * them in the create strategy.
 */
export function applyDefaults(info: ResourceInfo, obj: KObject, old?: KObject): void {
  if (!isObj(obj)) return;
  const create = old === undefined;
  const spec = objAt(obj, 'spec');
  const status = objAt(obj, 'status');
  const g = info.group;
  switch (`${g}/${info.kind}`) {
    case '/Pod':
      if (spec) defaultPodSpec(spec, true);
      break;
    case '/Service':
      if (spec) defaultService(spec);
      break;
    case '/Namespace': {
      const md = isObj(obj.metadata) ? obj.metadata : undefined;
      if (md && typeof md.name === 'string' && md.name !== '') {
        const labels = ensureObj(md, 'labels');
        if (labels) labels['kubernetes.io/metadata.name'] = md.name;
      }
      const st = ensureObj(obj, 'status');
      def(st, 'phase', 'Active');
      if (create) {
        const sp = ensureObj(obj, 'spec');
        if (sp) {
          if (unset(sp.finalizers)) sp.finalizers = ['kubernetes'];
          else if (Array.isArray(sp.finalizers) && !sp.finalizers.includes('kubernetes')) sp.finalizers.push('kubernetes');
        }
      }
      break;
    }
    case '/Secret':
      def(obj, 'type', 'Opaque');
      break;
    case '/Endpoints':
      for (const s of objsAt(obj, 'subsets')) for (const p of objsAt(s, 'ports')) def(p, 'protocol', 'TCP');
      break;
    case '/PersistentVolumeClaim': {
      defaultPVCSpec(spec);
      const st = ensureObj(obj, 'status');
      def(st, 'phase', 'Pending');
      if (st) { normalizeResourceList(st.capacity); normalizeResourceList(st.allocatedResources); }
      break;
    }
    case '/PersistentVolume': {
      if (spec) {
        def(spec, 'persistentVolumeReclaimPolicy', 'Retain');
        def(spec, 'volumeMode', 'Filesystem');
        normalizeResourceList(spec.capacity);
        def(objAt(spec, 'hostPath'), 'type', '');
      }
      const st = ensureObj(obj, 'status');
      def(st, 'phase', 'Pending');
      break;
    }
    case '/Node':
      if (status) {
        normalizeResourceList(status.capacity);
        normalizeResourceList(status.allocatable);
        if (unset(status.allocatable) && isObj(status.capacity)) status.allocatable = structuredClone(status.capacity);
      }
      break;
    case '/ResourceQuota':
      if (spec) normalizeResourceList(spec.hard);
      if (status) { normalizeResourceList(status.hard); normalizeResourceList(status.used); }
      break;
    case '/LimitRange':
      if (spec) defaultLimitRange(spec);
      break;
    case 'apps/Deployment':
      if (spec) {
        def(spec, 'replicas', 1);
        const strategy = ensureObj(spec, 'strategy');
        if (strategy) {
          def(strategy, 'type', 'RollingUpdate');
          if (strategy.type === 'RollingUpdate') {
            const ru = ensureObj(strategy, 'rollingUpdate');
            def(ru, 'maxUnavailable', '25%');
            def(ru, 'maxSurge', '25%');
          }
        }
        def(spec, 'revisionHistoryLimit', 10);
        def(spec, 'progressDeadlineSeconds', 600);
        defaultPodTemplate(spec.template);
      }
      break;
    case 'apps/ReplicaSet':
      if (spec) {
        def(spec, 'replicas', 1);
        defaultPodTemplate(spec.template);
      }
      break;
    case 'apps/StatefulSet':
      if (spec) {
        def(spec, 'podManagementPolicy', 'OrderedReady');
        const us = ensureObj(spec, 'updateStrategy');
        if (us) {
          def(us, 'type', 'RollingUpdate');
          if (us.type === 'RollingUpdate') def(ensureObj(us, 'rollingUpdate'), 'partition', 0);
        }
        const rp = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
        def(rp, 'whenDeleted', 'Retain');
        def(rp, 'whenScaled', 'Retain');
        def(spec, 'replicas', 1);
        def(spec, 'revisionHistoryLimit', 10);
        defaultPodTemplate(spec.template);
        for (const t of objsAt(spec, 'volumeClaimTemplates')) {
          def(t, 'apiVersion', 'v1');
          def(t, 'kind', 'PersistentVolumeClaim');
          const md = ensureObj(t, 'metadata');
          if (md && !('creationTimestamp' in md)) md.creationTimestamp = null;
          defaultPVCSpec(objAt(t, 'spec'));
          def(ensureObj(t, 'status'), 'phase', 'Pending');
        }
      }
      break;
    case 'apps/DaemonSet':
      if (spec) {
        const us = ensureObj(spec, 'updateStrategy');
        if (us) {
          def(us, 'type', 'RollingUpdate');
          if (us.type === 'RollingUpdate') {
            const ru = ensureObj(us, 'rollingUpdate');
            def(ru, 'maxUnavailable', 1);
            def(ru, 'maxSurge', 0);
          }
        }
        def(spec, 'revisionHistoryLimit', 10);
        defaultPodTemplate(spec.template);
      }
      break;
    case 'batch/Job':
      if (spec) {
        if (unset(spec.completions) && unset(spec.parallelism)) { spec.completions = 1; spec.parallelism = 1; }
        def(spec, 'parallelism', 1);
        def(spec, 'backoffLimit', unset(spec.backoffLimitPerIndex) ? 6 : 2147483647);
        def(spec, 'completionMode', 'NonIndexed');
        def(spec, 'suspend', false);
        const pfp = objAt(spec, 'podFailurePolicy');
        if (pfp) for (const r of objsAt(pfp, 'rules')) for (const c of objsAt(r, 'onPodConditions')) def(c, 'status', 'True');
        def(spec, 'podReplacementPolicy', pfp ? 'Failed' : 'TerminatingOrFailed');
        defaultJobSpec(spec);
        if (create) generateJobSelector(obj, spec);
        // SetDefaults_Job copies the template's labels onto an unlabelled Job (re-applied when read back, so the
        // generated labels show on the Job too).
        const tpl = objAt(spec, 'template');
        const tl = tpl && objAt(tpl, 'metadata') && objAt(objAt(tpl, 'metadata')!, 'labels');
        const md = isObj(obj.metadata) ? obj.metadata : undefined;
        if (tl && md && (unset(md.labels) || (isObj(md.labels) && Object.keys(md.labels).length === 0))) md.labels = { ...tl } as Record<string, string>;
      }
      break;
    case 'batch/CronJob':
      if (spec) {
        def(spec, 'concurrencyPolicy', 'Allow');
        def(spec, 'suspend', false);
        def(spec, 'successfulJobsHistoryLimit', 3);
        def(spec, 'failedJobsHistoryLimit', 1);
        const jt = objAt(spec, 'jobTemplate');
        if (jt) {
          const md = ensureObj(jt, 'metadata');
          if (md && !('creationTimestamp' in md)) md.creationTimestamp = null;
          defaultJobSpec(objAt(jt, 'spec'));
        }
      }
      break;
    case 'networking.k8s.io/NetworkPolicy':
      if (spec) {
        for (const dir of ['ingress', 'egress']) for (const r of objsAt(spec, dir)) for (const p of objsAt(r, 'ports')) def(p, 'protocol', 'TCP');
        if (unset(spec.policyTypes) || (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)) {
          spec.policyTypes = arrAt(spec, 'egress').length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
        }
      }
      break;
    case 'discovery.k8s.io/EndpointSlice':
      for (const p of objsAt(obj, 'ports')) {
        if (p.name === undefined || p.name === null) p.name = '';
        def(p, 'protocol', 'TCP');
      }
      break;
    case 'scheduling.k8s.io/PriorityClass':
      def(obj, 'preemptionPolicy', 'PreemptLowerPriority');
      break;
    case 'autoscaling/HorizontalPodAutoscaler':
      if (spec) {
        def(spec, 'minReplicas', 1);
        if (info.version === 'v2') {
          if (unset(spec.metrics) || (Array.isArray(spec.metrics) && spec.metrics.length === 0)) {
            spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
          }
          defaultMetricTargets(objsAt(spec, 'metrics'));
          const b = objAt(spec, 'behavior');
          if (b) {
            defaultHPARules(b, 'scaleUp', HPA_SCALE_UP);
            defaultHPARules(b, 'scaleDown', HPA_SCALE_DOWN);
          }
        }
      }
      break;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding': {
      def(objAt(obj, 'roleRef'), 'apiGroup', 'rbac.authorization.k8s.io');
      for (const s of objsAt(obj, 'subjects')) {
        if (!unset(s.apiGroup)) continue;
        // ServiceAccount subjects keep the empty group, which Go omits when printing.
        if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = 'rbac.authorization.k8s.io';
      }
      break;
    }
    default:
      break;
  }
}
