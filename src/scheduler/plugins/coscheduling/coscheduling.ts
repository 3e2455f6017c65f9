/**
 * Coscheduling — gang scheduling, all or nothing (scheduler-plugins `pkg/coscheduling`, with its fixes for the
 * well-known deadlock of partial reservations). Pods join a `PodGroup` (`scheduling.x-k8s.io/v1alpha1`) through the
 * label `scheduling.x-k8s.io/pod-group: <name>`; the group says `spec.minMember`, optionally `spec.minResources` and
 * `spec.scheduleTimeoutSeconds` (default 60).
 *
 * - PreFilter: the group must exist and have at least minMember live pods ("cannot find enough sibling pods …",
 *   UnschedulableAndUnresolvable), must not be backing off after a failed attempt, and must pass a quick aggregate
 *   check — the free resources of the whole cluster must cover the members still to place (and minResources) —
 *   otherwise it is rejected before it reserves anything.
 * - Permit: a member waits (timeout scheduleTimeoutSeconds) until minMember members are assumed or bound; the member
 *   that completes the quorum allows every waiting sibling at once.
 * - PostFilter: gang preemption first — while the quorum is not there, lower-priority pods are evicted only if that
 *   makes room for every missing member at once; the plan runs each member through DefaultPreemption's own per-node
 *   victim search (every Filter, PodDisruptionBudgets, priorities) in a simulated cluster that carries the earlier
 *   members and their victims, and nominates every member to its planned node (see planGroupPreemption). Otherwise a
 *   member that fits nowhere dooms the attempt: every waiting sibling is rejected (their reservations are released
 *   through Unreserve) and the group backs off for a short period, so two groups never hold partial reservations
 *   against each other and smaller work behind them proceeds. The message says which member could not be placed and
 *   why ("member w3: 0/4 nodes are available: …"). It answers UnschedulableAndUnresolvable, so DefaultPreemption does
 *   not evict pods for one member of a group that cannot be completed.
 * - Unreserve: when any member loses its reservation (Permit timeout, rejection, failed bind), all waiting siblings
 *   are rejected too: no partial group ever binds.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { PodInfo, Resource } from '../../framework/node-info.js';
import {
  dryRunPreemption, noCandidatesMessage, numCandidatesFor, pickOneNodeForPreemption, preemptionPolicyForbids, prepareCandidate, spendPDBs,
  type Candidate,
} from '../default-preemption/default-preemption.js';
import {
  ActionType, Code, CycleState, Status,
  type ClusterEventWithHint, type EnqueueExtensions, type Handle, type NodeInfo, type NodeToStatus, type PermitPlugin,
  type PostFilterPlugin, type PostFilterResult, type PreFilterPlugin, type QueuedPodInfo, type QueueSortPlugin, type ReservePlugin,
} from '../../framework/interface.js';
import { podRequests } from '../../framework/node-info.js';

/** The plugin's name in profiles. */
export const NAME = 'Coscheduling';
/** A gang preemption plan: every victim, and the node (with its own victims) planned for each missing member, in order. */
interface GangPlan {
  victims: Pod[];
  assignments: Array<{ pod: Pod; node: string; victims: Pod[] }>;
}

/** The label through which a pod joins its group (scheduler-plugins `PodGroupLabel`). */
export const POD_GROUP_LABEL = 'scheduling.x-k8s.io/pod-group';
/** Default of `spec.scheduleTimeoutSeconds`. */
export const DEFAULT_SCHEDULE_TIMEOUT_SECONDS = 60;
/** How long a group that failed an attempt is refused before it may reserve again (scheduler-plugins' denied-PG expiry). */
export const DEFAULT_DENY_BACKOFF_MS = 3_000;

/** The PodGroup kind (scheduler-plugins `v1alpha1.PodGroup`), as far as the scheduler reads it. */
export interface PodGroup {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string; resourceVersion?: string };
  spec?: { minMember?: number; minResources?: Record<string, string>; scheduleTimeoutSeconds?: number };
  status?: { phase?: string; scheduled?: number; running?: number; succeeded?: number; failed?: number; occupiedBy?: string; scheduleStartTime?: string };
}

