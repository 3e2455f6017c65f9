/**
 * Pure helpers of the Deployment controller (upstream `pkg/controller/deployment/util/deployment_util.go`,
 * `pkg/util/hash`, `k8s.io/apimachinery/pkg/util/intstr`): the pod-template hash, maxSurge/maxUnavailable
 * resolution, revision and replica annotations, ReplicaSet orderings and deployment conditions.
 */
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../../api/time.js';

/** Label that ties a ReplicaSet and its pods to one template (upstream `DefaultDeploymentUniqueLabelKey`). */
export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** Deprecated server-side rollback request (extensions/v1beta1 `rollbackTo`, kept as an annotation upstream). */
export const ROLLBACK_TO_ANNOTATION = 'deprecated.deployment.rollback.to';
/** Upstream `maxRevHistoryLengthInChars`. */
export const MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000;

/** Condition reasons, as upstream's constants. */
export const REASONS = {
  NewRSCreated: 'NewReplicaSetCreated',
  FoundNewRS: 'FoundNewReplicaSet',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewRSAvailable: 'NewReplicaSetAvailable',
  TimedOut: 'ProgressDeadlineExceeded',
  Paused: 'DeploymentPaused',
  Resumed: 'DeploymentResumed',
  FailedRSCreate: 'ReplicaSetCreateError',
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  MinimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

/** The safe alphabet of upstream `rand.SafeEncodeString` (no vowels, no confusable characters). */
export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Upstream `rand.SafeEncodeString`: each byte mapped into {@link SAFE_ALPHABET}. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) out += SAFE_ALPHABET[ch % SAFE_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted and null/undefined members dropped: a stable text for a template. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] != null).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * The pod-template hash (upstream `controller.ComputeHash`): FNV-32a, then the decimal text of the 32-bit sum
 * through SafeEncodeString. Upstream hashes Go's `spew` dump of the struct, which has no TypeScript equivalent;
 * Skiff hashes the canonical JSON of the template (sorted keys, nulls dropped) and, when set, the collisionCount
 * as 4 little-endian bytes, as upstream appends it. Same alphabet and length, so names look alike.
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const feed = (bytes: Uint8Array) => {
    for (const b of bytes) {
      h ^= b;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  };
  feed(Buffer.from(canonicalJson(template ?? {}), 'utf8'));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0, 0);
    feed(b.subarray(0, 4));
  }
  return safeEncodeString(String(h >>> 0));
}

function withoutHash(t: PodTemplateSpec | undefined): unknown {
  const c = structuredClone(t ?? {}) as PodTemplateSpec;
  if (c.metadata?.labels) {
    delete c.metadata.labels[POD_TEMPLATE_HASH];
    if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
  }
  return c;
}

/** Upstream `EqualIgnoreHash`: templates equal once the pod-template-hash label is removed from both. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}

/**
 * Upstream `intstr.GetScaledValueFromIntOrPercent`: an int as is; `"N%"` as N% of `total`, rounded up or down.
 * Throws on anything else, as upstream returns an error.
 */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** Whether the strategy is RollingUpdate (the default when unset, as the apiserver defaults it). */
export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** Desired replicas (defaulted to 1, as upstream's defaulting). */
export function replicasOf(d: Deployment): number {
  return d.spec?.replicas ?? 1;
}

/**
 * Upstream `ResolveFenceposts`: surge rounds up, unavailable rounds down, and when both come out 0 unavailable is
 * 1 so a rollout can always make progress.
 */
export function resolveFenceposts(maxSurge: number | string | undefined, maxUnavailable: number | string | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** Upstream `MaxSurge`: 0 for Recreate. */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicasOf(d)).surge;
}

/** Upstream `MaxUnavailable`: 0 for Recreate or zero replicas, never above spec.replicas. */
export function maxUnavailable(d: Deployment): number {
  const n = replicasOf(d);
  if (!isRollingUpdate(d) || n === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate;
  return Math.min(resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, n).unavailable, n);
}

/** Revision of a ReplicaSet from its annotation; 0 when absent or unparseable (upstream `Revision`). */
export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } } | undefined): number {
  const v = obj?.metadata?.annotations?.[REVISION_ANNOTATION];
  if (!v || !/^\d+$/.test(v)) return 0;
  return Number(v);
}

