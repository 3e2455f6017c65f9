/**
 * Stable pod identity and storage for StatefulSets (upstream `stateful_set_utils.go`): pod `<set>-<ordinal>` with
 * hostname = its name, subdomain = `spec.serviceName`, the `statefulset.kubernetes.io/pod-name` and
 * `apps.kubernetes.io/pod-index` labels, and one PVC `<claim>-<set>-<ordinal>` per volumeClaimTemplate mounted in
 * place of any template volume of the same name.
 */
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod, Volume } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './history.js';
import { controllerRef } from './pod-state.js';

/** Upstream `apps.StatefulSetPodNameLabel`. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** Upstream `apps.PodIndexLabel` (PodIndexLabel feature, on by default since 1.28). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

const NAME_RE = /^(.*)-(\d+)$/;

/** The first ordinal (`spec.ordinals.start`, StatefulSetStartOrdinal, GA in 1.31). */
export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

/** One past the last ordinal in range. */
export function endOrdinal(set: StatefulSet): number {
  return startOrdinal(set) + (set.spec?.replicas ?? 1);
}

/** The ordinal in a pod's name, -1 when the name has none (upstream `getOrdinal`). */
export function podOrdinal(pod: Pod): number {
  const m = NAME_RE.exec(pod.metadata?.name ?? '');
  return m ? Number(m[2]) : -1;
}

/** A pod whose name is `<set>-<ordinal>` (upstream `isMemberOf`). */
export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  const m = NAME_RE.exec(pod.metadata?.name ?? '');
  return !!m && m[1] === set.metadata?.name;
}

/** `<set>-<ordinal>`. */
export function podName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata!.name}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>` (upstream `getPersistentVolumeClaimName`). */
export function claimName(set: StatefulSet, template: PersistentVolumeClaim, ordinal: number): string {
  return `${template.metadata?.name}-${set.metadata!.name}-${ordinal}`;
}

/** The revision label of a pod. */
export function podRevision(pod: Pod): string {
  return pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? '';
}

/**
 * The claims a pod of `ordinal` uses, keyed by template name (upstream `getPersistentVolumeClaims`): the template
 * with its name set and the set's selector labels merged into its labels.
 */
export function claimsFor(set: StatefulSet, ordinal: number): Map<string, PersistentVolumeClaim> {
  const out = new Map<string, PersistentVolumeClaim>();
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const { status: _status, ...rest } = structuredClone(t);
    const c: PersistentVolumeClaim = { ...rest, apiVersion: 'v1', kind: 'PersistentVolumeClaim' };
    c.metadata = {
      ...(c.metadata ?? {}),
      name: claimName(set, t, ordinal),
      namespace: set.metadata?.namespace,
      labels: { ...(c.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) },
    };
    delete (c.metadata as Record<string, unknown>).creationTimestamp;
    out.set(t.metadata!.name!, c);
  }
  return out;
}

/** Sets name, labels, hostname and subdomain (upstream `initIdentity`). */
function setIdentity(set: StatefulSet, pod: Pod, ordinal: number): void {
  const name = podName(set, ordinal);
  pod.metadata = { ...(pod.metadata ?? {}), name, namespace: set.metadata?.namespace };
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal) };
  pod.spec = { ...pod.spec!, hostname: name };
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
}

/** Mounts the ordinal's claims in place of template volumes of the same name (upstream `updateStorage`). */
function setStorage(set: StatefulSet, pod: Pod, ordinal: number): void {
  const claims = claimsFor(set, ordinal);
  if (!claims.size) return;
  const vols: Volume[] = [...claims].map(([name, c]) => ({ name, persistentVolumeClaim: { claimName: c.metadata!.name! } }));
  for (const v of pod.spec?.volumes ?? []) if (!claims.has(v.name)) vols.push(v);
  pod.spec!.volumes = vols;
}

/** A new pod of `ordinal` from `set`'s template, owned by the set and labelled with `revision` (upstream `newStatefulSetPod` + `setPodRevision`). */
export function newPod(set: StatefulSet, ordinal: number, revision: string): Pod {
  const t = structuredClone(set.spec?.template ?? {});
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      labels: { ...(t.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: revision },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [controllerRef(set, 'apps/v1', 'StatefulSet') as OwnerReference],
    },
    spec: t.spec ?? { containers: [] },
  };
  setIdentity(set, pod, ordinal);
  setStorage(set, pod, ordinal);
  return pod;
}

/** Name, namespace and identity labels are those of its ordinal (upstream `identityMatches`). */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const ord = podOrdinal(pod);
  const name = pod.metadata?.name;
  return (
    ord >= 0 &&
    isMemberOf(set, pod) &&
    name === podName(set, ord) &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    pod.metadata?.labels?.[POD_NAME_LABEL] === name &&
    pod.metadata?.labels?.[POD_INDEX_LABEL] === String(ord)
  );
}

/** Every claim template is mounted from the ordinal's claim (upstream `storageMatches`). */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ord = podOrdinal(pod);
  const vols = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const [name, c] of claimsFor(set, ord)) {
    if (vols.get(name)?.persistentVolumeClaim?.claimName !== c.metadata!.name) return false;
  }
  return true;
}

/** A copy of `pod` with identity and storage restored (upstream `updateIdentity` + `updateStorage`). */
export function withIdentityAndStorage(set: StatefulSet, pod: Pod): Pod {
  const out = structuredClone(pod);
  const ord = podOrdinal(pod);
  out.metadata!.labels = { ...(out.metadata!.labels ?? {}), [POD_NAME_LABEL]: podName(set, ord), [POD_INDEX_LABEL]: String(ord) };
  setStorage(set, out, ord);
  return out;
}
