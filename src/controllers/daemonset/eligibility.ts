/**
 * Which nodes a DaemonSet's pod belongs on (upstream `daemon_controller.go` `NodeShouldRunDaemonPod` and
 * `predicates`): the template, simulated on the node with the default daemon tolerations added (upstream `NewPod`),
 * must fit its nodeName, nodeSelector, required node affinity (matchExpressions and `metadata.name` matchFields) and
 * NoSchedule/NoExecute taints. A node whose only untolerated taints are NoSchedule keeps pods already there (`shouldContinueRunning`).
 * `spec.unschedulable` alone does not exclude a node: as upstream, daemon pods tolerate
 * `node.kubernetes.io/unschedulable:NoSchedule`.
 */
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Affinity, Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { newRequirement, requirementMatches, type LabelOperator } from '../../api/labels.js';

/**
 * Tolerations upstream's `util.AddOrUpdateDaemonPodTolerations` adds to every daemon pod, so daemons keep running
 * through node problems and cordons (network-unavailable is added for hostNetwork pods only).
 */
export const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

const NETWORK_UNAVAILABLE: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/** `tolerations` plus the daemon defaults, replacing a user toleration with the same key and effect. */
export function withDaemonTolerations(spec: PodSpec): Toleration[] {
  const adds = spec.hostNetwork ? [...DAEMON_TOLERATIONS, NETWORK_UNAVAILABLE] : [...DAEMON_TOLERATIONS];
  const out = (spec.tolerations ?? []).filter((t) => !adds.some((a) => a.key === t.key && a.effect === t.effect));
  return [...out, ...adds.map((a) => ({ ...a }))];
}

/**
 * The affinity with its required node selector replaced by one `metadata.name` matchFields term for `nodeName`
 * (upstream `util.ReplaceDaemonSetPodNodeNameNodeAffinity`): the controller already checked the template's own
 * terms when it chose the node; preferred terms and pod (anti-)affinity stay.
 */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const out = structuredClone(affinity ?? {});
  const na = (out.nodeAffinity ??= {});
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] };
  return out;
}

/** The node a daemon pod targets: spec.nodeName, else its `metadata.name` affinity (upstream `GetTargetNodeName`). */
export function targetNodeName(spec: PodSpec | undefined): string | undefined {
  if (spec?.nodeName) return spec.nodeName;
  for (const t of spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** Upstream `v1helper.TolerationsTolerateTaint` for one toleration. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if ((t.operator ?? 'Equal') === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

const NODE_OPS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!', Gt: 'gt', Lt: 'lt' };

function requirementHolds(r: NodeSelectorRequirement, values: Record<string, string>): boolean {
  const op = NODE_OPS[r.operator];
  if (!op) return false;
  try {
    return requirementMatches(newRequirement(r.key, op, r.values ?? []), values);
  } catch {
    return false; // an unparsable requirement matches nothing, as upstream's NodeSelectorRequirementsAsSelector error
  }
}

/** One term: all label expressions and all `metadata.name` fields hold; an empty term matches nothing. */
function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata?.labels ?? {};
  if (!exprs.every((r) => requirementHolds(r, labels))) return false;
  return fields.every((f) => f.key === 'metadata.name' && requirementHolds(f, { 'metadata.name': node.metadata?.name ?? '' }));
}

/** nodeSelector labels and required node affinity (upstream `nodeaffinity.GetRequiredNodeAffinity(pod).Match`). */
export function fitsNodeAffinity(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const req = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!req) return true;
  return (req.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
}

/** Taints of `effects` on the node that no toleration tolerates. */
export function untoleratedTaints(node: Node, tolerations: readonly Toleration[], effects: readonly string[]): Taint[] {
  return (node.spec?.taints ?? []).filter((t) => effects.includes(t.effect) && !tolerations.some((tol) => toleratesTaint(tol, t)));
}

/** The pod spec the controller creates for `nodeName`: template spec, daemon tolerations, node pin. */
export function daemonPodSpec(ds: DaemonSet, nodeName: string): PodSpec {
  const spec = structuredClone(ds.spec?.template?.spec ?? { containers: [] });
  spec.tolerations = withDaemonTolerations(spec);
  spec.affinity = pinToNode(spec.affinity, nodeName);
  return spec;
}

/** Upstream `NodeShouldRunDaemonPod`: whether to create a pod there, and whether one already there may stay. */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): { shouldRun: boolean; shouldContinueRunning: boolean } {
  // upstream NewPod: the template as is (its own affinity), with daemon tolerations, simulated on this node
  const spec = structuredClone(ds.spec?.template?.spec ?? { containers: [] });
  spec.tolerations = withDaemonTolerations(spec);
  const template = ds.spec?.template?.spec;
  if (template?.nodeName && template.nodeName !== node.metadata?.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!fitsNodeAffinity(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = spec.tolerations ?? [];
  if (untoleratedTaints(node, tolerations, ['NoSchedule', 'NoExecute']).length) {
    return { shouldRun: false, shouldContinueRunning: untoleratedTaints(node, tolerations, ['NoExecute']).length === 0 };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}