/** Upstream `MaxRevision`. */
export function maxRevision(rss: ReplicaSet[]): number {
  return rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

/** Sum of spec.replicas (upstream `GetReplicaCountForReplicaSets`). */
export function specReplicas(rss: Array<ReplicaSet | undefined>): number {
  return rss.reduce((n, rs) => n + (rs ? rs.spec?.replicas ?? 1 : 0), 0);
}

/** Sum of status.replicas (upstream `GetActualReplicaCountForReplicaSets`). */
export function actualReplicas(rss: Array<ReplicaSet | undefined>): number {
  return rss.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
}

/** Sum of status.readyReplicas. */
export function readyReplicas(rss: Array<ReplicaSet | undefined>): number {
  return rss.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
}

/** Sum of status.availableReplicas. */
export function availableReplicas(rss: Array<ReplicaSet | undefined>): number {
  return rss.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);
}

/** ReplicaSets with spec.replicas > 0 (upstream `FilterActiveReplicaSets`). */
export function activeReplicaSets(rss: Array<ReplicaSet | undefined>): ReplicaSet[] {
  return rss.filter((rs): rs is ReplicaSet => !!rs && (rs.spec?.replicas ?? 1) > 0);
}

function created(rs: ReplicaSet): number {
  return Date.parse(rs.metadata?.creationTimestamp ?? '') || 0;
}

/** Upstream `ReplicaSetsByCreationTimestamp`: oldest first, then by name. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  return created(a) - created(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : a.metadata!.name! > b.metadata!.name! ? 1 : 0);
}

/** Upstream `ReplicaSetsBySizeOlder`: larger first, ties oldest first. */
export function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  return (b.spec?.replicas ?? 1) - (a.spec?.replicas ?? 1) || byCreation(a, b);
}

/** Upstream `ReplicaSetsBySizeNewer`: larger first, ties newest first. */
export function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  return (b.spec?.replicas ?? 1) - (a.spec?.replicas ?? 1) || byCreation(b, a);
}

/** Upstream `ReplicaSetsByRevision`: lowest revision first, ties by creation. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  return revisionOf(a) - revisionOf(b) || byCreation(a, b);
}

/** Upstream `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the deployment's. */
export function findNewReplicaSet(d: Deployment, rss: ReplicaSet[]): ReplicaSet | undefined {
  return [...rss].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Annotations never copied from a Deployment to its ReplicaSets (upstream `skipCopyAnnotation`). */
const SKIP_COPY = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, ROLLBACK_TO_ANNOTATION,
]);

/** Upstream `copyDeploymentAnnotationsToReplicaSet` (this carries `kubernetes.io/change-cause`). */
export function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  const ann = (rs.metadata!.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) {
    if (SKIP_COPY.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  return changed;
}

/** Upstream `SetReplicasAnnotations`: desired-replicas and max-replicas; true if either changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = (rs.metadata!.annotations ??= {});
  let changed = false;
  if (ann[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    ann[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (ann[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    ann[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

/** Upstream `ReplicasAnnotationsNeedUpdate`. */
export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = rs.metadata?.annotations ?? {};
  return ann[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || ann[MAX_REPLICAS_ANNOTATION] !== String(max);
}

function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata?.annotations?.[key];
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** Upstream `GetDesiredReplicasAnnotation`. */
export function desiredReplicasAnnotation(rs: ReplicaSet): number | undefined {
  return intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
}

/** Upstream `getMaxReplicasAnnotation`. */
export function maxReplicasAnnotation(rs: ReplicaSet): number | undefined {
  return intAnnotation(rs, MAX_REPLICAS_ANNOTATION);
}

/**
 * Upstream `SetNewReplicaSetAnnotations`: copies the deployment's annotations, raises the revision to
 * `newRevision` — recording the previous one in revision-history when an old ReplicaSet is brought back (rollout
 * undo) — and, for a ReplicaSet about to be created, sets the replica annotations. True if anything changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const ann = (rs.metadata!.annotations ??= {});
  const oldText = ann[REVISION_ANNOTATION];
  const hadOld = oldText !== undefined;
  if (hadOld && !/^\d+$/.test(oldText)) return changed;
  const old = hadOld ? Number(oldText) : 0;
  if (old < newRevision) {
    ann[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (hadOld) {
      const history = ann[REVISION_HISTORY_ANNOTATION];
      if (!history) ann[REVISION_HISTORY_ANNOTATION] = oldText;
      else {
        const parts = history.split(',');
        let total = history.length + oldText.length + 1;
        let start = 0;
        while (total > MAX_REV_HISTORY_LENGTH_IN_CHARS && start < parts.length) total -= parts[start++]!.length + 1;
        if (total <= MAX_REV_HISTORY_LENGTH_IN_CHARS) ann[REVISION_HISTORY_ANNOTATION] = [...parts.slice(start), oldText].join(',');
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Upstream `NewRSNewReplicas`: how far the new ReplicaSet may be scaled up now. */
export function newRSNewReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  const cur = newRS.spec?.replicas ?? 1;
  if (!isRollingUpdate(d)) return replicasOf(d);
  const surge = scaledValue(d.spec?.strategy?.rollingUpdate?.maxSurge ?? 0, replicasOf(d), true);
  const count = specReplicas(all);
  const maxTotal = replicasOf(d) + surge;
  if (count >= maxTotal) return cur;
  return cur + Math.min(maxTotal - count, replicasOf(d) - cur);
}

