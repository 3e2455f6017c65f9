/**
 * The scheduling framework contract — Skiff's `k8s.io/kube-scheduler/framework/interface.go`. Everything a plugin can
 * do, and everything the scheduler promises a plugin, is written down here; the runtime (`runtime.ts`), the queue and
 * the plugins only depend on this file (and on `node-info.ts`, the data they look at).
 *
 * How one pod flows through the extension points (same order and meaning as kube-scheduler 1.32):
 *
 *   queue:            PreEnqueue (gate before activeQ) · QueueSort (order of activeQ) · EnqueueExtensions (which
 *                     cluster events may make a rejected pod schedulable → queueing hints)
 *   scheduling cycle  (one pod at a time, synchronous, on a snapshot of the cluster):
 *                     PreFilter → Filter (per node) → PostFilter (only when no node fits: preemption lives here)
 *                     → PreScore → Score (per node) → NormalizeScore → × weight → select host
 *                     → Reserve (cache "assumes" the pod on the node) → Permit (allow / reject / wait with timeout)
 *   binding cycle     (asynchronous, many in flight while the next pods are scheduled):
 *                     wait for Permit → PreBind → Bind (first non-Skip bind plugin) → PostBind
 *                     any failure after Reserve → Unreserve in reverse order, the assumed pod is forgotten, requeue.
 *
 * Hot-path conventions (a scheduling cycle calls Filter and Score thousands of times):
 * - `null` is success: Filter/Reserve/etc. return `Status | null`, and a plugin returns `null` when all is well, so
 *   nothing is allocated on the happy path (upstream returns a nil `*Status` for the same reason).
 * - The scheduling cycle is synchronous: PreFilter…Permit never await, so the snapshot cannot change under a pod.
 *   Only PostFilter (preemption deletes victims), PreBind and Bind are asynchronous.
 * - Plugins never mutate `Pod`, `Node` or `NodeInfo` objects they are given; per-pod data they compute in PreFilter or
 *   PreScore goes into the {@link CycleState} under a key like `PreFilterNodeResourcesFit`.
 */

import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { PodInfo, type NodeInfo, type NodeTable } from './node-info.js';

export type { Node, Pod } from 'kubernetes-types/core/v1.js';
export type { NodeInfo, NodeTable, PodInfo, Resource } from './node-info.js';

// ------------------------------------------------------------------------------------------------------------------
// Status

/**
 * What a plugin's answer means for the pod — and so what the scheduler and the queue do next (upstream `framework.Code`).
 */
export enum Code {
  /** The plugin ran and the pod may go on. (Plugins usually return `null` instead of a Success status.) */
  Success = 0,
  /** An internal error (API failure, bug): the pod goes to backoffQ and is retried, the message says "SchedulerError". */
  Error = 1,
  /**
   * The pod does not fit *now*, but could after a cluster change or after preemption. The pod goes to the
   * unschedulable pods and comes back on an event one of the rejecting plugins registered for.
   */
  Unschedulable = 2,
  /**
   * The pod does not fit and preemption cannot change that (a node selector, an untolerated taint, a request larger
   * than the node's whole allocatable). PostFilter skips these nodes ("Preemption is not helpful for scheduling").
   */
  UnschedulableAndUnresolvable = 3,
  /** Permit only: hold the pod (reserved) until another plugin allows it, rejects it or the timeout passes. */
  Wait = 4,
  /**
   * PreFilter/PreScore: this plugin has nothing to do for this pod, skip its Filter/Score for every node (upstream
   * 1.27+). Bind: this bind plugin does not handle the pod, try the next one.
   */
  Skip = 5,
  /** Pending (PreEnqueue gates): the pod stays out of activeQ until an event says otherwise (upstream 1.29+). */
  Pending = 6,
}