/** Arguments of {@link newCoscheduling}: where the plugin reads groups and members (informer listers in production). */
export interface CoschedulingArgs {
  getPodGroup?: (namespace: string, name: string) => PodGroup | undefined;
  /** Every pod of the namespace carrying the group label with this value. */
  listGroupPods?: (namespace: string, name: string) => readonly Pod[];
  /** The PodDisruptionBudgets of the cluster (an informer's lister), weighed by gang preemption like DefaultPreemption does. */
  listPDBs?: () => readonly PodDisruptionBudget[];
  denyBackoffMs?: number;
  /** Timer for the end of a group's backoff (tests inject a fake clock's). */
  setTimer?: (fn: () => void, ms: number) => void;
}

/** The group a pod belongs to, or undefined. */
export function podGroupName(pod: Pod): string | undefined {
  return pod.metadata?.labels?.[POD_GROUP_LABEL] || undefined;
}

const keyOf = (pod: Pod, g: string) => `${pod.metadata?.namespace ?? ''}/${g}`;
const isLive = (p: Pod) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded';

/** See the module comment. */
export class Coscheduling implements QueueSortPlugin, PreFilterPlugin, PostFilterPlugin, PermitPlugin, ReservePlugin, EnqueueExtensions {
  readonly name = NAME;
  private readonly denied = new Map<string, number>();
  private readonly creationTimes = new WeakMap<PodGroup, number>();
  /** Uids of pods this plugin evicted for a group and still sees in the snapshot. */
  private readonly evicting = new Set<string>();
  /** True while a gang preemption plan runs PreFilter for a member (see planGroupPreemption). */
  private planning = false;

  constructor(private readonly handle: Handle, private readonly args: CoschedulingArgs = {}) {}

