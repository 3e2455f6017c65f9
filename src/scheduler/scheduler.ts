/**
 * The scheduler (upstream `pkg/scheduler/schedule_one.go` + `eventhandlers.go`): takes pods from the queue one at a
 * time and runs the scheduling cycle on a snapshot of the cache —
 *
 *   PreFilter → Filter over the nodes, starting at a rotating index and stopping once enough feasible nodes were found
 *   (the adaptive percentageOfNodesToScore) → PostFilter when none fit → PreScore/Score/NormalizeScore × weight →
 *   highest total wins, ties broken at random (injected rng) → assume in the cache + Reserve → Permit
 *
 * then hands the pod to an asynchronous binding cycle (wait on Permit → PreBind → Bind → PostBind) and moves on.
 * A failure anywhere writes `PodScheduled=False` (reason `Unschedulable` or `SchedulerError`) with upstream's message
 * ("0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {gpu: true}.") and a Warning
 * `FailedScheduling` event, and requeues the pod; success records a Normal `Scheduled` event.
 *
 * The scheduler touches the cluster only through a {@link ClusterApi} and learns about it only through its
 * `on*` event methods, so tests drive it with in-memory objects and an injected clock and rng (STYLE.md item 10);
 * `index.ts` connects it to informers and the apiserver.
 */

import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock, type Timer } from '../client/clock.js';
import { defaultLogger, type Logger } from '../client/log.js';
import { ASSUMED_POD_TTL_MS, SchedulerCache, Snapshot } from './cache/cache.js';
import {
  ActionType, Code, CycleState, Status,
  type ClusterApi, type ClusterEvent, type NodeInfo, type NodeToStatus, type Profile, type QueuedPodInfo,
} from './framework/interface.js';
import { PodInfo } from './framework/node-info.js';
import { Framework, type Registry } from './framework/runtime.js';
import { Nominator } from './plugins/default-preemption/nominator.js';
import { defaultProfile, inTreeRegistry } from './plugins/registry.js';
import { SchedulingQueue } from './queue/scheduling-queue.js';
import { sameJson } from '../util/same-json.js';

/** Upstream `minFeasibleNodesToFind`. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** Upstream `minFeasibleNodesPercentageToFind`. */
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
/** Upstream `ErrNoNodesAvailable`. */
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/**
 * How many feasible nodes to look for among `numAllNodes` (upstream `numFeasibleNodesToFind`): all of them below 100
 * nodes; otherwise `percentage` of them (adaptive default `50 − nodes/125`, at least 5 %), but never fewer than 100.
 */