/** Upstream's `Code.String()`, used in logs and test failures. */
export const CODE_NAMES: Record<Code, string> = {
  [Code.Success]: 'Success',
  [Code.Error]: 'Error',
  [Code.Unschedulable]: 'Unschedulable',
  [Code.UnschedulableAndUnresolvable]: 'UnschedulableAndUnresolvable',
  [Code.Wait]: 'Wait',
  [Code.Skip]: 'Skip',
  [Code.Pending]: 'Pending',
};

/**
 * A plugin's verdict with human reasons (upstream `framework.Status`). Every reason is one phrase that the scheduler
 * counts per node and prints in the `FailedScheduling` event ("3 Insufficient cpu"), so a filter that fails for
 * several reasons (cpu *and* memory) returns them all. Reason strings are exported constants of each plugin.
 */
export class Status {
  /** The plugin that produced this status; the runtime fills it in (upstream `WithPlugin`). */
  plugin?: string;

  constructor(
    readonly code: Code,
    readonly reasons: readonly string[] = [],
    /** The underlying error for `Code.Error`. */
    readonly error?: unknown,
  ) {}

  /** An Unschedulable status with these reasons. */
  static unschedulable(...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons);
  }

  /** An UnschedulableAndUnresolvable status with these reasons. */
  static unresolvable(...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons);
  }

  /** An Error status carrying `err` (its message becomes the reason). */
  static error(err: unknown): Status {
    return new Status(Code.Error, [err instanceof Error ? err.message : String(err)], err);
  }

  /** The Skip status (shared; statuses are immutable apart from `plugin`, which the runtime sets on copies). */
  static skip(): Status {
    return new Status(Code.Skip);
  }

  /** Reasons joined with ", " (upstream `Status.Message`). */
  message(): string {
    return this.reasons.join(', ');
  }

  /** Unschedulable or UnschedulableAndUnresolvable (upstream `IsRejected`). */
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  /** A copy attributed to `plugin` (statuses may be shared constants). */
  withPlugin(plugin: string): Status {
    const s = new Status(this.code, this.reasons, this.error);
    s.plugin = plugin;
    return s;
  }
}

/** True for a success answer: `null` or a Success status (upstream `Status.IsSuccess` on a nil-able pointer). */
export function isSuccess(s: Status | null | undefined): boolean {
  return !s || s.code === Code.Success;
}

// ------------------------------------------------------------------------------------------------------------------
// Cycle state

/**
 * Per-pod scratch space for one scheduling attempt (upstream `framework.CycleState`): PreFilter/PreScore write what
 * Filter/Score read for every node. Keys are strings like `PreFilterNodeResourcesFit`. `clone()` exists so that
 * preemption can run "what if" filters on a copy; values that are mutated in such a run should be cloned by their
 * owner (upstream `StateData.Clone`).
 */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins whose PreFilter returned Skip: their Filter is not called (upstream `SkipFilterPlugins`). */
  readonly skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore returned Skip: their Score is not called (upstream `SkipScorePlugins`). */
  readonly skipScorePlugins = new Set<string>();
  /**
   * The Filter plugins left after the skips, computed once per cycle by the framework (it checks `size` of
   * skipFilterPlugins, which only grows) instead of one Set lookup per plugin per node. Not copied by clone().
   */
  activeFilters?: { skipped: number; plugins: readonly unknown[] };
  private pi?: PodInfo;

  /**
   * The {@link PodInfo} of `pod` (the cycle's pod), computed once per cycle and shared by the plugins that need the
   * pod's requests (NodeResourcesFit's PreFilter and PreScore, BalancedAllocation's PreScore) instead of one each.
   */
  podInfo(pod: Pod): PodInfo {
    let pi = this.pi;
    if (!pi || pi.pod !== pod) pi = this.pi = new PodInfo(pod);
    return pi;
  }

  /** Seeds {@link podInfo} with one already computed for its pod object (the queue's). */
  setPodInfo(pi: PodInfo): void {
    this.pi = pi;
  }

  /** Reads a value; `undefined` when the key was never written. */
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }

  delete(key: string): void {
    this.data.delete(key);
  }

  /** A copy whose values are cloned when they implement `clone()`, shared otherwise. */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) {
      const cl = (v as { clone?: () => unknown } | null)?.clone;
      c.data.set(k, typeof cl === 'function' ? cl.call(v) : v);
    }
    for (const p of this.skipFilterPlugins) c.skipFilterPlugins.add(p);
    for (const p of this.skipScorePlugins) c.skipScorePlugins.add(p);
    c.pi = this.pi;
    return c;
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Cluster events (queueing hints)