  /**
   * QueueSort (scheduler-plugins coscheduling `Less`): higher priority first; then the earlier of the two "creation
   * times" — a member's is its PodGroup's creationTimestamp, any other pod's the time it entered the queue (what
   * PrioritySort compares) — then the group key (`namespace/group`, or the pod's own key), then queue time and pod
   * key. Members of one group share priority, time and key, so they sort together and are popped one after the other:
   * a gang reaches its quorum in consecutive cycles instead of interleaving with other gangs (which is how two gangs end
   * up holding partial reservations against each other). A member whose PodGroup is unknown or has no
   * creationTimestamp sorts like an ordinary pod (upstream falls back to the pod's own time too).
   */
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    const pa = a.podInfo.priority;
    const pb = b.podInfo.priority;
    if (pa !== pb) return pa > pb;
    if (podGroupName(a.pod) === undefined && podGroupName(b.pod) === undefined) {
      // Two ordinary pods (the common case, and every compare of a queue heap of them): what the steps below come to
      // without a group — queue time, then the pod key — with two label lookups instead of up to eight.
      if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
      return a.podInfo.key < b.podInfo.key;
    }
    const ta = this.sortTime(a);
    const tb = this.sortTime(b);
    if (ta !== tb) return ta < tb;
    const ka = this.sortKey(a);
    const kb = this.sortKey(b);
    if (ka !== kb) return ka < kb;
    if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
    return a.podInfo.key < b.podInfo.key;
  }

  /** The PodGroup creation time (ms) of a member, cached per PodGroup object (informer objects are immutable). */
  private groupTime(q: QueuedPodInfo): number | undefined {
    const name = podGroupName(q.pod);
    if (!name) return undefined;
    const pg = this.args.getPodGroup?.(q.pod.metadata?.namespace ?? '', name);
    const ts = pg?.metadata?.creationTimestamp;
    if (!pg || !ts) return undefined;
    let t = this.creationTimes.get(pg);
    if (t === undefined) {
      t = Date.parse(ts);
      this.creationTimes.set(pg, t);
    }
    return Number.isNaN(t) ? undefined : t;
  }

  private sortTime(q: QueuedPodInfo): number {
    return this.groupTime(q) ?? q.timestamp;
  }

  private sortKey(q: QueuedPodInfo): string {
    const name = this.groupTime(q) === undefined ? undefined : podGroupName(q.pod);
    return name ? `${q.pod.metadata?.namespace ?? ''}/${name}` : q.podInfo.key;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    const sameGroup = (pod: Pod, _o: unknown, n: unknown) => {
      const obj = n as Pod | PodGroup | undefined;
      const g = podGroupName(pod);
      if (!g || !obj) return 'Queue' as const;
      const name = (obj as Pod).metadata?.labels?.[POD_GROUP_LABEL] ?? (obj.kind === 'PodGroup' || !(obj as Pod).spec ? obj.metadata?.name : undefined);
      return name === g && obj.metadata?.namespace === pod.metadata?.namespace ? 'Queue' as const : 'QueueSkip' as const;
    };
    return [
      { event: { resource: 'PodGroup', actionType: ActionType.Add | ActionType.Update, label: 'PodGroupChange' }, hint: sameGroup },
      { event: { resource: 'UnschedulablePod', actionType: ActionType.Add | ActionType.UpdatePodLabel, label: 'UnscheduledPodAdd' }, hint: sameGroup },
      { event: { resource: 'AssignedPod', actionType: ActionType.Delete, label: 'AssignedPodDelete' } },
      { event: { resource: 'Node', actionType: ActionType.Add | ActionType.UpdateNodeAllocatable | ActionType.UpdateNodeTaint | ActionType.UpdateNodeLabel, label: 'NodeChange' } },
    ];
  }

  private group(pod: Pod): { name: string; key: string; pg?: PodGroup } | undefined {
    const name = podGroupName(pod);
    if (!name) return undefined;
    return { name, key: keyOf(pod, name), pg: this.args.getPodGroup?.(pod.metadata?.namespace ?? '', name) };
  }

  /** Members of the group assumed or bound in the current snapshot, and their summed requests. */
  private placed(pod: Pod, g: string): { count: number; requests: Resource } {
    const ns = pod.metadata?.namespace;
    const uid = pod.metadata?.uid;
    let count = 0;
    const requests = new Resource();
    for (const ni of this.handle.snapshot().list()) {
      for (const pi of ni.pods) {
        const m = pi.pod.metadata;
        if (m?.namespace === ns && m?.labels?.[POD_GROUP_LABEL] === g && pi.uid !== uid && isLive(pi.pod)) {
          count++;
          requests.add(pi.requests);
        }
      }
    }
    return { count, requests };
  }

  preFilter(_state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { status: Status | null } {
    // While a gang preemption plan runs the other plugins' PreFilter for a member, this plugin stays out of it.
    if (this.planning) return { status: Status.skip() };
    const g = this.group(pod);
    if (!g) return { status: Status.skip() };
    if (!g.pg) return { status: Status.unresolvable(`PodGroup ${g.key} not found`) };
    const min = g.pg.spec?.minMember ?? 1;
    const members = (this.args.listGroupPods?.(pod.metadata?.namespace ?? '', g.name) ?? []).filter(isLive);
    if (members.length < min) {
      return { status: Status.unresolvable(`pre-filter pod ${pod.metadata?.name} cannot find enough sibling pods, current pods number: ${members.length}, minMember of group: ${min}`) };
    }
    const until = this.denied.get(g.key);
    if (until !== undefined && this.handle.clock.now() < until) {
      return { status: Status.unschedulable(`pod group ${g.key} is backing off after a failed attempt`) };
    }
    // Quick aggregate check: can the cluster's free resources hold the members still to place?
    const placed = this.placed(pod, g.name);
    const need = Math.max(0, min - placed.count);
    if (need === 0) return { status: null };
    const want = new Resource();
    const unplaced = members.filter((m) => !m.spec?.nodeName);
    for (const m of unplaced.slice(0, need)) want.add(podRequests(m));
    if (g.pg.spec?.minResources) {
      const mr = Resource.from(g.pg.spec.minResources);
      mr.add(placed.requests, -1);
      for (const n of ['cpu', 'memory', ...mr.scalar.keys()]) if (mr.get(n) > want.get(n)) setRes(want, n, mr.get(n));
    }
    const free = new Resource();
    for (const ni of nodes) {
      if (!ni.node || ni.node.spec?.unschedulable) continue;
      free.add(ni.allocatable);
      free.add(ni.requested, -1);
    }
    const short: string[] = [];
    for (const n of ['cpu', 'memory', 'ephemeral-storage', ...want.scalar.keys()]) if (want.get(n) > free.get(n)) short.push(n);
    if (short.length) {
      return { status: Status.unschedulable(`pod group ${g.key}: ${placed.count}/${min} members scheduled; the free resources of the cluster cannot hold the other ${need} (insufficient ${short.join(', ')})`) };
    }
    return { status: null };
  }

  async postFilter(_state: CycleState, pod: Pod, _m: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status | null }> {
    const g = this.group(pod);
    if (!g || !g.pg) return { status: new Status(Code.Unschedulable) };
    const min = g.pg.spec?.minMember ?? 1;
    const members = (this.args.listGroupPods?.(pod.metadata?.namespace ?? '', g.name) ?? []).filter(isLive);
    // Too few pods (PreFilter said so already): nothing to release, and preemption cannot help.
    if (members.length < min) return { status: new Status(Code.UnschedulableAndUnresolvable) };
    // Backing off after a failed attempt (PreFilter said so): no preemption either.
    const until = this.denied.get(g.key);
    if (until !== undefined && this.handle.clock.now() < until) return { status: new Status(Code.UnschedulableAndUnresolvable) };
    const placed = this.placed(pod, g.name).count;
    // The quorum is already there: this extra member may preempt on its own like any pod.
    if (placed >= min) return { status: new Status(Code.Unschedulable) };
    // Gang preemption: evict lower-priority pods only if that makes room for every missing member at once.
    const r = this.planGroupPreemption(pod, g.name, min - placed, members);
    if ('plan' in r) {
      const { plan } = r;
      for (const u of plan.victims) this.evicting.add(u.metadata?.uid ?? '');
      for (const a of plan.assignments) if (a.victims.length) await prepareCandidate(this.handle, { name: a.node, victims: a.victims, numPDBViolations: 0 }, a.pod);
      // The other members are promised their planned nodes too, so the room freed for them is kept for them. Best
      // effort (as upstream's nomination writes): a member whose write fails is nominated again by its own cycle.
      const uid = pod.metadata?.uid;
      for (const a of plan.assignments) {
        if (a.pod.metadata?.uid === uid || a.pod.status?.nominatedNodeName === a.node) continue;
        const msg = `pod group ${g.key}: room for the group is being made by preemption; member nominated to node ${a.node}`;
        await this.handle.cluster.updatePodStatus(a.pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg }, a.node).catch(() => undefined);
      }
      return { result: { nominatedNodeName: plan.assignments[0]!.node, nominatingMode: 'ModeOverride' }, status: null };
    }
    const released = this.rejectGroup(g.key, pod, `PodGroup ${g.key} gets rejected due to Pod ${pod.metadata?.name} is unschedulable even after PostFilter`);
    const why = r.reason ? `; preemption cannot make room for the whole group: ${r.reason}` : '';
    // As DefaultPreemption on failure: an earlier nomination of this member is given up with the rest.
    return {
      result: { nominatedNodeName: '' },
      status: Status.unresolvable(`pod group ${g.key}: ${placed}/${min} members scheduled; member ${pod.metadata?.name} does not fit, so the group releases ${released} reservation(s) and backs off${why}`),
    };
  }

  /**
   * Gang preemption (the "frees room for the whole group or evicts nobody" rule): plans the `need` missing members —
   * `pod` first, then its unplaced siblings — one after another in a simulated cluster, each through DefaultPreemption's
   * own per-node search (`selectVictimsOnNode`: every Filter plugin, PreFilter extensions, nominated pods' room, PDB
   * and priority ordering; `pickOneNodeForPreemption` between nodes). A member takes a node where it fits as is if
   * there is one. Each member's PreFilter state is built fresh and then replays every change planned so far (victims
   * removed, earlier members added), on copies of the nodes, so later members see earlier members and their victims:
   * anti-affinity or spread between members and against the remaining pods is honoured. Pods already on their way out
   * (terminating, or evicted by an earlier plan of this plugin) count as gone; members of the group are never victims;
   * PodDisruptionBudgets are spent across the whole plan. Returns the plan when every member fits, otherwise why the
   * first member that does not fit fails ("member x: 0/3 nodes are available: …"); an empty reason when no eviction
   * is needed, i.e. something other than room blocks the group.
   */
  private planGroupPreemption(pod: Pod, group: string, need: number, members: readonly Pod[]): { plan: GangPlan } | { reason: string } {
    const never = preemptionPolicyForbids(pod);
    if (never) return { reason: never };
    const runner = this.handle;
    if (need <= 0 || !runner.runPreFilterPlugins) return { reason: '' };
    const prio = pod.spec?.priority ?? 0;
    const ns = pod.metadata?.namespace;
    const snap = this.handle.snapshot();
    const all = snap.list();
    const inSnapshot = new Set<string>();
    for (const ni of all) for (const pi of ni.pods) inSnapshot.add(pi.uid);
    const uid = pod.metadata?.uid;
    const queue = [pod, ...members.filter((m) => m.metadata?.uid !== uid && !m.spec?.nodeName && !inSnapshot.has(m.metadata?.uid ?? ''))].slice(0, need);
    if (queue.length < need) return { reason: '' };
    const isMember = (pi: PodInfo) => pi.pod.metadata?.namespace === ns && pi.pod.metadata?.labels?.[POD_GROUP_LABEL] === group;
    const now = this.handle.clock.now();
    // The simulated cluster: copies of the nodes the plan changed, and the changes in order (replayed into each
    // member's PreFilter state).
    const sim = new Map<string, NodeInfo>();
    const changes: Array<{ add: boolean; pi: PodInfo; node: string }> = [];
    const copy = (name: string) => {
      let c = sim.get(name);
      if (!c) {
        c = snap.get(name)!.clone();
        sim.set(name, c);
      }
      return c;
    };
    // Pods already on their way out (terminating, or evicted by an earlier plan whose deletion the informer has not
    // shown yet) count as free room, so the group's other members reuse those evictions instead of evicting more.
    for (const u of this.evicting) if (!inSnapshot.has(u)) this.evicting.delete(u);
    for (const ni of all) {
      for (const p of ni.pods) {
        if (p.priority >= prio || isMember(p) || !(this.evicting.has(p.uid) || p.pod.metadata?.deletionTimestamp)) continue;
        copy(ni.name).removePod(p.uid);
        changes.push({ add: false, pi: p, node: ni.name });
      }
    }
    const freed = new Set(sim.keys());
    let pdbs = this.args.listPDBs?.() ?? [];
    const assignments: GangPlan['assignments'] = [];
    const victims: Pod[] = [];
    let usedFreed = false;
    for (const m of queue) {
      const name = m.metadata?.name;
      const state = new CycleState();
      let pre: ReturnType<NonNullable<Handle['runPreFilterPlugins']>>;
      this.planning = true;
      try {
        pre = runner.runPreFilterPlugins(state, m);
      } finally {
        this.planning = false;
      }
      if (pre.status && pre.status.code !== Code.Success) return { reason: `member ${name}: ${pre.status.message()}` };
      for (const c of changes) {
        const s = c.add ? runner.runPreFilterExtensionAddPod(state, m, c.pi, sim.get(c.node)!) : runner.runPreFilterExtensionRemovePod(state, m, c.pi, sim.get(c.node)!);
        if (s) return { reason: `member ${name}: ${s.message()}` };
      }
      const nodes = all.filter((ni) => !pre.nodeNames || pre.nodeNames.has(ni.name)).map((ni) => sim.get(ni.name) ?? ni);
      const statuses = new Map<string, Status>();
      const potential: NodeInfo[] = [];
      let chosen: Candidate | undefined;
      for (const ni of nodes) {
        const s = runner.runFilterPluginsWithNominatedPods(state, m, ni, isMember);
        if (!s) {
          chosen = { name: ni.name, victims: [], numPDBViolations: 0 };
          break;
        }
        if (s.code === Code.UnschedulableAndUnresolvable) statuses.set(ni.name, s);
        else potential.push(ni);
      }
      if (!chosen && potential.length) {
        const r = dryRunPreemption(runner, state, m, potential, { pdbs, now, protect: isMember, ignoreNominated: isMember, numCandidates: numCandidatesFor(potential.length), offset: 0 });
        for (const [n, s] of r.statuses) statuses.set(n, s);
        if (r.candidates.length) chosen = pickOneNodeForPreemption(r.candidates, now);
      }
      if (!chosen) return { reason: `member ${name}: ${noCandidatesMessage(all.length, statuses)}` };
      const target = copy(chosen.name);
      for (const v of chosen.victims) {
        const vuid = v.metadata?.uid ?? '';
        const pi = target.pods.find((p) => p.uid === vuid)!;
        target.removePod(vuid);
        changes.push({ add: false, pi, node: chosen.name });
        victims.push(v);
      }
      if (chosen.victims.length === 0 && freed.has(chosen.name)) usedFreed = true;
      const mi = new PodInfo(m);
      target.addPod(mi);
      changes.push({ add: true, pi: mi, node: chosen.name });
      pdbs = spendPDBs(pdbs, chosen.victims);
      assignments.push({ pod: m, node: chosen.name, victims: chosen.victims });
    }
    if (!victims.length && !usedFreed) return { reason: '' };
    return { plan: { victims, assignments } };
  }

  permit(_state: CycleState, pod: Pod, _nodeName: string): { status: Status | null; timeoutMs?: number } {
    const g = this.group(pod);
    if (!g) return { status: null };
    if (!g.pg) return { status: Status.unresolvable(`PodGroup ${g.key} not found`) };
    const min = g.pg.spec?.minMember ?? 1;
    const assigned = this.placed(pod, g.name).count + 1;
    if (assigned >= min) {
      this.handle.iterateWaitingPods((wp) => { if (this.sameGroup(wp.pod, g.key)) wp.allow(NAME); });
      return { status: null };
    }
    return { status: new Status(Code.Wait, [`waiting for pod group ${g.key}: ${assigned}/${min} members assumed`]), timeoutMs: (g.pg.spec?.scheduleTimeoutSeconds ?? DEFAULT_SCHEDULE_TIMEOUT_SECONDS) * 1000 };
  }

  reserve(): Status | null {
    return null;
  }

  unreserve(_state: CycleState, pod: Pod, _nodeName: string): void {
    const g = podGroupName(pod);
    if (!g) return;
    this.rejectGroup(keyOf(pod, g), pod, `PodGroup ${keyOf(pod, g)} gets rejected: member ${pod.metadata?.name} lost its reservation`);
  }

  private sameGroup(p: Pod, key: string): boolean {
    const g = podGroupName(p);
    return !!g && keyOf(p, g) === key;
  }

  /** Rejects every waiting member of the group except `pod` and starts the group's backoff; returns how many. */
  private rejectGroup(key: string, pod: Pod, msg: string): number {
    let n = 0;
    this.handle.iterateWaitingPods((wp) => {
      if (wp.pod.metadata?.uid === pod.metadata?.uid || !this.sameGroup(wp.pod, key)) return;
      wp.reject(NAME, msg);
      n++;
    });
    const ms = this.args.denyBackoffMs ?? DEFAULT_DENY_BACKOFF_MS;
    if (ms > 0 && !this.denied.has(key)) {
      this.denied.set(key, this.handle.clock.now() + ms);
      const [ns, name] = key.split('/');
      const wake = () => {
        this.denied.delete(key);
        this.handle.moveAllToActiveOrBackoff({ resource: 'PodGroup', actionType: ActionType.Update, label: 'PodGroupBackoffExpired' }, undefined, { kind: 'PodGroup', metadata: { namespace: ns, name } });
      };
      (this.args.setTimer ?? ((fn, t) => { setTimeout(fn, t).unref(); }))(wake, ms);
    }
    return n;
  }
}

