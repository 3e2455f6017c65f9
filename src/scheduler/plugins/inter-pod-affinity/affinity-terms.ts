/**
 * Parsed pod (anti-)affinity terms (upstream `framework.AffinityTerm` / `WeightedAffinityTerm`, built by
 * `framework.NewPodInfo`). Upstream parses them once per pod into its PodInfo; Skiff's {@link PodInfo} keeps only
 * flags, so the terms of existing pods are parsed once per PodInfo object here and kept in a WeakMap — a PodInfo is
 * immutable and replaced when its pod changes, so the cache never goes stale and goes away with the pod.
 *
 * `matchLabelKeys` / `mismatchLabelKeys` are merged into the term's selector from the *owning* pod's labels as
 * `key in (v)` / `key notin (v)` — what kube-apiserver does at pod creation (MatchLabelKeysInPodAffinity); doing it
 * here gives the same result because the labels are those of the pod that carries the term.
 */

import type { Namespace, Pod, PodAffinityTerm, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.js';
import {
  labelSelectorToString, matches, newRequirement, nothing, selectorFromLabelSelectorObject,
  type LabelRequirement, type LabelSelector,
} from '../../../api/labels.js';
import type { NodeInfo, PodInfo } from '../../framework/node-info.js';
import type { SnapshotLister } from '../../framework/interface.js';

/** One term, ready to match (upstream `framework.AffinityTerm`; `weight` is 1 for required terms). */
export interface AffinityTerm {
  readonly selector: LabelSelector;
  /** Namespaces named by the term, or the owning pod's namespace when neither list nor selector is set. */
  readonly namespaces: ReadonlySet<string>;
  /** Matches namespace labels; nothing() when the term has no namespaceSelector. */
  readonly nsSelector: LabelSelector;
  readonly topologyKey: string;
  readonly weight: number;
  /**
   * Canonical text of selector, namespaces and namespace selector: two terms with the same `sig` match exactly the
   * same pods, so a scheduling cycle evaluates each distinct term once against the incoming pod (a Deployment's
   * 1,000 replicas carry one distinct term).
   */
  readonly sig: string;
}

/** The four term lists of a pod (upstream PodInfo's Required/Preferred(Anti)AffinityTerms). */
export interface PodTerms {
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly AffinityTerm[];
  readonly preferredAntiAffinity: readonly AffinityTerm[];
}

/** Lists namespaces; a `Lister<Namespace>` from the informer factory fits (upstream `NamespaceLister`). */
export interface NamespaceLister {
  get(namespace: undefined, name: string): Namespace | undefined;
  list(namespace?: undefined, selector?: LabelSelector): Namespace[];
}

const NO_TERMS: PodTerms = { requiredAffinity: [], requiredAntiAffinity: [], preferredAffinity: [], preferredAntiAffinity: [] };

function newTerm(pod: Pod, term: PodAffinityTerm, weight: number): AffinityTerm {
  let selector = selectorFromLabelSelectorObject(term.labelSelector);
  const podLabels = pod.metadata?.labels ?? {};
  if (term.labelSelector && (term.matchLabelKeys?.length || term.mismatchLabelKeys?.length)) {
    const extra: LabelRequirement[] = [];
    for (const k of term.matchLabelKeys ?? []) if (podLabels[k] !== undefined) extra.push(newRequirement(k, 'in', [podLabels[k]!]));
    for (const k of term.mismatchLabelKeys ?? []) if (podLabels[k] !== undefined) extra.push(newRequirement(k, 'notin', [podLabels[k]!]));
    if (extra.length) selector = { requirements: [...selector.requirements, ...extra] };
  }
  // Upstream `getNamespacesFromPodAffinityTerm`: no list and no selector means "the pod's own namespace".
  const namespaces = new Set(term.namespaces?.length || term.namespaceSelector ? term.namespaces ?? [] : [pod.metadata?.namespace ?? '']);
  const nsSelector = term.namespaceSelector ? selectorFromLabelSelectorObject(term.namespaceSelector) : nothing();
  const sig = `${selector.nothing ? '!' : labelSelectorToString(selector)}|${[...namespaces].sort().join(',')}|${nsSelector.nothing ? '!' : labelSelectorToString(nsSelector)}`;
  return { selector, namespaces, nsSelector, topologyKey: term.topologyKey, weight, sig };
}

const required = (pod: Pod, terms: PodAffinityTerm[] | undefined) => (terms ?? []).map((t) => newTerm(pod, t, 1));
const preferred = (pod: Pod, terms: WeightedPodAffinityTerm[] | undefined) =>
  (terms ?? []).filter((t) => t.weight !== 0).map((t) => newTerm(pod, t.podAffinityTerm, t.weight));

/** Parses every term of `pod`; throws (ApiError 400) on an invalid selector, as upstream `NewPodInfo` errors. */
export function parsePodTerms(pod: Pod): PodTerms {
  const a = pod.spec?.affinity;
  if (!a?.podAffinity && !a?.podAntiAffinity) return NO_TERMS;
  return {
    requiredAffinity: required(pod, a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    requiredAntiAffinity: required(pod, a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    preferredAffinity: preferred(pod, a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinity: preferred(pod, a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
  };
}

const cache = new WeakMap<PodInfo, PodTerms>();

/**
 * The terms of an existing (assigned or assumed) pod, parsed once per PodInfo. A pod whose terms do not parse has
 * none (upstream logs the error and keeps the pod without terms; validation makes this unreachable in practice).
 */
export function termsOf(pi: PodInfo): PodTerms {
  let t = cache.get(pi);
  if (!t) {
    try {
      t = pi.hasAffinity ? parsePodTerms(pi.pod) : NO_TERMS;
    } catch {
      t = NO_TERMS;
    }
    cache.set(pi, t);
  }
  return t;
}

/**
 * Whether `pod` is selected by the term (upstream `AffinityTerm.Matches`): its namespace is listed or its
 * namespace's labels match the namespace selector, and its labels match the selector.
 */
export function termMatches(t: AffinityTerm, pod: Pod, nsLabels: Record<string, string> | undefined): boolean {
  if (!t.namespaces.has(pod.metadata?.namespace ?? '') && !matches(t.nsSelector, nsLabels)) return false;
  return matches(t.selector, pod.metadata?.labels);
}

/** True when `pod` matches every term and there is at least one (upstream `podMatchesAllAffinityTerms`). */
export function matchesAllTerms(terms: readonly AffinityTerm[], pod: Pod): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod, undefined)) return false;
  return true;
}

/**
 * Unrolls a namespaceSelector of the *incoming* pod's terms into the namespace list (upstream
 * `mergeAffinityTermNamespacesIfNotEmpty`), so matching existing pods needs no namespace lookups. An empty selector
 * (`{}`) stays as is: it matches every namespace. Without a lister no namespace matches a non-empty selector.
 */
export function mergeNamespaces(terms: readonly AffinityTerm[], lister: NamespaceLister | undefined): AffinityTerm[] {
  return terms.map((t) => {
    if (t.nsSelector.nothing || t.nsSelector.requirements.length === 0) return t;
    const namespaces = new Set(t.namespaces);
    for (const ns of lister?.list(undefined, t.nsSelector) ?? []) namespaces.add(ns.metadata?.name ?? '');
    return { ...t, namespaces, nsSelector: nothing(), sig: `${t.sig}>${[...namespaces].sort().join(',')}` };
  });
}

/** The labels of namespace `name` (upstream `GetNamespaceLabelsSnapshot`), undefined when unknown. */
export function namespaceLabels(lister: NamespaceLister | undefined, name: string): Record<string, string> | undefined {
  return lister?.get(undefined, name)?.metadata?.labels;
}

/**
 * Counts per topology pair `(key, value)` (upstream `topologyToMatchedTermCount`), stored as key → value → count so
 * a node is checked with one lookup per topology key in use instead of one per node label. Zero entries are removed.
 */
export class PairCounts {
  readonly byKey = new Map<string, Map<string, number>>();

  /** Adds `delta` to the pair (key, labels[key]); nothing when the node lacks the key (upstream `update`). */
  update(labels: Record<string, string> | undefined, key: string, delta: number): void {
    const v = labels?.[key];
    if (v !== undefined) this.add(key, v, delta);
  }

  /** Adds `delta` to the pair (key, v). */
  add(key: string, v: string, delta: number): void {
    let m = this.byKey.get(key);
    if (!m) this.byKey.set(key, (m = new Map()));
    const n = (m.get(v) ?? 0) + delta;
    if (n === 0) {
      m.delete(v);
      if (m.size === 0) this.byKey.delete(key);
    } else m.set(v, n);
  }

  get(key: string, value: string): number {
    return this.byKey.get(key)?.get(value) ?? 0;
  }

  get empty(): boolean {
    return this.byKey.size === 0;
  }

  clone(): PairCounts {
    const c = new PairCounts();
    for (const [k, m] of this.byKey) c.byKey.set(k, new Map(m));
    return c;
  }
}

/** One node's share of some {@link PairCounts}: `delta` on pair (key, value) of counts number `slot`. */
export interface Contribution {
  slot: number;
  key: string;
  value: string;
  delta: number;
}

/**
 * Pair counts summed over every node and kept *incrementally* across scheduling cycles. Upstream recomputes them in
 * each PreFilter/PreScore by visiting every pod (on 16 goroutines); at 5,000 nodes that alone would cap the
 * anti-affinity workload far below Skiff's 300 pods/s target on two cores. Snapshot NodeInfos are immutable (the cache
 * swaps in a fresh clone when a node changes), so this remembers which NodeInfo it saw at each position of the node
 * list and its contribution, and on the next cycle redoes only the positions whose object changed. `contribute` must
 * depend only on what the cache key of the instance captures (the incoming pod's terms, namespace and labels).
 */
export class IncrementalPairCounts {
  readonly totals: PairCounts[];
  private refs: Array<NodeInfo | undefined> = [];
  private podLens: number[] = [];
  private contribs: Array<readonly Contribution[] | undefined> = [];
  /** The snapshot (and its journal token) last synced with. */
  private synced?: { snapshot: SnapshotLister; list: readonly NodeInfo[]; token: number };

  constructor(slots: number, private readonly contribute: (ni: NodeInfo, labels: Record<string, string>) => Contribution[] | undefined) {
    this.totals = Array.from({ length: slots }, () => new PairCounts());
  }

  /**
   * Brings the totals up to date with `nodes`. With `snapshot` (whose `list()` is `nodes`) and its change journal,
   * only the positions replaced since the previous sync are revisited (as DomainCounter does): comparing every
   * position read each of 5,000 NodeInfos per call, a cache miss apiece.
   */
  sync(nodes: readonly NodeInfo[], snapshot?: SnapshotLister): this {
    if (snapshot?.changedSince && snapshot.list() === nodes) {
      const prev = this.synced;
      const { changed, token } = snapshot.changedSince(prev && prev.snapshot === snapshot && prev.list === nodes ? prev.token : undefined);
      this.synced = { snapshot, list: nodes, token };
      if (changed && this.refs.length === nodes.length) {
        for (const i of changed) this.visit(i, nodes[i]!);
        return this;
      }
    } else {
      this.synced = undefined;
    }
    const n = nodes.length;
    for (let i = 0; i < n; i++) this.visit(i, nodes[i]!);
    for (let i = n; i < this.refs.length; i++) this.apply(i, -1);
    this.refs.length = this.podLens.length = this.contribs.length = n;
    return this;
  }

  private visit(i: number, ni: NodeInfo): void {
    if (this.refs[i] === ni && this.podLens[i] === ni.pods.length) return;
    this.apply(i, -1);
    this.refs[i] = ni;
    this.podLens[i] = ni.pods.length;
    const labels = ni.node?.metadata?.labels;
    this.contribs[i] = labels ? this.contribute(ni, labels) : undefined;
    this.apply(i, 1);
  }

  private apply(i: number, sign: number): void {
    const cs = this.contribs[i];
    if (!cs) return;
    for (const c of cs) this.totals[c.slot]!.add(c.key, c.value, sign * c.delta);
    if (sign < 0) this.contribs[i] = undefined;
  }
}

/** A small LRU of {@link IncrementalPairCounts} by key (one per distinct incoming-pod shape). */
export class ContributionCache {
  private readonly entries = new Map<string, IncrementalPairCounts>();
  constructor(private readonly max = 64) {}

  get(key: string, make: () => IncrementalPairCounts): IncrementalPairCounts {
    let e = this.entries.get(key);
    if (e) this.entries.delete(key);
    else {
      e = make();
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, e);
    return e;
  }
}