/** The kinds of objects whose changes can make a pod schedulable (upstream `framework.EventResource`). */
export type EventResource = 'Pod' | 'AssignedPod' | 'UnschedulablePod' | 'Node' | 'PersistentVolume' | 'PersistentVolumeClaim' | 'StorageClass' | 'PodGroup' | 'Namespace' | '*';

/**
 * What happened to the object, as bit flags so one registration can cover several (upstream `framework.ActionType`).
 * Node updates are split by what changed, so a plugin that only cares about labels is not woken by status heartbeats.
 */
export const ActionType = {
  Add: 1,
  Delete: 2,
  UpdateNodeAllocatable: 4,
  UpdateNodeLabel: 8,
  UpdateNodeTaint: 16,
  UpdateNodeCondition: 32,
  UpdateNodeAnnotation: 64,
  /** A pod's labels changed. */
  UpdatePodLabel: 128,
  /** A pod's requests were scaled down (in-place resize). */
  UpdatePodScaleDown: 256,
  /** Scheduling gates were removed or tolerations added (PreEnqueue-relevant). */
  UpdatePodSchedulingGatesEliminated: 512,
  UpdatePodTolerations: 1024,
  /** Any other update. */
  UpdateOther: 2048,
  /** Every update. */
  Update: 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512 | 1024 | 2048,
  All: 4095,
} as const;

/** One kind of change (upstream `framework.ClusterEvent`): resource + action bits + a label for logs and metrics. */
export interface ClusterEvent {
  resource: EventResource;
  actionType: number;
  /** e.g. `NodeAdd`, `AssignedPodDelete`; used in logs and in tests. */
  label: string;
}

/** A queueing hint's answer (upstream `framework.QueueingHint`). */
export type QueueingHint = 'Queue' | 'QueueSkip';

/**
 * Decides for one rejected pod whether an event may make it schedulable (upstream `QueueingHintFn`). `oldObj` is
 * undefined for adds, `newObj` undefined for deletes. Throwing is treated as `Queue` (upstream's safe default).
 */
export type QueueingHintFn = (pod: Pod, oldObj: unknown, newObj: unknown) => QueueingHint;

/** An event a plugin cares about, with an optional hint that filters it per pod. */
export interface ClusterEventWithHint {
  event: ClusterEvent;
  /** Absent: always queue on this event. */
  hint?: QueueingHintFn;
}

/** Implemented by plugins that reject pods, to say which events may help those pods (upstream `EnqueueExtensions`). */
export interface EnqueueExtensions extends Plugin {
  eventsToRegister(): ClusterEventWithHint[];
}

// ------------------------------------------------------------------------------------------------------------------
// Plugins

/** Every plugin has a unique name, used in configuration, cycle-state keys, logs and `Status.plugin`. */
export interface Plugin {
  readonly name: string;
}

/** A pod as the queue keeps it (upstream `QueuedPodInfo`). */
export interface QueuedPodInfo {
  pod: Pod;
  /** Parsed and cached per-pod data (see `node-info.ts`); rebuilt when the pod object changes. */
  podInfo: PodInfo;
  /** When the pod was last added to (or moved back into) the queue; QueueSort orders equal priorities by it. */
  timestamp: number;
  /** When the pod was first added to the queue (for "time to schedule" latency). */
  initialAttemptTimestamp?: number;
  /** Scheduling attempts so far (drives the exponential backoff). */
  attempts: number;
  /** Plugins that rejected the pod in its last attempt; only their registered events move it back. */
  unschedulablePlugins: Set<string>;
  /** Plugins that returned Pending from PreEnqueue. */
  pendingPlugins: Set<string>;
  /** Plugin that gated the pod in PreEnqueue, if any. */
  gatingPlugin?: string;
}