function setRes(r: Resource, name: string, v: number): void {
  if (name === 'cpu') r.milliCPU = v;
  else if (name === 'memory') r.memory = v;
  else r.setScalar(name, v);
}

/** Factory for the registry. */
export function newCoscheduling(args: unknown, handle: Handle): Coscheduling {
  return new Coscheduling(handle, (args ?? {}) as CoschedulingArgs);
}

/**
 * The status a PodGroup should show for its pods (scheduler-plugins' PodGroup controller): counts of scheduled,
 * running, succeeded and failed members and the phase — Pending (fewer than minMember pods), PreScheduling (enough
 * pods, none placed), Scheduling (some placed), Scheduled (minMember placed), Running (minMember running), Finished
 * (minMember succeeded), Failed (a member failed).
 */
export function podGroupStatus(pg: PodGroup, pods: readonly Pod[]): NonNullable<PodGroup['status']> {
  const min = pg.spec?.minMember ?? 1;
  let scheduled = 0, running = 0, succeeded = 0, failed = 0;
  for (const p of pods) {
    if (p.spec?.nodeName) scheduled++;
    if (p.status?.phase === 'Running') running++;
    if (p.status?.phase === 'Succeeded') succeeded++;
    if (p.status?.phase === 'Failed') failed++;
  }
  let phase = 'Pending';
  if (failed > 0) phase = 'Failed';
  else if (succeeded >= min) phase = 'Finished';
  else if (running + succeeded >= min) phase = 'Running';
  else if (scheduled >= min) phase = 'Scheduled';
  else if (scheduled > 0) phase = 'Scheduling';
  else if (pods.length >= min) phase = 'PreScheduling';
  return { ...(pg.status ?? {}), phase, scheduled, running, succeeded, failed };
}
