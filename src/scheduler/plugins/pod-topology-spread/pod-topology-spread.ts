/**
 * PodTopologySpread (upstream `pkg/scheduler/framework/plugins/podtopologyspread`): spreads the pods selected by a
 * constraint's `labelSelector` (in the pod's namespace) evenly over the domains of `topologyKey`.
 *
 * Filter (`whenUnsatisfiable: DoNotSchedule`): a node passes when, for every constraint,
 *   matching pods in its domain + (1 if the pod matches its own selector) − global minimum ≤ maxSkew,
 * where the global minimum is taken over the *eligible* domains (nodes passing nodeAffinityPolicy — Honor by default —
 * and nodeTaintsPolicy — Ignore by default — and carrying every constraint's key), and is 0 while there are fewer
 * eligible domains than `minDomains`. Reasons: "node(s) didn't match pod topology spread constraints" (Unschedulable:
 * preemption can lower the count) and "… (missing required label)" (UnschedulableAndUnresolvable).
 *
 * Score (`ScheduleAnyway`): per constraint, the domain's count × log(number of domains + 2) + maxSkew − 1, summed and
 * reversed in normalization so emptier domains win. A pod without constraints that belongs to a ReplicaSet,
 * ReplicationController or StatefulSet gets the cluster default constraints (upstream "System" defaulting:
 * hostname maxSkew 3 and zone maxSkew 5, ScheduleAnyway) with a selector derived from its labels.
 *
 * Counts come from {@link DomainCounter}s kept across cycles, so a cycle recounts only the nodes that changed.
 */

