/**
 * Per-kind create/update strategy, the part of kube-apiserver's `rest.RESTCreateStrategy`/`RESTUpdateStrategy` that
 * is generic: system metadata (uid, creationTimestamp, generation), status reset on create, spec-vs-status
 * separation for the status subresource, generation bumps on spec changes, and then defaulting + validation.
 */
import { KObject, StatusCause, errors } from '../api/errors.js';
import { ResourceInfo } from '../api/resources.js';
import { applyDefaults } from '../api/defaults.js';
import { podQOS } from '../api/qos.js';
import { validateObject, validateStatusUpdate } from '../api/validation/index.js';
import { newUid, nowRFC3339 } from './registry.js';

/** Kinds whose metadata.generation tracks spec changes (upstream strategies that bump Generation). */
const GENERATION_KINDS = new Set([
  'apps/Deployment', 'apps/ReplicaSet', 'apps/StatefulSet', 'apps/DaemonSet',
  'batch/Job', 'batch/CronJob',
  'autoscaling/HorizontalPodAutoscaler', 'policy/PodDisruptionBudget',
  'networking.k8s.io/NetworkPolicy', 'networking.k8s.io/Ingress', 'scheduling.x-k8s.io/PodGroup',
]);

export function tracksGeneration(info: ResourceInfo): boolean {
  return GENERATION_KINDS.has(`${info.group}/${info.kind}`);
}

export function hasStatus(info: ResourceInfo): boolean {
  return info.subresources.some((s) => s.name === 'status');
}

/** Everything except metadata and status: what "spec changed" means for generation. */
function specOf(obj: KObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

/** Kinds whose status survives create (upstream resets the rest in PrepareForCreate). */
const KEEP_STATUS_ON_CREATE = new Set(['/Node']);

export function prepareForCreate(info: ResourceInfo, obj: KObject): void {
  const m = obj.metadata;
  m.uid = newUid();
  m.creationTimestamp = nowRFC3339();
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete (m as Record<string, unknown>).selfLink;
  if (tracksGeneration(info)) m.generation = 1;
  else delete m.generation;
  if (hasStatus(info) && !KEEP_STATUS_ON_CREATE.has(`${info.group}/${info.kind}`)) {
    delete obj.status;
  }
  // Pod PrepareForCreate: a new pod is Pending with its QoS class.
  if (info.group === '' && info.kind === 'Pod') obj.status = { phase: 'Pending', qosClass: podQOS(obj as Parameters<typeof podQOS>[0]) };
  // namespaceStrategy.PrepareForCreate: a new namespace is always Active; persistentvolumeStrategy: Pending with
  // lastPhaseTransitionTime (PersistentVolumeLastPhaseTransitionTime is GA in 1.31).
  if (info.group === '' && info.kind === 'Namespace') obj.status = { phase: 'Active' };
  if (info.group === '' && info.kind === 'PersistentVolume') obj.status = { phase: 'Pending', lastPhaseTransitionTime: m.creationTimestamp };
  applyDefaults(info, obj);
}

export function validateOrThrow(info: ResourceInfo, obj: KObject, old?: KObject, subresource?: string): void {
  let causes: StatusCause[];
  try {
    causes = subresource === 'status' && old ? validateStatusUpdate(info, obj, old) : validateObject(info, obj, old);
  } catch (e) {
    throw errors.badRequest(`validation failed: ${(e as Error).message}`);
  }
  if (causes.length) throw errors.invalid(info.kind, info.group, obj.metadata?.name ?? '', causes);
}

/**
 * Merges an update into the current object per upstream rules: system metadata cannot change; the main resource
 * ignores status changes, the status subresource ignores everything but status; generation increments when the
 * spec changed.
 */
export function prepareForUpdate(info: ResourceInfo, next: KObject, current: KObject, subresource?: string): KObject {
  const m = next.metadata ?? {};
  const c = current.metadata;
  let out: KObject;
  if (subresource === 'status') {
    // ResetObjectMetaForStatus: only status (and managedFields) come from the request.
    out = { ...current, status: next.status };
    if (next.status === undefined) delete out.status;
    out.metadata = { ...c };
    if (m.managedFields !== undefined) out.metadata.managedFields = m.managedFields;
  } else {
    out = { ...next, metadata: { ...m } };
    if (hasStatus(info) && info.kind !== 'Namespace') {
      if (current.status === undefined) delete out.status;
      else out.status = current.status;
    }
    if (info.kind === 'Namespace') {
      // namespaceStrategy.PrepareForUpdate: status and spec.finalizers change only via /status and /finalize.
      out.status = current.status;
      const fin = (current.spec as { finalizers?: unknown } | undefined)?.finalizers;
      const spec = { ...((out.spec as Record<string, unknown> | undefined) ?? {}) };
      if (fin === undefined) delete spec.finalizers;
      else spec.finalizers = fin;
      out.spec = spec;
    }
  }
  // Immutable system metadata.
  out.metadata.uid = c.uid;
  out.metadata.creationTimestamp = c.creationTimestamp;
  out.metadata.name = c.name;
  if (c.namespace !== undefined) out.metadata.namespace = c.namespace;
  if (c.deletionTimestamp !== undefined) {
    out.metadata.deletionTimestamp = c.deletionTimestamp;
    out.metadata.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
  } else {
    delete out.metadata.deletionTimestamp;
    delete out.metadata.deletionGracePeriodSeconds;
  }
  if (c.generateName !== undefined && out.metadata.generateName === undefined) out.metadata.generateName = c.generateName;
  if (tracksGeneration(info)) {
    const gen = typeof c.generation === 'number' ? c.generation : 1;
    out.metadata.generation = specOf(out) !== specOf(current) ? gen + 1 : gen;
  } else {
    delete out.metadata.generation;
  }
  out.apiVersion = current.apiVersion;
  out.kind = current.kind;
  applyDefaults(info, out, current);
  return out;
}
