/**
 * InterPodAffinity (upstream `pkg/scheduler/framework/plugins/interpodaffinity`): places a pod relative to the pods
 * already running, per topology domain (a node label `topologyKey` and its value: a host, a zone).
 *
 * Filter (required terms), with counts PreFilter computes once per pod so Filter is a few map lookups per node:
 * - the pod's affinity: every term needs a matching pod in the node's domain — "node(s) didn't match pod affinity
 *   rules", UnschedulableAndUnresolvable (evicting pods cannot create a match). Exception, as upstream: when no pod
 *   in the cluster matches and the pod matches its own terms, it may start an empty domain (first pod of a group).
 * - the pod's anti-affinity: no matching pod in the node's domain — "node(s) didn't match pod anti-affinity rules".
 * - existing pods' anti-affinity: no pod whose required anti-affinity selects the incoming pod in the node's domain —
 *   "node(s) didn't satisfy existing pods anti-affinity rules". Both Unschedulable: preemption can remove those pods.
 *
 * Score (preferred terms): per domain, + weight for each existing pod matching a preferred affinity term of the pod,
 * − weight for preferred anti-affinity, and symmetrically for existing pods' preferred terms that select the incoming
 * pod; existing pods' *required* affinity terms count `hardPodAffinityWeight` (default 1). Normalized min–max to 0–100.
 *
 * Unlike upstream, which revisits every pod in every cycle, the counts are {@link IncrementalPairCounts} cached per
 * incoming-pod shape (its terms; its namespace and labels) and updated only for the nodes that changed since the
 * previous cycle — the replicas of one workload share them, which is what makes 5,000-node anti-affinity cheap.
 */

import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import {
  ActionType, CycleState, MAX_NODE_SCORE, Status,
  type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FilterPlugin, type Handle, type NodeInfo, type NodeScore,
  type PodInfo, type PreFilterExtensions, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type SnapshotLister,
} from '../../framework/interface.js';
import {
  ContributionCache, IncrementalPairCounts, matchesAllTerms, mergeNamespaces, namespaceLabels, PairCounts, parsePodTerms,
  termMatches, termsOf, type AffinityTerm, type Contribution, type NamespaceLister,
} from './affinity-terms.js';

export type { NamespaceLister } from './affinity-terms.js';

export const NAME = 'InterPodAffinity';
const PRE_FILTER_KEY = `PreFilter${NAME}`;
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Upstream `ErrReasonAffinityRulesNotMatch`. */
export const REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
/** Upstream `ErrReasonAntiAffinityRulesNotMatch`. */
export const REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";
/** Upstream `ErrReasonExistingAntiAffinityRulesNotMatch`. */
export const REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";

/** Plugin arguments (upstream `InterPodAffinityArgs`). */
export interface InterPodAffinityArgs {
  /** Score weight of an existing pod's *required* affinity term that selects the incoming pod (default 1, 0–100). */
  hardPodAffinityWeight?: number;
  /** Skip scoring entirely when the incoming pod has no preferred terms (default false). */
  ignorePreferredTermsOfExistingPods?: boolean;
}

/**
 * Per-pod Filter data (upstream `preFilterState`). Its counts are shared with the incremental caches, so it copies
 * them before the first change (preemption's what-ifs) and `clone()` always copies.
 */
class PreFilterState {
  constructor(
    readonly affinityTerms: readonly AffinityTerm[],
    readonly antiAffinityTerms: readonly AffinityTerm[],
    readonly pod: Pod,
    readonly nsLabels: Record<string, string> | undefined,
    /** Pairs holding pods whose required anti-affinity selects the incoming pod. */
    public existingAntiAffinity = new PairCounts(),
    /** Pairs holding pods that match *all* the incoming pod's affinity terms. */
    public affinity = new PairCounts(),
    /** Pairs holding pods matching the incoming pod's anti-affinity terms (one count per matching term). */
    public antiAffinity = new PairCounts(),
    private owned = false,
  ) {}