import type { Node, Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { labelSelectorToString, matches, newRequirement, selectorFromLabelSelectorObject, selectorFromSet, type LabelSelector } from '../../../api/labels.js';
import {
  ActionType, CycleState, MAX_NODE_SCORE, Status,
  type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FilterPlugin, type Handle, type NodeInfo, type NodeScore,
  type PodInfo, type PreFilterExtensions, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin,
} from '../../framework/interface.js';
import { findUntoleratedTaint, RequiredNodeAffinity } from '../../framework/helpers.js';
import { countPodsMatchSelector, DomainCounter, type CounterSpec } from './domain-counter.js';

export const NAME = 'PodTopologySpread';
const PRE_FILTER_KEY = `PreFilter${NAME}`;
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Upstream `ErrReasonConstraintsNotMatch`. */
export const REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
/** Upstream `ErrReasonNodeLabelNotMatch`. */
export const REASON_NODE_LABEL_NOT_MATCH = `${REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

/** Upstream `systemDefaultConstraints`. */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly TopologySpreadConstraint[] = [
  { topologyKey: HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 3 },
  { topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 5 },
];

/** Plugin arguments (upstream `PodTopologySpreadArgs`). */
export interface PodTopologySpreadArgs {
  /** `System` (default): {@link SYSTEM_DEFAULT_CONSTRAINTS}; `List`: `defaultConstraints` (no label selectors). */
  defaultingType?: 'System' | 'List';
  defaultConstraints?: TopologySpreadConstraint[];
}

/** Labels that differ per replica and so cannot select a workload's pods. */
const PER_POD_LABELS = ['statefulset.kubernetes.io/pod-name', 'apps.kubernetes.io/pod-index', 'controller-revision-hash'];
const DEFAULTED_OWNERS = new Set(['ReplicaSet', 'ReplicationController', 'StatefulSet']);

/**
 * The selector of the workload a pod belongs to, for the default constraints (upstream `helper.DefaultSelector`,
 * which unions the selectors of the pod's Services, RC, RS and StatefulSet). Without those listers Skiff uses the
 * pod's own labels minus the per-replica ones, for pods controlled by a ReplicaSet, ReplicationController or
 * StatefulSet — the labels their selectors are built from. Undefined: no default spreading.
 */
export function defaultSelectorFromLabels(pod: Pod): LabelSelector | undefined {
  const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
  if (!owner || !DEFAULTED_OWNERS.has(owner.kind)) return undefined;
  const labels = { ...(pod.metadata?.labels ?? {}) };
  for (const k of PER_POD_LABELS) delete labels[k];
  return Object.keys(labels).length ? selectorFromSet(labels) : undefined;
}

/** A parsed constraint (upstream `topologySpreadConstraint`). */
interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelSelector;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
  /** Whether the incoming pod counts itself in the domain (it matches the selector). */
  selfMatch: number;
}

/** Upstream `filterTopologySpreadConstraints`: the constraints with `action`, matchLabelKeys merged into the selector. */
function parseConstraints(list: readonly TopologySpreadConstraint[], pod: Pod, action: string, defaultSelector?: LabelSelector): Constraint[] {
  const podLabels = pod.metadata?.labels ?? {};
  const out: Constraint[] = [];
  for (const c of list) {
    if (c.whenUnsatisfiable !== action) continue;
    let selector = defaultSelector ?? selectorFromLabelSelectorObject(c.labelSelector);
    const extra = (c.matchLabelKeys ?? []).filter((k) => podLabels[k] !== undefined).map((k) => newRequirement(k, 'in', [podLabels[k]!]));
    if (extra.length) selector = { requirements: [...selector.requirements, ...extra] };
    out.push({
      maxSkew: c.maxSkew, topologyKey: c.topologyKey, selector, minDomains: c.minDomains ?? 1,
      honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor', honorTaints: c.nodeTaintsPolicy === 'Honor',
      selfMatch: matches(selector, podLabels) ? 1 : 0,
    });
  }
  return out;
}

const filterTaints = (t: { effect?: string }) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
const hasAllKeys = (labels: Record<string, string> | undefined, keys: readonly string[]) => {
  if (!labels) return false;
  for (const k of keys) if (labels[k] === undefined) return false;
  return true;
};

/** Per-pod Filter data (upstream `preFilterState`); maps are shared with the counters until a what-if changes them. */
class PreFilterState {
  constructor(
    readonly constraints: readonly Constraint[],
    readonly keys: readonly string[],
    readonly eligible: ReadonlyArray<(node: Node) => boolean>,
    readonly matchNum: Array<Map<string, number>>,
    readonly minMatch: number[],
    private owned = false,
    /**
     * Per constraint, its counter's domain index of each position of `list` (see
     * DomainCounter.domainIndexByPosition) and the domain values of those indexes, for Filter's fast path; only set
     * when the counters were synced with the snapshot's node list.
     */
    readonly domains?: ReadonlyArray<Int32Array>,
    readonly domainNames?: ReadonlyArray<readonly string[]>,
    readonly list?: readonly NodeInfo[],
  ) {}

  /** Upstream `minMatchNum`: 0 while there are fewer eligible domains than minDomains. */
  globalMin(i: number): number {
    return this.matchNum[i]!.size < this.constraints[i]!.minDomains ? 0 : this.minMatch[i]!;
  }

  /** Upstream `updateWithPod` (preemption adds/removes pods on a node). */
  updateWithPod(pod: Pod, updated: Pod, node: Node | undefined, delta: number): void {
    const labels = node?.metadata?.labels;
    if (!node || (updated.metadata?.namespace ?? '') !== (pod.metadata?.namespace ?? '') || !hasAllKeys(labels, this.keys)) return;
    this.constraints.forEach((c, i) => {
      if (!matches(c.selector, updated.metadata?.labels) || !this.eligible[i]!(node)) return;
      if (!this.owned) this.own();
      const m = this.matchNum[i]!;
      const v = labels![c.topologyKey]!;
      m.set(v, (m.get(v) ?? 0) + delta);
      this.minMatch[i] = Math.min(...m.values());
    });
  }

  private own(): void {
    for (let i = 0; i < this.matchNum.length; i++) this.matchNum[i] = new Map(this.matchNum[i]);
    this.owned = true;
  }

  clone(): PreFilterState {
    return new PreFilterState(this.constraints, this.keys, this.eligible, this.matchNum.map((m) => new Map(m)), this.minMatch.slice(), true);
  }
}

/** Per-pod Score data (upstream `preScoreState`). */
interface PreScoreState {
  constraints: readonly Constraint[];
  ignoredNodes: Set<string>;
  /** Per constraint: domain → matching pods (unused for hostname, counted in Score). */
  counts: Array<ReadonlyMap<string, number> | undefined>;
  weights: number[];
  namespace: string;
}

/**
 * Builds the plugin. `handle.snapshot()` gives PreScore every node (upstream counts pods on all nodes, scores the
 * feasible ones); `defaultSelector` overrides {@link defaultSelectorFromLabels} (e.g. with Service/ReplicaSet listers).
 */
export function newPodTopologySpread(args: PodTopologySpreadArgs = {}, handle?: Pick<Handle, 'snapshot'>, defaultSelector: (pod: Pod) => LabelSelector | undefined = defaultSelectorFromLabels) {
  const systemDefaulted = (args.defaultingType ?? 'System') === 'System';
  const defaults = systemDefaulted ? SYSTEM_DEFAULT_CONSTRAINTS : args.defaultConstraints ?? [];
  if (!systemDefaulted && defaults.some((c) => c.labelSelector)) throw new Error('defaultConstraints: constraints must not define a labelSelector');
  const counters = new Map<string, DomainCounter>();
  /** The PreFilter state of the latest cycle (Filter's CycleState lookup, memoized by state identity). */
  let memo: { state: CycleState; value: PreFilterState } | undefined;

  /** Upstream `getConstraints` / `buildDefaultConstraints`. */
  const constraintsFor = (pod: Pod, action: string): Constraint[] => {
    const own = pod.spec?.topologySpreadConstraints;
    if (own?.length) return parseConstraints(own, pod, action);
    if (!defaults.some((c) => c.whenUnsatisfiable === action)) return [];
    const sel = defaultSelector(pod);
    return sel && sel.requirements.length ? parseConstraints(defaults, pod, action, sel) : [];
  };

  const eligibility = (pod: Pod, c: Constraint): { key: string; fn: (node: Node) => boolean } => {
    const aff = c.honorAffinity ? new RequiredNodeAffinity(pod) : undefined;
    const tolerations = pod.spec?.tolerations;
    const key = `${aff && !aff.empty ? JSON.stringify([pod.spec?.nodeSelector, pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution]) : ''}|${c.honorTaints ? JSON.stringify(tolerations ?? []) : '-'}`;
    const fn = (node: Node) => (!aff || aff.empty || aff.match(node)) && (!c.honorTaints || !findUntoleratedTaint(node.spec?.taints, tolerations, filterTaints));
    return { key, fn };
  };

  /** The synced counter for one constraint of `pod` over `nodes`. */
  const counterFor = (pod: Pod, c: Constraint, requiredKeys: readonly string[], eligible: { key: string; fn: (n: Node) => boolean }, nodes: readonly NodeInfo[]): DomainCounter => {
    const namespace = pod.metadata?.namespace ?? '';
    const key = [namespace, c.selector.nothing ? '!' : labelSelectorToString(c.selector), c.topologyKey, requiredKeys.join(','), eligible.key].join('\x00');
    let counter = counters.get(key);
    if (counter) counters.delete(key);
    else {
      const spec: CounterSpec = { namespace, selector: c.selector, topologyKey: c.topologyKey, requiredKeys, eligible: eligible.fn };
      counter = new DomainCounter(spec);
      if (counters.size >= 64) counters.delete(counters.keys().next().value!);
    }
    counters.set(key, counter); // most recently used last
    counter.sync(nodes, handle?.snapshot());
    return counter;
  };

  const extensions: PreFilterExtensions = {
    addPod: (state, pod, pi: PodInfo, ni) => (state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(pod, pi.pod, ni.node, 1), null),
    removePod: (state, pod, pi: PodInfo, ni) => (state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(pod, pi.pod, ni.node, -1), null),
  };

  return {
    name: NAME,
    preFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { status: Status | null } {
      let constraints: Constraint[];
      try {
        constraints = constraintsFor(pod, 'DoNotSchedule');
      } catch (err) {
        return { status: Status.error(err) };
      }
      if (constraints.length === 0) return { status: Status.skip() };
      const keys = constraints.map((c) => c.topologyKey);
      const eligible = constraints.map((c) => eligibility(pod, c));
      const counts = constraints.map((c, i) => counterFor(pod, c, keys, eligible[i]!, nodes));
      const snapList = handle?.snapshot().list();
      const synced = snapList === nodes && counts.every((k) => k.syncedList === nodes);
      const pfs = new PreFilterState(constraints, keys, eligible.map((e) => e.fn), counts.map((k) => k.matchNum), counts.map((k) => k.min()), false,
        synced ? counts.map((k) => k.domainIndexByPosition) : undefined, synced ? counts.map((k) => k.domainNames) : undefined, synced ? nodes : undefined);
      state.write(PRE_FILTER_KEY, pfs);
      memo = { state, value: pfs };
      return { status: null };
    },
    preFilterExtensions: () => extensions,
    filter(state: CycleState, _pod: Pod, ni: NodeInfo): Status | null {
      // Filter runs for hundreds of nodes per cycle with the same state: remember the last lookup.
      let s: PreFilterState | undefined;
      if (memo?.state === state) s = memo.value;
      else if ((s = state.read<PreFilterState>(PRE_FILTER_KEY))) memo = { state, value: s };
      if (!s) return Status.error(new Error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`));
      const labels = ni.labels;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i]!;
        const v = labels[c.topologyKey];
        if (v === undefined) return Status.unresolvable(REASON_NODE_LABEL_NOT_MATCH);
        const skew = (s.matchNum[i]!.get(v) ?? 0) + c.selfMatch - s.globalMin(i);
        if (skew > c.maxSkew) return Status.unschedulable(REASON_CONSTRAINTS_NOT_MATCH);
      }
      return null;
    },
    /**
     * Fast path: a node the counters place in a domain passes when that domain's count is within the skew limit
     * (`count + selfMatch − globalMin ≤ maxSkew`, as filter computes) and is rejected as filter would otherwise;
     * nodes the counters skip go through filter.
     */
    filterFast(state: CycleState): FastFilter | undefined {
      let s: PreFilterState | undefined;
      if (memo?.state === state) s = memo.value;
      else s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s || !s.domains || !s.domainNames || !handle || s.list !== handle.snapshot().list()) return undefined;
      const n = s.constraints.length;
      const domains = s.domains;
      const names = s.domainNames;
      const counts = s.matchNum;
      const limits = s.constraints.map((c, i) => c.maxSkew - c.selfMatch + s.globalMin(i));
      // Per constraint and domain index, the verdict (0 unknown yet, 1 within the skew limit, 2 over it), filled as
      // domains are met: the count is looked up once per domain and cycle, not once per node.
      const verdicts = names.map((d) => new Uint8Array(d.length));
      // One rejection for the cycle (statuses are immutable): about half the evaluated nodes get it.
      const rejected = Status.unschedulable(REASON_CONSTRAINTS_NOT_MATCH);
      const judge = (k: number, di: number): number =>
        (verdicts[k]![di] = (counts[k]!.get(names[k]![di]!) ?? 0) > limits[k]! ? 2 : 1);
      if (n === 1) {
        const idx = domains[0]!;
        const v = verdicts[0]!;
        return (_t, i) => {
          const di = idx[i]!;
          if (di < 0) return false; // no label, or a node the counter skips: filter decides
          const r = v[di] || judge(0, di);
          return r === 1 ? true : rejected;
        };
      }
      return (_t, i) => {
        for (let k = 0; k < n; k++) {
          const di = domains[k]![i]!;
          if (di < 0) return false; // no label, or a node the counter skips: filter decides
          // The earlier constraints passed and the node has this one's label: filter's answer for the skew.
          if ((verdicts[k]![di] || judge(k, di)) === 2) return rejected;
        }
        return true;
      };
    },
    preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status | null {
      const all = handle?.snapshot().list() ?? nodes;
      if (nodes.length === 0 || all.length === 0) return Status.skip();
      let constraints: Constraint[];
      try {
        constraints = constraintsFor(pod, 'ScheduleAnyway');
      } catch (err) {
        return Status.error(err);
      }
      if (constraints.length === 0) return Status.skip();
      // Only non-default constraints require every key: nodes without a zone still get hostname spreading.
      const requireAll = !!pod.spec?.topologySpreadConstraints?.length || !systemDefaulted;
      const keys = constraints.map((c) => c.topologyKey);
      const ignoredNodes = new Set<string>();
      const domains = constraints.map(() => new Set<string>());
      for (const ni of nodes) {
        const labels = ni.node?.metadata?.labels;
        if (requireAll && !hasAllKeys(labels, keys)) {
          ignoredNodes.add(ni.name);
          continue;
        }
        constraints.forEach((c, i) => c.topologyKey !== HOSTNAME && domains[i]!.add(labels?.[c.topologyKey] ?? ''));
      }
      const s: PreScoreState = {
        constraints, ignoredNodes, namespace: pod.metadata?.namespace ?? '',
        weights: constraints.map((c, i) => Math.log((c.topologyKey === HOSTNAME ? nodes.length - ignoredNodes.size : domains[i]!.size) + 2)),
        counts: constraints.map((c) => (c.topologyKey === HOSTNAME ? undefined : counterFor(pod, c, requireAll ? keys : [], eligibility(pod, c), all).matchNum)),
      };
      state.write(PRE_SCORE_KEY, s);
      return null;
    },
    score(state: CycleState, _pod: Pod, ni: NodeInfo): number {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) throw new Error(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
      if (s.ignoredNodes.has(ni.name)) return 0;
      const labels = ni.labels;
      let score = 0;
      s.constraints.forEach((c, i) => {
        const v = labels[c.topologyKey];
        if (v === undefined) return;
        const cnt = c.topologyKey === HOSTNAME ? countPodsMatchSelector(ni.pods, c.selector, s.namespace) : s.counts[i]!.get(v) ?? 0;
        score += cnt * s.weights[i]! + (c.maxSkew - 1);
      });
      return Math.round(score);
    },
    /** Fewer matching pods is better: maxScore + minScore − score, scaled; ignored nodes get 0 (upstream). */
    normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): Status | null {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) return null;
      let min = Infinity;
      let max = 0;
      for (const sc of scores) {
        if (s.ignoredNodes.has(sc.name)) continue;
        if (sc.score < min) min = sc.score;
        if (sc.score > max) max = sc.score;
      }
      for (const sc of scores) {
        if (s.ignoredNodes.has(sc.name)) sc.score = 0;
        else if (max === 0) sc.score = MAX_NODE_SCORE;
        else sc.score = Math.trunc((MAX_NODE_SCORE * (max + min - sc.score)) / max);
      }
      return null;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        {
          event: { resource: 'AssignedPod', actionType: ActionType.Add | ActionType.UpdatePodLabel | ActionType.Delete, label: 'AssignedPodChange' },
          // A pod change matters when the changed pod is counted by one of the constraints (upstream hint).
          hint: (pod, oldObj, newObj) => {
            const changed = [oldObj as Pod | undefined, newObj as Pod | undefined].filter((p): p is Pod => !!p);
            let cs: Constraint[];
            try {
              cs = constraintsFor(pod, 'DoNotSchedule');
            } catch {
              return 'Queue';
            }
            const ns = pod.metadata?.namespace ?? '';
            return changed.some((p) => (p.metadata?.namespace ?? '') === ns && cs.some((c) => matches(c.selector, p.metadata?.labels))) ? 'Queue' : 'QueueSkip';
          },
        },
        {
          event: { resource: 'Node', actionType: ActionType.Add | ActionType.Delete | ActionType.UpdateNodeLabel | ActionType.UpdateNodeTaint, label: 'NodeChange' },
          // Only nodes carrying every topology key can change a domain (upstream `isSchedulableAfterNodeChange`).
          hint: (pod, oldObj, newObj) => {
            const keys = (pod.spec?.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule').map((c) => c.topologyKey);
            const node = (newObj ?? oldObj) as Node | undefined;
            return hasAllKeys(node?.metadata?.labels, keys) || hasAllKeys((oldObj as Node | undefined)?.metadata?.labels, keys) ? 'Queue' : 'QueueSkip';
          },
        },
      ];
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions;
}
