/**
 * Matching helpers several plugins share (upstream `k8s.io/component-helpers/scheduling/corev1` and
 * `.../nodeaffinity`): taint/toleration matching and compiled node selectors. NodeAffinity, TaintToleration,
 * NodeUnschedulable use them now; PodTopologySpread (nodeAffinityPolicy/nodeTaintsPolicy) and preemption later.
 * Label matching goes through `src/api/labels.ts` — selectors are compiled once per pod, not per node.
 */

import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { matches, newRequirement, selectorFromSet, type LabelOperator, type LabelSelector } from '../../api/labels.js';

/** Whether `t` tolerates `taint` (upstream `Toleration.ToleratesTaint`). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  // An empty key with Exists matches every key (validation guarantees the operator then is Exists).
  switch (t.operator ?? 'Equal') {
    case 'Exists': return true;
    case 'Equal': return (t.value ?? '') === (taint.value ?? '');
    default: return false;
  }
}

/** Whether any toleration tolerates the taint (upstream `TolerationsTolerateTaint`). */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/**
 * The first taint that passes `inScope` and is not tolerated (upstream `FindMatchingUntoleratedTaint`), or undefined.
 */
export function findUntoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[] | undefined, inScope: (t: Taint) => boolean): Taint | undefined {
  if (!taints) return undefined;
  for (const taint of taints) {
    if (!inScope(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

const NODE_OPS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!', Gt: 'gt', Lt: 'lt' };

/** A compiled `NodeSelectorTerm`: its label requirements and its `metadata.name` field requirements. */
interface CompiledTerm {
  labels?: LabelSelector;
  /** Each entry: operator and values over the node name. */
  fields: Array<{ op: 'In' | 'NotIn'; values: Set<string> }>;
  /** Invalid or empty terms never match (upstream). */
  never: boolean;
}

function compileTerm(term: NodeSelectorTerm): CompiledTerm {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return { fields: [], never: true };
  try {
    const reqs = exprs.map((e: NodeSelectorRequirement) => {
      const op = NODE_OPS[e.operator];
      if (!op) throw new Error(`${e.operator} is not a valid node selector operator`);
      return newRequirement(e.key, op, e.values ?? []);
    });
    const cf: CompiledTerm['fields'] = [];
    for (const f of fields) {
      if (f.key !== 'metadata.name' || (f.operator !== 'In' && f.operator !== 'NotIn') || (f.values ?? []).length !== 1) {
        return { fields: [], never: true };
      }
      cf.push({ op: f.operator, values: new Set(f.values) });
    }
    return { labels: reqs.length ? { requirements: reqs } : undefined, fields: cf, never: false };
  } catch {
    return { fields: [], never: true };
  }
}

function termMatches(t: CompiledTerm, node: Node): boolean {
  if (t.never) return false;
  if (t.labels && !matches(t.labels, node.metadata?.labels)) return false;
  const name = node.metadata?.name ?? '';
  for (const f of t.fields) if (f.values.has(name) !== (f.op === 'In')) return false;
  return true;
}

/** A compiled `NodeSelector`: the OR of its terms (upstream `nodeaffinity.NodeSelector`). */
export class CompiledNodeSelector {
  private readonly terms: CompiledTerm[];

  constructor(ns: { nodeSelectorTerms?: NodeSelectorTerm[] }) {
    this.terms = (ns.nodeSelectorTerms ?? []).map(compileTerm);
  }

  match(node: Node): boolean {
    for (const t of this.terms) if (termMatches(t, node)) return true;
    return false;
  }
}

/** One compiled preferred term with its weight (upstream `PreferredSchedulingTerms`). */
export class CompiledPreferredTerms {
  private readonly terms: Array<{ weight: number; term: CompiledTerm }>;

  constructor(prefs: ReadonlyArray<{ weight: number; preference: NodeSelectorTerm }>) {
    this.terms = prefs.filter((p) => p.weight !== 0).map((p) => ({ weight: p.weight, term: compileTerm(p.preference) }));
  }

  get empty(): boolean {
    return this.terms.length === 0;
  }

  /** Sum of the weights of matching terms. */
  score(node: Node): number {
    let s = 0;
    for (const t of this.terms) if (termMatches(t.term, node)) s += t.weight;
    return s;
  }
}

/**
 * A pod's required node affinity: `spec.nodeSelector` AND `requiredDuringSchedulingIgnoredDuringExecution`
 * (upstream `nodeaffinity.RequiredNodeAffinity`, `GetRequiredNodeAffinity(pod)`).
 */
export class RequiredNodeAffinity {
  private readonly labelSelector?: LabelSelector;
  private readonly nodeSelector?: CompiledNodeSelector;

  constructor(pod: Pod) {
    const sel = pod.spec?.nodeSelector;
    if (sel && Object.keys(sel).length) this.labelSelector = selectorFromSet(sel);
    const req = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (req) this.nodeSelector = new CompiledNodeSelector(req);
  }

  /** True when neither a nodeSelector nor required terms are set. */
  get empty(): boolean {
    return !this.labelSelector && !this.nodeSelector;
  }

  match(node: Node): boolean {
    if (this.labelSelector && !matches(this.labelSelector, node.metadata?.labels)) return false;
    if (this.nodeSelector && !this.nodeSelector.match(node)) return false;
    return true;
  }
}