  /** Accounts for `pi` appearing (+1) on or leaving (−1) `node` (upstream `updateWithPod`). */
  updateWithPod(pi: PodInfo, node: Node | undefined, delta: number): void {
    const labels = node?.metadata?.labels;
    if (!labels) return;
    if (!this.owned) {
      this.existingAntiAffinity = this.existingAntiAffinity.clone();
      this.affinity = this.affinity.clone();
      this.antiAffinity = this.antiAffinity.clone();
      this.owned = true;
    }
    for (const t of termsOf(pi).requiredAntiAffinity) {
      if (termMatches(t, this.pod, this.nsLabels)) this.existingAntiAffinity.update(labels, t.topologyKey, delta);
    }
    if (matchesAllTerms(this.affinityTerms, pi.pod)) for (const t of this.affinityTerms) this.affinity.update(labels, t.topologyKey, delta);
    for (const t of this.antiAffinityTerms) if (termMatches(t, pi.pod, undefined)) this.antiAffinity.update(labels, t.topologyKey, delta);
  }

  clone(): PreFilterState {
    return new PreFilterState(this.affinityTerms, this.antiAffinityTerms, this.pod, this.nsLabels,
      this.existingAntiAffinity.clone(), this.affinity.clone(), this.antiAffinity.clone(), true);
  }
}

/** Per-pod Score data (upstream `preScoreState.topologyScore`): topology key → value → summed weight. */
type TopologyScore = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Identity of the incoming pod for matching existing pods' terms: namespace, labels, namespace labels. */
const podKey = (pod: Pod, nsLabels: Record<string, string> | undefined) =>
  JSON.stringify([pod.metadata?.namespace ?? '', pod.metadata?.labels ?? {}, nsLabels ?? {}]);
/** Identity of a term list: what each term matches, where, and how much. */
const termsKey = (terms: readonly AffinityTerm[]) => terms.map((t) => `${t.sig}@${t.topologyKey}*${t.weight}`).join(';');

/** Memoizes "does this existing pod's term select the incoming pod" per distinct term for one cycle. */
function termMemo(pod: Pod, nsLabels: Record<string, string> | undefined): (t: AffinityTerm) => boolean {
  const memo = new Map<string, boolean>();
  return (t) => {
    let m = memo.get(t.sig);
    if (m === undefined) memo.set(t.sig, (m = termMatches(t, pod, nsLabels)));
    return m;
  };
}

function satisfiesAffinity(s: PreFilterState, labels: Record<string, string>): boolean {
  let podsExist = true;
  for (const t of s.affinityTerms) {
    const v = labels[t.topologyKey];
    if (v === undefined) return false; // every topology key must exist on the node
    if (s.affinity.get(t.topologyKey, v) <= 0) podsExist = false;
  }
  // First pod of a self-affine group: nothing matches anywhere yet and the pod matches its own terms.
  return podsExist || (s.affinity.empty && matchesAllTerms(s.affinityTerms, s.pod));
}

function satisfiesAntiAffinity(s: PreFilterState, labels: Record<string, string>): boolean {
  if (s.antiAffinity.empty) return true;
  for (const t of s.antiAffinityTerms) {
    const v = labels[t.topologyKey];
    if (v !== undefined && s.antiAffinity.get(t.topologyKey, v) > 0) return false;
  }
  return true;
}

function satisfiesExistingAntiAffinity(s: PreFilterState, labels: Record<string, string>): boolean {
  for (const [key, byValue] of s.existingAntiAffinity.byKey) {
    const v = labels[key];
    if (v !== undefined && (byValue.get(v) ?? 0) > 0) return false;
  }
  return true;
}

/** How many nodes hold pods with required anti-affinity (the count when the snapshot keeps one). */
const antiAffinityNodes = (snap: SnapshotLister) => snap.countNodesWithPodsWithRequiredAntiAffinity?.() ?? snap.havePodsWithRequiredAntiAffinityList().length;

const readState = (state: CycleState) => state.read<PreFilterState>(PRE_FILTER_KEY);
const notFound = (key: string) => Status.error(new Error(`reading "${key}" from cycleState: not found`));

/**
 * Builds the plugin. `handle.snapshot()` gives Score the whole cluster (upstream scores against all nodes, not just
 * the feasible ones); `namespaces` resolves namespaceSelector — without it a non-empty selector matches no namespace.
 */