/**
 * PreEnqueue: must all pass before a pod enters activeQ (upstream `PreEnqueuePlugin`, e.g. SchedulingGates). Returning
 * a non-success status parks the pod as "gated" until a pod update or a registered event.
 */
export interface PreEnqueuePlugin extends Plugin {
  preEnqueue(pod: Pod): Status | null;
}

/** QueueSort: orders activeQ. Exactly one is enabled (upstream `QueueSortPlugin`; default PrioritySort). */
export interface QueueSortPlugin extends Plugin {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
}

/** What PreFilter may add besides a status (upstream `PreFilterResult`). */
export interface PreFilterResult {
  /**
   * Only these nodes can possibly fit (e.g. NodeAffinity on `metadata.name`); the runtime intersects the sets of all
   * PreFilter plugins and filters only those nodes. Undefined means all nodes.
   */
  nodeNames?: ReadonlySet<string>;
}

/**
 * PreFilter: runs once per scheduling attempt before any Filter (upstream `PreFilterPlugin`). Computes per-pod data
 * into the cycle state, may narrow the node set, may reject the pod outright (then the message applies to every node),
 * or return Skip to have its Filter skipped for this pod.
 */
export interface PreFilterPlugin extends Plugin {
  preFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { status: Status | null; result?: PreFilterResult };
  /**
   * Incremental updates of the PreFilter state when preemption simulates removing or adding pods on a node
   * (upstream `PreFilterExtensions`). Plugins whose Filter depends on *other pods* (InterPodAffinity, topology spread)
   * implement it; NodeResourcesFit does not need to because NodeInfo itself carries the requests.
   */
  preFilterExtensions?(): PreFilterExtensions | undefined;
}

/** See {@link PreFilterPlugin.preFilterExtensions}. */
export interface PreFilterExtensions {
  addPod(state: CycleState, podToSchedule: Pod, podInfoToAdd: PodInfo, nodeInfo: NodeInfo): Status | null;
  removePod(state: CycleState, podToSchedule: Pod, podInfoToRemove: PodInfo, nodeInfo: NodeInfo): Status | null;
}

/**
 * Filter: can the pod run on this node? (upstream `FilterPlugin`). Called for many nodes per pod, so it must be
 * cheap: read what PreFilter prepared. Return `null` to pass, an Unschedulable/UnschedulableAndUnresolvable status
 * with the reasons otherwise. Filters run in configuration order and stop at the first rejection per node
 * (upstream's default; the reasons shown are those of the first failing plugin).
 */
export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | null;
  /**
   * Optional fast path, asked once per cycle after PreFilter: a function of a position of the snapshot's
   * {@link NodeTable} that returns true only where `filter` would return null for the node at that position, a
   * rejection Status only where `filter` would return an equal one, and false for "not sure: call filter()". Returns
   * null when `filter` passes every node for this pod, undefined when there is no fast path for this pod. When every
   * active Filter plugin has one, the scheduler walks the table and calls `filter` only where some answer is false;
   * decisions and statuses stay those of `filter`.
   */
  filterFast?(state: CycleState, pod: Pod): FastFilter | null | undefined;
}

/** See {@link FilterPlugin.filterFast}. */
export type FastFilter = (table: NodeTable, i: number) => boolean | Status;

/** The fast paths of a cycle's active Filter plugins (see `Framework.fastFilters`). */
export interface FastFilters {
  fns: FastFilter[];
  /** Per entry of `fns`: the plugin's index among the active Filter plugins (for `Framework.runFilter`'s `from`). */
  from: number[];
  /** Per entry of `fns`: the plugin's name (attributed to the rejections it returns). */
  names: string[];
}