/** Upstream `IsSaturated`: the new ReplicaSet runs all desired replicas, all available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const n = replicasOf(d);
  return desiredReplicasAnnotation(rs) === n && (rs.spec?.replicas ?? 1) === n && (rs.status?.availableReplicas ?? 0) === n;
}

/** Upstream `integer.RoundToInt32` (Go `math.Round`: halves away from zero). */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** Upstream `GetReplicaSetProportion`: this ReplicaSet's share of a proportional scale. */
export function replicaSetProportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  const cur = rs.spec?.replicas ?? 1;
  if (cur === 0 || toAdd === 0 || toAdd === added) return 0;
  let fraction: number;
  if (replicasOf(d) === 0) fraction = -cur;
  else {
    const deploymentReplicas = replicasOf(d) + maxSurge(d);
    const annotated = maxReplicasAnnotation(rs) ?? d.status?.replicas ?? 0;
    fraction = annotated === 0 ? 0 : roundHalfAway((cur * deploymentReplicas) / annotated) - cur;
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/** Upstream `DeploymentComplete`. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const n = replicasOf(d);
  return (s.updatedReplicas ?? 0) === n && (s.replicas ?? 0) === n && (s.availableReplicas ?? 0) === n && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
}

/** Upstream `DeploymentProgressing`: more updated/ready/available or fewer old replicas than last recorded. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0);
}

/** Upstream `HasProgressDeadline`. */
export function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return p !== undefined && p !== null && p !== 2147483647;
}

/** Upstream `DeploymentTimedOut`, judged from the Progressing condition's lastUpdateTime. */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, 'Progressing');
  if (!c) return false;
  if (c.reason === REASONS.NewRSAvailable) return false;
  if (c.reason === REASONS.TimedOut) return true;
  const from = Date.parse(c.lastUpdateTime ?? '') || 0;
  return from + d.spec!.progressDeadlineSeconds! * 1000 < nowMs;
}

export { rfc3339 };

/** Upstream `NewDeploymentCondition`. */
export function newCondition(type: string, status: string, reason: string, message: string, nowMs: number): DeploymentCondition {
  const t = rfc3339(nowMs);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Upstream `GetDeploymentCondition`. */
export function getCondition(s: DeploymentStatus | undefined, type: string): DeploymentCondition | undefined {
  return s?.conditions?.find((c) => c.type === type);
}

/**
 * Upstream `SetDeploymentCondition`: no-op when status and reason are unchanged; keeps lastTransitionTime when
 * only the reason changes.
 */
export function setCondition(s: DeploymentStatus, c: DeploymentCondition): void {
  const cur = getCondition(s, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c = { ...c, lastTransitionTime: cur.lastTransitionTime };
  s.conditions = [...(s.conditions ?? []).filter((x) => x.type !== c.type), c];
}

/** Upstream `RemoveDeploymentCondition`. */
export function removeCondition(s: DeploymentStatus, type: string): void {
  if (!s.conditions) return;
  s.conditions = s.conditions.filter((c) => c.type !== type);
  if (s.conditions.length === 0) delete s.conditions;
}