export function newInterPodAffinity(args: InterPodAffinityArgs = {}, handle?: Pick<Handle, 'snapshot'>, namespaces?: NamespaceLister) {
  const hardWeight = args.hardPodAffinityWeight ?? 1;
  if (!(hardWeight >= 0 && hardWeight <= 100)) throw new Error(`hardPodAffinityWeight: Invalid value: ${hardWeight}: not in valid range [0-100]`);
  const ignoreExisting = args.ignorePreferredTermsOfExistingPods ?? false;
  const cache = new ContributionCache();

  const extensions: PreFilterExtensions = {
    addPod(state, _pod, pi, ni) {
      readState(state)?.updateWithPod(pi, ni.node, 1);
      return null;
    },
    removePod(state, _pod, pi, ni) {
      readState(state)?.updateWithPod(pi, ni.node, -1);
      return null;
    },
  };

  return {
    name: NAME,
    preFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { status: Status | null } {
      let affinityTerms: AffinityTerm[];
      let antiTerms: AffinityTerm[];
      try {
        const t = parsePodTerms(pod);
        affinityTerms = mergeNamespaces(t.requiredAffinity, namespaces);
        antiTerms = mergeNamespaces(t.requiredAntiAffinity, namespaces);
      } catch (err) {
        return { status: Status.unresolvable(`parsing pod: ${err instanceof Error ? err.message : String(err)}`) };
      }
      const scanAll = affinityTerms.length > 0 || antiTerms.length > 0;
      // Only nodes holding pods with required anti-affinity contribute to the existing-pods counts (upstream walks
      // `HavePodsWithRequiredAntiAffinityList`): with none and no terms of its own the pod skips the plugin at once.
      // Otherwise the incremental counts walk the full list, whose positions are stable (the filtered list shifts
      // whenever a node gains its first such pod, which would recompute every later position).
      if (!scanAll && handle && antiAffinityNodes(handle.snapshot()) === 0) return { status: Status.skip() };
      const nsLabels = namespaceLabels(namespaces, pod.metadata?.namespace ?? '');
      const existing = cache.get(`E\0${podKey(pod, nsLabels)}`, () => {
        const selectsPod = termMemo(pod, nsLabels);
        return new IncrementalPairCounts(1, (ni, labels) => {
          let out: Contribution[] | undefined;
          for (const epi of ni.podsWithRequiredAntiAffinity) {
            for (const t of termsOf(epi).requiredAntiAffinity) {
              const v = labels[t.topologyKey];
              if (v !== undefined && selectsPod(t)) (out ??= []).push({ slot: 0, key: t.topologyKey, value: v, delta: 1 });
            }
          }
          return out;
        });
      }).sync(nodes, handle?.snapshot());
      const incoming = scanAll ? cache.get(`I\0${termsKey(affinityTerms)}\0${termsKey(antiTerms)}`, () => new IncrementalPairCounts(2, (ni, labels) => {
        let out: Contribution[] | undefined;
        for (const epi of ni.pods) {
          if (affinityTerms.length && matchesAllTerms(affinityTerms, epi.pod)) {
            for (const t of affinityTerms) if (labels[t.topologyKey] !== undefined) (out ??= []).push({ slot: 0, key: t.topologyKey, value: labels[t.topologyKey]!, delta: 1 });
          }
          for (const t of antiTerms) {
            if (labels[t.topologyKey] !== undefined && termMatches(t, epi.pod, undefined)) (out ??= []).push({ slot: 1, key: t.topologyKey, value: labels[t.topologyKey]!, delta: 1 });
          }
        }
        return out;
      })).sync(nodes, handle?.snapshot()) : undefined;
      const s = new PreFilterState(affinityTerms, antiTerms, pod, nsLabels, existing.totals[0], incoming?.totals[0], incoming?.totals[1]);
      if (s.existingAntiAffinity.empty && !scanAll) return { status: Status.skip() };
      state.write(PRE_FILTER_KEY, s);
      return { status: null };
    },
    preFilterExtensions: () => extensions,
    filter(state: CycleState, _pod: Pod, ni: NodeInfo): Status | null {
      const s = readState(state);
      if (!s) return notFound(PRE_FILTER_KEY);
      const labels = ni.labels;
      if (!satisfiesAffinity(s, labels)) return Status.unresolvable(REASON_AFFINITY_RULES_NOT_MATCH);
      if (!satisfiesAntiAffinity(s, labels)) return Status.unschedulable(REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
      if (!satisfiesExistingAntiAffinity(s, labels)) return Status.unschedulable(REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
      return null;
    },
    /**
     * Fast path: the three checks of filter, in its order and with its statuses, with each topology value read from
     * the snapshot table's label columns instead of the node's labels.
     */
    filterFast(state: CycleState): FastFilter | undefined {
      const s = readState(state);
      const table = handle?.snapshot().table;
      if (!s || !table) return undefined;
      const affCols = s.affinityTerms.map((t) => table.column(t.topologyKey));
      const affCounts = s.affinityTerms.map((t) => s.affinity.byKey.get(t.topologyKey));
      const firstOfGroup = s.affinity.empty && matchesAllTerms(s.affinityTerms, s.pod);
      const antiTerms = s.antiAffinity.empty ? [] : s.antiAffinityTerms;
      const antiCols = antiTerms.map((t) => table.column(t.topologyKey));
      const antiCounts = antiTerms.map((t) => s.antiAffinity.byKey.get(t.topologyKey));
      const existCols: Array<ReadonlyArray<string | undefined>> = [];
      const existCounts: Array<ReadonlyMap<string, number>> = [];
      for (const [key, byValue] of s.existingAntiAffinity.byKey) {
        existCols.push(table.column(key));
        existCounts.push(byValue);
      }
      return (_t, i) => {
        let podsExist = true;
        for (let k = 0; k < affCols.length; k++) {
          const v = affCols[k]![i];
          if (v === undefined) return Status.unresolvable(REASON_AFFINITY_RULES_NOT_MATCH);
          if ((affCounts[k]?.get(v) ?? 0) <= 0) podsExist = false;
        }
        if (!podsExist && !firstOfGroup) return Status.unresolvable(REASON_AFFINITY_RULES_NOT_MATCH);
        for (let k = 0; k < antiCols.length; k++) {
          const v = antiCols[k]![i];
          if (v !== undefined && (antiCounts[k]?.get(v) ?? 0) > 0) return Status.unschedulable(REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        for (let k = 0; k < existCols.length; k++) {
          const v = existCols[k]![i];
          if (v !== undefined && (existCounts[k]!.get(v) ?? 0) > 0) return Status.unschedulable(REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        return true;
      };
    },
    preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status | null {
      if (nodes.length === 0) return null;
      const a = pod.spec?.affinity;
      const hasConstraints = !!(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length || a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length);
      if (ignoreExisting && !hasConstraints) return Status.skip();
      let prefAffinity: AffinityTerm[];
      let prefAnti: AffinityTerm[];
      try {
        const t = parsePodTerms(pod);
        prefAffinity = mergeNamespaces(t.preferredAffinity, namespaces);
        prefAnti = mergeNamespaces(t.preferredAntiAffinity, namespaces);
      } catch (err) {
        return Status.error(err);
      }
      // Without preferred terms of its own, only pods with affinity terms can contribute (upstream walks
      // `HavePodsWithAffinityList`): none at all means nothing to score. Otherwise the incremental counts walk the
      // full list, whose positions are stable, and revisit only the nodes that changed.
      const snap = handle?.snapshot();
      if (!hasConstraints && snap && (snap.countNodesWithPodsWithAffinity?.() ?? snap.havePodsWithAffinityList().length) === 0) return Status.skip();
      const all = snap?.list() ?? nodes;
      const nsLabels = namespaceLabels(namespaces, pod.metadata?.namespace ?? '');
      const key = `S\0${podKey(pod, nsLabels)}\0${hasConstraints}\0${termsKey(prefAffinity)}\0${termsKey(prefAnti)}`;
      const scores = cache.get(key, () => {
        const selectsPod = termMemo(pod, nsLabels);
        return new IncrementalPairCounts(1, (ni, labels) => {
          let out: Contribution[] | undefined;
          const add = (t: AffinityTerm, w: number) => {
            const v = labels[t.topologyKey];
            if (v !== undefined) (out ??= []).push({ slot: 0, key: t.topologyKey, value: v, delta: w });
          };
          for (const epi of hasConstraints ? ni.pods : ni.podsWithAffinity) {
            for (const t of prefAffinity) if (termMatches(t, epi.pod, undefined)) add(t, t.weight);
            for (const t of prefAnti) if (termMatches(t, epi.pod, undefined)) add(t, -t.weight);
            if (!epi.hasAffinity) continue;
            const et = termsOf(epi);
            if (hardWeight > 0) for (const t of et.requiredAffinity) if (selectsPod(t)) add(t, hardWeight);
            for (const t of et.preferredAffinity) if (selectsPod(t)) add(t, t.weight);
            for (const t of et.preferredAntiAffinity) if (selectsPod(t)) add(t, -t.weight);
          }
          return out;
        });
      }).sync(all, snap).totals[0]!.byKey;
      if (scores.size === 0) return Status.skip();
      state.write(PRE_SCORE_KEY, scores);
      return null;
    },
    score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
      const scores = state.read<TopologyScore>(PRE_SCORE_KEY);
      if (!scores) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
      const labels = ni.labels;
      let score = 0;
      for (const [key, byValue] of scores) {
        const v = labels[key];
        if (v !== undefined) score += byValue.get(v) ?? 0;
      }
      return score;
    },
    /** Min–max scaling to 0–100 (raw scores may be negative). */
    normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status | null {
      let min = Infinity;
      let max = -Infinity;
      for (const s of scores) {
        if (s.score < min) min = s.score;
        if (s.score > max) max = s.score;
      }
      const diff = max - min;
      for (const s of scores) s.score = diff > 0 ? Math.trunc((MAX_NODE_SCORE * (s.score - min)) / diff) : 0;
      return null;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        { event: { resource: 'AssignedPod', actionType: ActionType.Add | ActionType.UpdatePodLabel | ActionType.Delete, label: 'AssignedPodChange' }, hint: podChangeHint },
        { event: { resource: 'Node', actionType: ActionType.Add | ActionType.UpdateNodeLabel, label: 'NodeAddOrLabelChange' } },
        // A namespace added or relabelled can change which pods a namespaceSelector term selects.
        { event: { resource: 'Namespace', actionType: ActionType.Add | ActionType.Update, label: 'NamespaceChange' } },
      ];
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions;
}

/**
 * Upstream `isSchedulableAfterPodChange`: an added pod helps when it matches the pod's affinity; a relabelled one when
 * it starts matching the affinity or stops matching the anti-affinity; a deleted one when it matched the anti-affinity
 * or carried required anti-affinity of its own (it may have been what blocked the pod — upstream requeues on every
 * deletion for that reason).
 */
function podChangeHint(pod: Pod, oldObj: unknown, newObj: unknown): 'Queue' | 'QueueSkip' {
  const oldPod = oldObj as Pod | undefined;
  const newPod = newObj as Pod | undefined;
  let terms;
  try {
    terms = parsePodTerms(pod);
  } catch {
    return 'Queue';
  }
  const { requiredAffinity: aff, requiredAntiAffinity: anti } = terms;
  if (oldPod && newPod) {
    if (!matchesAllTerms(aff, oldPod) && matchesAllTerms(aff, newPod)) return 'Queue';
    if (anti.some((t) => termMatches(t, oldPod, undefined)) && !anti.some((t) => termMatches(t, newPod, undefined))) return 'Queue';
    return 'QueueSkip';
  }
  if (newPod) return matchesAllTerms(aff, newPod) ? 'Queue' : 'QueueSkip';
  if (!oldPod) return 'Queue';
  if (anti.some((t) => termMatches(t, oldPod, undefined))) return 'Queue';
  return oldPod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ? 'Queue' : 'QueueSkip';
}