export function numFeasibleNodesToFind(percentageOfNodesToScore: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentageOfNodesToScore;
  if (!pct) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (pct >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** Why no node fit (upstream `framework.Diagnosis`). */
export interface Diagnosis {
  statuses: Map<string, Status>;
  absentNodesStatus: Status;
  unschedulablePlugins: Set<string>;
  /** Set when PreFilter rejected the pod (its message then replaces the per-node histogram). */
  preFilterMsg?: string;
  /** The PostFilter (preemption) message, appended after the filter reasons. */
  postFilterMsg?: string;
}

/** An empty diagnosis: nodes not evaluated count as UnschedulableAndUnresolvable with no reason. */
function newDiagnosis(): Diagnosis {
  return { statuses: new Map(), absentNodesStatus: new Status(Code.UnschedulableAndUnresolvable), unschedulablePlugins: new Set() };
}

/**
 * Upstream `FitError.Error()`: "0/N nodes are available: <count reason, …sorted>." plus the PostFilter message. Each
 * reason of each rejected node counts once; nodes that were never evaluated count under the absent-nodes status.
 */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) msg += ` ${d.preFilterMsg}.`;
  else {
    const counts = new Map<string, number>();
    for (const s of d.statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const absent = numAllNodes - d.statuses.size;
    if (absent > 0) for (const r of d.absentNodesStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
    const parts = [...counts].map(([r, n]) => `${n} ${r}`);
    // Go's sort.Strings: byte-wise order of the whole "count reason" string.
    parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** Upstream truncates event notes to 1 KiB (`truncateMessage`); conditions keep the whole text. */
function truncateMessage(m: string): string {
  const max = 1024;
  return m.length <= max ? m : `${m.slice(0, max - 3)}...`;
}

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  cluster: ClusterApi;
  /** Default: the default profile (`default-scheduler`). */
  profile?: Profile;
  /** Default: the in-tree registry. */
  registry?: Registry;
  clock?: Clock;
  /** Random source in [0, 1) for tie-breaking. */
  rng?: () => number;
  logger?: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
  assumedPodTtlMs?: number;
  /**
   * Bindings allowed in flight before the scheduling loop waits (default 128). The API client carries 64 requests
   * at a time; bindings beyond those wait in its queue holding their whole request state, which outlives the young
   * generation: basic 5000/10000 promoted 189 MB with 512 allowed, 126–137 MB with 128 (156 MB with 64, where the loop
   * also waits more), and its scavenges paused the scheduler 822 ms against 576–612 ms.
   */
  maxInFlightBindings?: number;
}

/** Outcome of one scheduling cycle (for tests and metrics). */
export interface ScheduleResult {
  pod: string;
  node?: string;
  evaluatedNodes?: number;
  feasibleNodes?: number;
  status?: Status;
}

const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const uidOf = (p: Pod) => p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;
const keyOf = (p: Pod) => `${p.metadata?.namespace}/${p.metadata?.name}`;
const sameJSON = (a: unknown, b: unknown) => sameJson(a ?? null, b ?? null);

/** Which parts of a node changed, as ActionType bits (upstream `nodeSchedulingPropertiesChange`). */
export function nodeUpdateActions(oldNode: Node, newNode: Node): number {
  let a = 0;
  if (!sameJSON(oldNode.status?.allocatable, newNode.status?.allocatable)) a |= ActionType.UpdateNodeAllocatable;
  if (!sameJSON(oldNode.metadata?.labels, newNode.metadata?.labels)) a |= ActionType.UpdateNodeLabel;
  if (!sameJSON(oldNode.spec?.taints, newNode.spec?.taints) || !!oldNode.spec?.unschedulable !== !!newNode.spec?.unschedulable) a |= ActionType.UpdateNodeTaint;
  const conds = (n: Node) => (n.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(',');
  if (conds(oldNode) !== conds(newNode)) a |= ActionType.UpdateNodeCondition;
  if (!sameJSON(oldNode.metadata?.annotations, newNode.metadata?.annotations)) a |= ActionType.UpdateNodeAnnotation;
  return a;
}

/** Which parts of an unscheduled pod changed that may help it (upstream `podSchedulingPropertiesChange`, reduced). */
function podUpdateActions(oldPod: Pod, newPod: Pod): number {
  let a = 0;
  if (!sameJSON(oldPod.metadata?.labels, newPod.metadata?.labels)) a |= ActionType.UpdatePodLabel;
  if (!sameJSON(oldPod.spec?.tolerations, newPod.spec?.tolerations)) a |= ActionType.UpdatePodTolerations;
  if ((oldPod.spec?.schedulingGates?.length ?? 0) > 0 && (newPod.spec?.schedulingGates?.length ?? 0) === 0) a |= ActionType.UpdatePodSchedulingGatesEliminated;
  return a;
}

/** See the module comment. */
export class Scheduler {
  readonly framework: Framework;
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly snapshot = new Snapshot();
  /** Pods promised a node by preemption (upstream's PodNominator); Filter keeps room for them. */
  readonly nominator = new Nominator();
  private readonly cluster: ClusterApi;
  private readonly clock: Clock;
  private readonly rng: () => number;
  private readonly log: Logger;
  private readonly schedulerName: string;
  private readonly maxInFlightBindings: number;
  /** The latest version of every unassigned pod this scheduler is responsible for (upstream reads its pod lister). */
  private readonly pending = new Map<string, Pod>();
  private readonly bindings = new Set<Promise<void>>();
  /**
   * The NodeTable rows of the feasible nodes, a buffer reused by every cycle (read by PreScore/Score within the cycle
   * only). It holds small integers, so the writes need no GC write barrier; the feasible NodeInfo list itself is a
   * fresh array sized once per cycle: pointer stores into a long-lived (old-generation) buffer take the marking
   * barrier's slow path whenever a major GC is marking — in the apiserver-backed bench, most of the time — and made
   * the filter pass three times slower than growing a new young array.
   */
  private readonly positionsBuf: number[] = [];
  private nextStartNodeIndex = 0;
  private running?: Promise<void>;
  private stopped = false;
  private cleanupTimer?: Timer;
  private bindingSlot?: () => void;
  /** Called after every scheduling cycle (tests, metrics). */
  onScheduled?: (r: ScheduleResult) => void;

  constructor(opts: SchedulerOptions) {
    this.cluster = opts.cluster;
    this.clock = opts.clock ?? realClock;
    this.rng = opts.rng ?? Math.random;
    this.log = opts.logger ?? defaultLogger('scheduler');
    this.maxInFlightBindings = opts.maxInFlightBindings ?? 128;
    const profile = opts.profile ?? defaultProfile();
    this.schedulerName = profile.schedulerName;
    this.cache = new SchedulerCache(this.clock, opts.assumedPodTtlMs ?? ASSUMED_POD_TTL_MS, (pod, node) =>
      this.log.warn({ pod: keyOf(pod), node }, 'assumed pod expired: its binding was never confirmed by a watch event'));
    this.framework = new Framework({
      profile,
      registry: opts.registry ?? inTreeRegistry(),
      clock: this.clock,
      handle: {
        snapshot: () => this.snapshot,
        cluster: this.cluster,
        clock: this.clock,
        moveAllToActiveOrBackoff: (event, o, n) => this.queue.moveAllToActiveOrBackoffQueue(event, o, n),
        nominatedPodsForNode: (n) => this.nominator.podsForNode(n),
      },
    });
    this.queue = new SchedulingQueue({
      less: (a, b) => this.framework.less(a, b),
      clock: this.clock,
      preEnqueue: this.framework.preEnqueue.length ? (pod) => this.framework.runPreEnqueue(pod) : undefined,
      events: this.framework.events,
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      maxInUnschedulableMs: opts.maxInUnschedulableMs,
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Event handlers (upstream eventhandlers.go). Callers pass informer objects; nothing here mutates them.

  /** Whether this scheduler schedules the pod (upstream `responsibleForPod`; empty means default-scheduler). */
  responsibleFor(pod: Pod): boolean {
    return (pod.spec?.schedulerName || 'default-scheduler') === this.schedulerName;
  }

  onNodeAdd(node: Node): void {
    this.cache.addNode(node);
    this.queue.moveAllToActiveOrBackoffQueue({ resource: 'Node', actionType: ActionType.Add, label: 'NodeAdd' }, undefined, node);
  }

  onNodeUpdate(oldNode: Node, newNode: Node): void {
    this.cache.updateNode(newNode);
    const actions = nodeUpdateActions(oldNode, newNode);
    if (actions) this.queue.moveAllToActiveOrBackoffQueue({ resource: 'Node', actionType: actions, label: 'NodeUpdate' }, oldNode, newNode);
  }

  onNodeDelete(node: Node): void {
    this.cache.removeNode(node);
  }

  onPodAdd(pod: Pod): void {
    if (pod.spec?.nodeName) {
      if (isTerminal(pod)) return;
      this.cache.addPod(pod);
      this.queue.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', actionType: ActionType.Add, label: 'AssignedPodAdd' }, undefined, pod);
      return;
    }
    if (!this.responsibleFor(pod) || isTerminal(pod) || pod.metadata?.deletionTimestamp) return;
    this.pending.set(uidOf(pod), pod);
    if (pod.status?.nominatedNodeName) this.nominator.update(pod);
    // Upstream's UnscheduledPodAdd: a new sibling may complete a gang whose members were rejected for lack of pods.
    this.queue.moveAllToActiveOrBackoffQueue({ resource: 'UnschedulablePod', actionType: ActionType.Add, label: 'UnscheduledPodAdd' }, undefined, pod);
    this.queue.add(pod);
  }

  onPodUpdate(oldPod: Pod, newPod: Pod): void {
    const uid = uidOf(newPod);
    if (newPod.spec?.nodeName) {
      if (!oldPod.spec?.nodeName) {
        // Bound (by us or someone else): it is no longer ours to schedule.
        this.pending.delete(uid);
        this.queue.delete(newPod);
        this.nominator.delete(newPod);
      }
      if (isTerminal(newPod)) {
        this.cache.removePod(newPod);
        this.queue.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', actionType: ActionType.Delete, label: 'AssignedPodDelete' }, newPod, undefined);
        return;
      }
      this.cache.updatePod(newPod);
      if (!oldPod.spec?.nodeName) this.queue.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', actionType: ActionType.Add, label: 'AssignedPodAdd' }, undefined, newPod);
      else if (!sameJSON(oldPod.metadata?.labels, newPod.metadata?.labels)) this.queue.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', actionType: ActionType.UpdatePodLabel, label: 'AssignedPodUpdate' }, oldPod, newPod);
      return;
    }
    if (!this.responsibleFor(newPod)) return;
    if (isTerminal(newPod) || newPod.metadata?.deletionTimestamp) {
      this.pending.delete(uid);
      this.queue.delete(newPod);
      return;
    }
    this.pending.set(uid, newPod);
    this.nominator.update(newPod);
    this.queue.update(oldPod, newPod);
    const actions = podUpdateActions(oldPod, newPod);
    if (actions) this.queue.moveAllToActiveOrBackoffQueue({ resource: 'UnschedulablePod', actionType: actions, label: 'UnschedulablePodUpdate' }, oldPod, newPod);
  }

  onPodDelete(pod: Pod): void {
    const uid = uidOf(pod);
    this.nominator.delete(pod);
    if (pod.spec?.nodeName || this.cache.nodeOf(pod)) {
      this.cache.removePod(pod);
      this.queue.moveAllToActiveOrBackoffQueue({ resource: 'AssignedPod', actionType: ActionType.Delete, label: 'AssignedPodDelete' }, pod, undefined);
    }
    if (this.pending.delete(uid)) {
      this.queue.delete(pod);
      // A pod deleted while it waits on Permit must not bind (upstream `rejectWaitingPod` on delete).
      this.framework.handle.rejectWaitingPod(uid);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Running

  /** Starts the queue timers, the assumed-pod cleanup and the scheduling loop. */
  start(): void {
    if (this.running) return;
    this.queue.run();
    const cleanup = () => {
      if (this.stopped) return;
      this.cache.cleanupExpiredAssumedPods();
      this.cleanupTimer = this.clock.setTimer(cleanup, 1_000);
    };
    this.cleanupTimer = this.clock.setTimer(cleanup, 1_000);
    this.running = this.loop();
  }

  /** Stops scheduling and waits for the loop and the bindings in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cleanupTimer?.cancel();
    this.queue.close();
    this.bindingSlot?.();
    await this.running;
    await Promise.allSettled([...this.bindings]);
  }

  /** Resolves when no binding is in flight (tests). */
  async idle(): Promise<void> {
    while (this.bindings.size) await Promise.allSettled([...this.bindings]);
  }

  private async loop(): Promise<void> {
    let lastYield = Date.now();
    while (!this.stopped) {
      const q = await this.queue.pop();
      if (!q || this.stopped) break;
      try {
        await this.scheduleOne(q);
      } catch (err) {
        this.log.error({ err, pod: keyOf(q.pod) }, 'scheduling cycle failed unexpectedly');
        this.queue.addUnschedulableIfNotPresent(q, Status.error(err));
      }
      while (this.bindings.size >= this.maxInFlightBindings && !this.stopped) {
        await new Promise<void>((r) => { this.bindingSlot = r; });
      }
      // Give I/O (informer events, binding answers) a turn: a long activeQ would otherwise starve the event loop.
      if (Date.now() - lastYield > 5) {
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
      }
    }
  }

  /**
   * Runs one scheduling cycle for `q` (upstream `ScheduleOne`) and starts its binding cycle. Exposed so tests can step
   * the scheduler without the loop: `scheduler.scheduleOne(scheduler.queue.tryPop()!)`.
   */
  async scheduleOne(q: QueuedPodInfo): Promise<ScheduleResult> {
    const pod = this.pending.get(uidOf(q.pod));
    if (!pod || pod.spec?.nodeName || pod.metadata?.deletionTimestamp) {
      this.queue.done(q.pod);
      return { pod: keyOf(q.pod) };
    }
    q.pod = pod;
    const state = new CycleState();
    if (q.podInfo.pod === pod) state.setPodInfo(q.podInfo);
    this.cache.updateSnapshot(this.snapshot);
    const r = this.schedulePod(state, pod);
    if (!r.node) {
      const status = r.status!;
      let msg = status.message();
      let nominated: string | undefined;
      if (r.diagnosis) {
        if (this.framework.postFilter.length) {
          const pf = await this.framework.runPostFilter(state, pod, { statuses: r.diagnosis.statuses, absentNodesStatus: r.diagnosis.absentNodesStatus });
          if (pf.status.code === Code.Error) this.log.warn({ pod: keyOf(pod), err: pf.status.message() }, 'PostFilter failed');
          else if (pf.status.code !== Code.Success) r.diagnosis.postFilterMsg = pf.status.message();
          nominated = pf.result?.nominatedNodeName;
          if (nominated !== undefined) this.nominator.add(pod, nominated);
        }
        msg = fitErrorMessage(this.snapshot.list().length, r.diagnosis);
        q.unschedulablePlugins = new Set(r.diagnosis.unschedulablePlugins);
      }
      this.handleFailure(q, status, msg, nominated);
      const res = { pod: keyOf(pod), status, evaluatedNodes: r.evaluated, feasibleNodes: 0 };
      this.onScheduled?.(res);
      return res;
    }

    // Assume: the next cycles see the pod on the node while it binds.
    const host = r.node;
    const assumed: Pod = { ...pod, spec: { ...pod.spec!, nodeName: host } };
    // The pod's PodInfo with the assumed object (requests etc. do not depend on spec.nodeName).
    this.cache.assumePod(assumed, host, new PodInfo(assumed, state.podInfo(pod)));
    this.nominator.delete(pod); // placed: its nomination (if any) is used up, as upstream's assume
    const reserve = this.framework.runReserve(state, assumed, host);
    if (reserve) {
      this.failAfterAssume(q, state, assumed, host, reserve);
      return { pod: keyOf(pod), status: reserve };
    }
    const permit = this.framework.runPermit(state, assumed, host);
    if (permit && permit.code !== Code.Wait) {
      this.failAfterAssume(q, state, assumed, host, permit);
      return { pod: keyOf(pod), status: permit };
    }
    const binding = this.bindingCycle(state, q, assumed, host, permit?.code === Code.Wait).finally(() => {
      this.bindings.delete(binding);
      const slot = this.bindingSlot;
      this.bindingSlot = undefined;
      slot?.();
    });
    this.bindings.add(binding);
    const res = { pod: keyOf(pod), node: host, evaluatedNodes: r.evaluated, feasibleNodes: r.feasible };
    this.onScheduled?.(res);
    return res;
  }

  /** Upstream `schedulePod`: filter and score; returns the chosen node or why none. */
  private schedulePod(state: CycleState, pod: Pod): { node?: string; status?: Status; diagnosis?: Diagnosis; evaluated?: number; feasible?: number } {
    const all = this.snapshot.list();
    if (all.length === 0) return { status: Status.error(new Error(NO_NODES_AVAILABLE)) };
    const { feasible, diagnosis, error, rejected, positions } = this.findNodesThatFitPod(state, pod, all);
    if (error) return { status: error };
    const evaluated = feasible.length + (rejected ?? diagnosis?.statuses.size ?? 0);
    if (feasible.length === 0) {
      return { status: new Status(Code.Unschedulable), diagnosis: diagnosis ?? newDiagnosis(), evaluated };
    }
    if (feasible.length === 1) return { node: feasible[0]!.name, evaluated, feasible: 1 };
    const at = positions ? { table: this.snapshot.table, positions } : undefined;
    const pre = this.framework.runPreScore(state, pod, feasible, at);
    if (pre) return { status: pre };
    const scored = this.framework.score.length ? this.framework.runScore(state, pod, feasible, { perPlugin: false, at }) : { totals: feasible.map(() => 1), status: null };
    if (scored.status) return { status: scored.status };
    return { node: this.selectHost(feasible, scored.totals!), evaluated, feasible: feasible.length };
  }

  /**
   * Highest score; ties broken uniformly at random (upstream `selectHost`). An injected source is consumed exactly as
   * upstream's reservoir sampling does (one draw per tie, so seeded runs reproduce). The default source (Math.random,
   * not reproducible anyway) draws once: the index among the best-scoring nodes — the same uniform choice without a
   * call per tie (Math.random boxes each number it returns; with hundreds of equal scores per cycle that was a heap
   * number per node).
   */
  private selectHost(nodes: readonly NodeInfo[], totals: readonly number[]): string {
    const rng = this.rng;
    const n = nodes.length;
    if (rng === Math.random) {
      let max = totals[0]!;
      let ties = 1;
      for (let i = 1; i < n; i++) {
        const s = totals[i]!;
        if (s > max) {
          max = s;
          ties = 1;
        } else if (s === max) ties++;
      }
      let k = ties === 1 ? 0 : Math.floor(Math.random() * ties);
      for (let i = 0; i < n; i++) if (totals[i] === max && k-- === 0) return nodes[i]!.name;
    }
    let best = 0;
    let count = 1;
    for (let i = 1; i < n; i++) {
      const s = totals[i]!;
      if (s > totals[best]!) {
        best = i;
        count = 1;
      } else if (s === totals[best]) {
        count++;
        if (Math.floor(rng() * count) === 0) best = i;
      }
    }
    return nodes[best]!.name;
  }

  /** Upstream `findNodesThatFitPod` + `findNodesThatPassFilters`. */
  private findNodesThatFitPod(state: CycleState, pod: Pod, all: readonly NodeInfo[]): { feasible: NodeInfo[]; diagnosis?: Diagnosis; error?: Status; rejected?: number; positions?: number[] } {
    // The diagnosis is built only when something is to be diagnosed (a rejection by PreFilter, narrowed nodes, no
    // feasible node): a placed pod never reads it, and its map, set and status were a cycle's garbage otherwise.
    let diagnosis: Diagnosis | undefined;
    const pre = this.framework.runPreFilter(state, pod, all);
    if (pre.status) {
      diagnosis = newDiagnosis();
      if (!pre.status.isRejected()) return { feasible: [], diagnosis, error: pre.status };
      diagnosis.preFilterMsg = pre.status.message();
      diagnosis.absentNodesStatus = pre.status;
      if (pre.status.plugin) diagnosis.unschedulablePlugins.add(pre.status.plugin);
      return { feasible: [], diagnosis };
    }
    let nodes = all;
    if (pre.nodeNames) {
      nodes = [];
      for (const n of pre.nodeNames) {
        const ni = this.snapshot.get(n);
        if (ni) (nodes as NodeInfo[]).push(ni);
      }
      diagnosis = newDiagnosis();
      diagnosis.absentNodesStatus = Status.unresolvable(`node(s) didn't satisfy plugin(s) [${pre.narrowedBy.join(' ')}]`);
      for (const p of pre.narrowedBy) diagnosis.unschedulablePlugins.add(p);
    }
    const n = nodes.length;
    const want = numFeasibleNodesToFind(this.framework.percentageOfNodesToScore, n);
    if (n === 0) return { feasible: [], diagnosis: diagnosis ?? newDiagnosis() };
    // Sized once (growing by push copied it about six times); trimmed to the count at the end (see positionsBuf).
    const feasible = new Array<NodeInfo>(want < n ? want : n);
    let nf = 0;
    const start = this.nextStartNodeIndex % n;
    let processed = 0;
    let rejected = 0;
    let positions: number[] | undefined;
    if (!this.framework.hasFilters()) {
      for (let i = 0; i < want; i++) feasible[nf++] = nodes[(start + i) % n]!;
      processed = want;
    } else {
      // Rejections are collected in flat arrays; the per-node status map of the diagnosis is built only when no node
      // fits (a placed pod never reads it — with a DoNotSchedule spread constraint about half the evaluated nodes are
      // rejected every cycle, and building the map for them was a tenth of the cycle).
      const rejectedNodes: NodeInfo[] = [];
      const rejectedStatuses: Status[] = [];
      let nr = 0;
      const withNominated = this.nominator.size > 0;
      // The fast path (FilterPlugin.filterFast): when every active filter can decide from the snapshot's NodeTable,
      // a node that passes them all is feasible without its NodeInfo being read; the others go through runFilter.
      // Only over the snapshot's own list (positions are table rows) and without nominated pods.
      const fast = !withNominated && nodes === all ? this.framework.fastFilters(state, pod) : undefined;
      const table = this.snapshot.table;
      if (fast) positions = this.positionsBuf;
      // A fast filter may return the same rejection for many nodes; it is attributed to its plugin once (statuses are
      // immutable, so the diagnosis may share it between nodes).
      let lastRejection: Status | undefined;
      let lastRejectionFrom = -1;
      let lastAttributed: Status | undefined;
      // Up to four fast filters are called through their own variables, not `fns[j]`: one call site per plugin
      // position stays monomorphic (V8 can inline the closure), where a loop over the array sees every plugin's.
      const nfns = fast ? fast.fns.length : 0;
      const f0 = fast?.fns[0];
      const f1 = fast?.fns[1];
      const f2 = fast?.fns[2];
      const f3 = fast?.fns[3];
      let i = start;
      for (let k = 0; k < n && nf < want; k++) {
        const at = i;
        const ni = nodes[i]!;
        if (++i === n) i = 0;
        processed++;
        let s: Status | null;
        if (fast) {
          // Every plugin before the first non-true answer passes the node: a Status is then that plugin's
          // rejection, false means runFilter from that plugin on.
          let r: boolean | Status = true;
          let j = 0;
          try {
            if (nfns <= 4) {
              // j ends at the first plugin that did not pass the node (as the loop below).
              if (nfns > 0 && (r = f0!(table, at)) === true && ++j < nfns && (r = f1!(table, at)) === true && ++j < nfns &&
                (r = f2!(table, at)) === true && ++j < nfns && (r = f3!(table, at)) === true) j++;
            } else {
              const fns = fast.fns;
              for (; j < nfns; j++) {
                r = fns[j]!(table, at);
                if (r !== true) break;
              }
            }
          } catch {
            r = false; // runFilter reports the plugin's error as filter() would
          }
          if (r === true) {
            positions![nf] = at;
            feasible[nf++] = ni;
            continue;
          }
          if (r === false) s = this.framework.runFilter(state, pod, ni, fast.from[j]);
          else if (r === lastRejection && j === lastRejectionFrom) s = lastAttributed!;
          else {
            s = lastAttributed = r.withPlugin(fast.names[j]!);
            lastRejection = r;
            lastRejectionFrom = j;
          }
        } else {
          // With nominated pods around, Filter keeps their room (upstream RunFilterPluginsWithNominatedPods).
          s = withNominated ? this.framework.runFilterWithNominatedPods(state, pod, ni) : this.framework.runFilter(state, pod, ni);
        }
        if (!s) {
          if (positions) positions[nf] = at;
          feasible[nf++] = ni;
          continue;
        }
        if (!s.isRejected()) return { feasible: [], diagnosis: diagnosis ?? newDiagnosis(), error: s };
        rejectedNodes.push(ni);
        rejectedStatuses.push(s);
        nr++;
      }
      rejected = nr;
      if (nf === 0) {
        diagnosis ??= newDiagnosis();
        for (let k = 0; k < nr; k++) {
          const s = rejectedStatuses[k]!;
          diagnosis.statuses.set(rejectedNodes[k]!.name, s);
          if (s.plugin) diagnosis.unschedulablePlugins.add(s.plugin);
        }
      }
      if (positions && positions.length !== nf) positions.length = nf;
    }
    if (feasible.length !== nf) feasible.length = nf;
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % all.length;
    return { feasible, diagnosis, rejected, positions };
  }

  /** Reserve/Permit failed after the pod was assumed: unreserve, forget, report (upstream `handleSchedulingFailure`). */
  private failAfterAssume(q: QueuedPodInfo, state: CycleState, assumed: Pod, host: string, status: Status): void {
    this.framework.runUnreserve(state, assumed, host, (plugin, err) => this.log.error({ err, plugin }, 'Unreserve failed'));
    this.cache.forgetPod(assumed);
    if (status.plugin && status.isRejected()) q.unschedulablePlugins = new Set([status.plugin]);
    this.handleFailure(q, status, status.message());
  }

  /** Upstream `runBindingCycle` + `handleBindingCycleError`. */
  private async bindingCycle(state: CycleState, q: QueuedPodInfo, assumed: Pod, host: string, waiting: boolean): Promise<void> {
    let status: Status | null = null;
    try {
      if (waiting) status = await this.framework.waitOnPermit(assumed);
      if (!status) status = await this.framework.runPreBind(state, assumed, host);
      if (!status) status = await this.framework.runBind(state, assumed, host);
    } catch (err) {
      status = Status.error(err);
    }
    if (!status) {
      this.cache.finishBinding(assumed);
      this.queue.done(assumed);
      this.cluster.event(assumed, 'Normal', 'Scheduled', `Successfully assigned ${keyOf(assumed)} to ${host}`);
      this.framework.runPostBind(state, assumed, host, (plugin, err) => this.log.error({ err, plugin }, 'PostBind failed'));
      return;
    }
    this.framework.runUnreserve(state, assumed, host, (plugin, err) => this.log.error({ err, plugin }, 'Unreserve failed'));
    this.cache.forgetPod(assumed);
    // The pod's reservation is gone: pods rejected for lack of room may fit now (upstream moves them on
    // AssignedPodDelete), except the pod itself when it was rejected.
    const ev: ClusterEvent = { resource: 'AssignedPod', actionType: ActionType.Delete, label: 'AssignedPodDelete' };
    if (status.isRejected()) {
      if (status.plugin) q.unschedulablePlugins = new Set(status.plugin.split(','));
      this.handleFailure(q, status, status.message());
      const self = uidOf(assumed);
      this.queue.moveAllToActiveOrBackoffQueue(ev, assumed, undefined, (p) => uidOf(p) === self);
    } else {
      this.queue.moveAllToActiveOrBackoffQueue(ev, assumed, undefined);
      this.handleFailure(q, status, status.message());
    }
  }

  /**
   * Requeues the pod (if it still exists unassigned), records `FailedScheduling` and writes the `PodScheduled=False`
   * condition — skipping the write when the condition already says the same (upstream `updatePod`).
   */
  private handleFailure(q: QueuedPodInfo, status: Status, message: string, nominatedNodeName?: string): void {
    const uid = uidOf(q.pod);
    const current = this.pending.get(uid);
    if (status.code === Code.Error) this.log.warn({ pod: keyOf(q.pod), err: message }, 'error scheduling pod; retrying');
    if (current && !current.spec?.nodeName) {
      q.pod = current;
      this.queue.addUnschedulableIfNotPresent(q, status);
    } else {
      this.queue.done(q.pod);
      if (!current) return; // deleted meanwhile: nothing to report on
    }
    const pod = current ?? q.pod;
    this.cluster.event(pod, 'Warning', 'FailedScheduling', truncateMessage(message));
    const reason = status.isRejected() ? 'Unschedulable' : 'SchedulerError';
    const old = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const nnnChanged = nominatedNodeName !== undefined && nominatedNodeName !== (pod.status?.nominatedNodeName ?? '');
    if (old && old.status === 'False' && old.reason === reason && old.message === message && !nnnChanged) return;
    this.cluster.updatePodStatus(pod, { type: 'PodScheduled', status: 'False', reason, message }, nominatedNodeName).catch((err) =>
      this.log.warn({ err, pod: keyOf(pod) }, 'failed to update the PodScheduled condition'));
  }

  /** For tests and diagnostics: where each pending pod is. */
  debugState(): { pending: string[]; queue: ReturnType<SchedulingQueue['lengths']>; cache: ReturnType<SchedulerCache['dump']> } {
    return { pending: [...this.pending.values()].map(keyOf), queue: this.queue.lengths(), cache: this.cache.dump() };
  }
}

/** Re-exported for plugins and tests that build diagnoses. */
export type { NodeToStatus };