/** Where the nodes of a PreScore/Score pass sit in the snapshot's {@link NodeTable}: `nodes[k]` is at `positions[k]`. */
export interface NodePositions {
  table: NodeTable;
  positions: ArrayLike<number>;
}

/** Node name → the status that rejected it (upstream `NodeToStatus`). Nodes absent were not evaluated. */
export interface NodeToStatus {
  /** Statuses of the evaluated nodes that were rejected. */
  readonly statuses: ReadonlyMap<string, Status>;
  /**
   * Status of nodes that are absent from `statuses` (upstream `AbsentNodesStatus`): UnschedulableAndUnresolvable when
   * PreFilter narrowed the node set, so those nodes count for preemption as unresolvable.
   */
  readonly absentNodesStatus: Status;
}

/** What PostFilter may return (upstream `PostFilterResult`): e.g. the node on which victims were preempted. */
export interface PostFilterResult {
  nominatedNodeName?: string;
  /** How the nominated node should be treated by the queue (upstream `NominatingMode`). */
  nominatingMode?: 'ModeNoop' | 'ModeOverride';
}

/**
 * PostFilter: called only when no node passed Filter (upstream `PostFilterPlugin`; DefaultPreemption is one). May
 * make room (delete victims) and nominate a node. Its status message is appended to the FailedScheduling message —
 * e.g. "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling." — so it should explain
 * itself the same way. Plugins run in order until one returns Success; it may be asynchronous.
 */
export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: Pod, filteredNodeStatus: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status | null }>;
}

/**
 * PreScore: runs once after Filter with the feasible nodes (upstream `PreScorePlugin`), to precompute what Score needs.
 * Skip disables this plugin's Score for the pod.
 */
export interface PreScorePlugin extends Plugin {
  /** `at`, when given, locates `nodes` in the snapshot's NodeTable (a plugin may read it instead of each NodeInfo). */
  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], at?: NodePositions): Status | null;
}

/** See {@link ScorePlugin.scoreFastInto}. */
export type ScoreInto = (table: NodeTable, positions: ArrayLike<number>, n: number, weight: number, totals: number[]) => boolean;

/** A node's score in a normalize pass. */
export interface NodeScore {
  name: string;
  score: number;
}

/** Highest score a plugin may give after normalization (upstream `MaxNodeScore`). */
export const MAX_NODE_SCORE = 100;
/** Lowest score (upstream `MinNodeScore`). */
export const MIN_NODE_SCORE = 0;
/** Largest sum of weighted scores (upstream `MaxTotalScore`): weights × 100 must stay below it. */
export const MAX_TOTAL_SCORE = Number.MAX_SAFE_INTEGER;

/**
 * Score: ranks a feasible node (upstream `ScorePlugin`). Returns an integer; after the optional `normalizeScore`
 * (upstream `ScoreExtensions`) every score must lie in [0, 100]; the runtime then multiplies by the plugin's weight
 * and sums over plugins. Throwing or returning an out-of-range score is an Error status for the pod.
 */
export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number;
  /**
   * Optional fast path, asked once per cycle after PreScore: a function of a {@link NodeTable} position returning
   * exactly what `score` returns for the node there, or undefined when there is none for this pod.
   */
  scoreFast?(state: CycleState, pod: Pod): ((table: NodeTable, i: number) => number) | undefined;
  /**
   * Optional batch form of {@link scoreFast} for plugins without `normalizeScore`, asked once per cycle when only the
   * totals are needed: a function adding `weight ×` the score of the node at `positions[k]` to `totals[k]` for every
   * k < n — the loop inside the plugin, so its per-node arithmetic inlines. Scores must be exactly `scoreFast`'s; it
   * returns false when one is outside [0, 100] (the runtime then reports it through `scoreFast`).
   */
  scoreFastInto?(state: CycleState, pod: Pod): ScoreInto | undefined;
  /** Rescales this plugin's raw scores in place into [0, 100]. */
  normalizeScore?(state: CycleState, pod: Pod, scores: NodeScore[]): Status | null;
}

/**
 * Reserve/Unreserve (upstream `ReservePlugin`): Reserve runs after the host is chosen and the pod is assumed in the
 * cache; a plugin keeping its own per-node state (volume binding, gang bookkeeping) updates it here. If Reserve or any
 * later step fails, Unreserve runs for *every* reserve plugin in reverse order — it must be idempotent and must not
 * fail.
 */
export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: Pod, nodeName: string): Status | null;
  unreserve(state: CycleState, pod: Pod, nodeName: string): void;
}

/**
 * Permit (upstream `PermitPlugin`): the last gate before binding. Return null to allow, a rejection to unreserve and
 * requeue, or `Code.Wait` with `timeoutMs` to hold the pod: the binding cycle then waits until every waiting plugin
 * has called {@link WaitingPod.allow}, or any calls {@link WaitingPod.reject}, or the shortest timeout passes (then the
 * pod is rejected as Unschedulable). Gang scheduling is a Permit plugin that waits until minMember pods are reserved.
 */
export interface PermitPlugin extends Plugin {
  permit(state: CycleState, pod: Pod, nodeName: string): { status: Status | null; timeoutMs?: number };
}

/** PreBind: work that must finish before binding, e.g. provisioning volumes (upstream `PreBindPlugin`). */
export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | null>;
}

/**
 * Bind: writes the binding (upstream `BindPlugin`; DefaultBinder POSTs `pods/binding`). Plugins run in order until
 * one does not return Skip. A failure unreserves and requeues the pod.
 */
export interface BindPlugin extends Plugin {
  bind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | null>;
}

/** PostBind: informational, after a successful bind (upstream `PostBindPlugin`); cannot fail. */
export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: Pod, nodeName: string): void;
}

/** A reserved pod held by Permit (upstream `WaitingPod`). */
export interface WaitingPod {
  readonly pod: Pod;
  /** Names of plugins that asked to wait and have not allowed yet. */
  pendingPlugins(): string[];
  /** `plugin` allows the pod; once every waiting plugin allowed, binding proceeds. */
  allow(plugin: string): void;
  /** Rejects the pod: binding is cancelled, the pod is unreserved and requeued with `msg` as reason. */
  reject(plugin: string, msg: string): void;
}

// ------------------------------------------------------------------------------------------------------------------
// Handle: what the framework gives plugins

/** Read access to the scheduling snapshot (upstream `SharedLister` / `NodeInfoLister`). */
export interface SnapshotLister {
  /** Every node, in the order the scheduler iterates them. */
  list(): readonly NodeInfo[];
  /** Nodes that have at least one pod with (anti-)affinity terms (for InterPodAffinity). */
  havePodsWithAffinityList(): readonly NodeInfo[];
  /** Nodes that have at least one pod with required anti-affinity terms. */
  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[];
  /** The lengths of the two lists above, without building them (optional: test snapshots may lack them). */
  countNodesWithPodsWithAffinity?(): number;
  countNodesWithPodsWithRequiredAntiAffinity?(): number;
  get(nodeName: string): NodeInfo | undefined;
  /** The hot numbers and label columns of {@link list}, by position (optional: test snapshots may lack it). */
  readonly table?: NodeTable;
  /**
   * Positions in {@link list} whose NodeInfo was replaced since `token` (a value this method returned before), and the
   * token to pass next time; `changed` is undefined when that is unknown (no token yet, the list was rebuilt, the
   * journal was trimmed) — the caller then rescans the whole list. Lets per-plugin state that is derived from
   * every node (PodTopologySpread's domain counts) update in O(changes) per cycle. Optional: snapshots built by
   * tests may not keep a journal.
   */
  changedSince?(token: number | undefined): { changed?: readonly number[]; token: number };
}

/**
 * The side effects a scheduler has on the cluster, behind one interface (Nomad's `Planner`, upstream's clientset
 * calls) so the scheduler runs against the apiserver in production and against in-memory fakes in tests.
 */
export interface ClusterApi {
  /** POST `pods/binding` (sets spec.nodeName). */
  bind(pod: Pod, nodeName: string): Promise<void>;
  /**
   * Writes the pod's PodScheduled condition (and nominatedNodeName when given: `''` clears it) through the status
   * subresource.
   */
  updatePodStatus(pod: Pod, condition: PodScheduledCondition, nominatedNodeName?: string): Promise<void>;
  /** Records a core/v1 Event about the pod (aggregated like upstream's recorder). */
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Deletes a pod (preemption victims), gracefully. */
  deletePod(pod: Pod, reason: string): Promise<void>;
}

/** The `PodScheduled` condition the scheduler writes. */
export interface PodScheduledCondition {
  type: 'PodScheduled';
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

/**
 * Runs the profile's own plugins on a what-if copy of a node (upstream `framework.PluginsRunner`, embedded in the
 * Handle): preemption removes victims from a cloned NodeInfo (and, through the PreFilter extensions, from a cloned
 * CycleState) and asks the Filter plugins whether the pod fits then.
 */
export interface PluginsRunner {
  /**
   * Filter with the nominated pods of priority ≥ the pod's added to the node first (upstream
   * `RunFilterPluginsWithNominatedPods`): a node that a preemptor was promised is not given away to an equal or
   * lower priority pod. Runs the plain filter too when nominated pods were added (pod affinity may need them absent).
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: Pod, nodeInfo: NodeInfo, ignoreNominated?: (pi: PodInfo) => boolean): Status | null;
  /**
   * Runs the PreFilter plugins for `pod` into `state` over the current snapshot, as a scheduling cycle would (Skip
   * marks the plugin skipped in `state`). Gang preemption plans the group's other members with it. Optional so that
   * hand-made handles in tests need not provide it.
   */
  runPreFilterPlugins?(state: CycleState, pod: Pod): { status: Status | null; nodeNames?: ReadonlySet<string> };
  runPreFilterExtensionAddPod(state: CycleState, podToSchedule: Pod, podInfoToAdd: PodInfo, nodeInfo: NodeInfo): Status | null;
  runPreFilterExtensionRemovePod(state: CycleState, podToSchedule: Pod, podInfoToRemove: PodInfo, nodeInfo: NodeInfo): Status | null;
}

/** What plugins can reach (upstream `framework.Handle`). */
export interface Handle extends PluginsRunner {
  snapshot(): SnapshotLister;
  /**
   * Pods nominated to `nodeName` by preemption (status.nominatedNodeName) that are not bound yet (upstream
   * `PodNominator.NominatedPodsForNode`). Empty when none.
   */
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
  cluster: ClusterApi;
  clock: { now(): number };
  getWaitingPod(uid: string): WaitingPod | undefined;
  iterateWaitingPods(fn: (wp: WaitingPod) => void): void;
  rejectWaitingPod(uid: string): boolean;
  /** Asks the queue to move rejected pods back on `event` (plugins that track their own objects, e.g. PodGroups). */
  moveAllToActiveOrBackoff(event: ClusterEvent, oldObj?: unknown, newObj?: unknown): void;
}

/** Builds a plugin from its arguments (upstream `PluginFactory`); `args` come from the profile. */
export type PluginFactory = (args: unknown, handle: Handle) => Plugin;

/** One enabled plugin in a profile: every extension point it implements is used ("multiPoint" in upstream config). */
export interface PluginConfig {
  name: string;
  /** Score weight (default 1). */
  weight?: number;
  args?: unknown;
}

/** A scheduler profile (upstream `KubeSchedulerProfile`). */
export interface Profile {
  schedulerName: string;
  plugins: PluginConfig[];
  /** 0 (default) means the adaptive formula; otherwise 1–100. */
  percentageOfNodesToScore?: number;
}
