/**
 * The framework runtime (upstream `pkg/scheduler/framework/runtime/framework.go`): builds a profile's plugins from a
 * registry, sorts them into extension points by the interfaces they implement (upstream "multiPoint"), and runs each
 * extension point with upstream's rules — first rejection wins in Filter, Skip from PreFilter/PreScore disables that
 * plugin's Filter/Score for the pod, scores are normalized then weighted, Unreserve runs in reverse order, Permit may
 * hold a pod in a {@link WaitingPod} until allowed, rejected or timed out, Bind stops at the first non-Skip plugin.
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../client/clock.js';
import {
  Code, CycleState, MAX_NODE_SCORE, MIN_NODE_SCORE, Status,
  type BindPlugin, type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FastFilters, type FilterPlugin, type NodePositions, type NodeTable, type Handle, type NodeInfo,
  type NodeScore, type NodeToStatus, type PermitPlugin, type Plugin, type PluginFactory, type PostBindPlugin,
  type PostFilterPlugin, type PostFilterResult, type PreBindPlugin, type PreEnqueuePlugin, type PreFilterPlugin,
  type PluginsRunner, type PodInfo, type PreScorePlugin, type Profile, type QueueSortPlugin, type QueuedPodInfo, type ReservePlugin, type ScorePlugin,
  type WaitingPod,
} from './interface.js';

/** Plugin name → factory (upstream `runtime.Registry`). */
export type Registry = Record<string, PluginFactory>;

const has = <T>(p: Plugin, method: string): p is Plugin & T => typeof (p as unknown as Record<string, unknown>)[method] === 'function';

/** Upstream `DefaultNormalizeScore`: scales to [0, max] by the highest score; `reverse` flips (fewer is better). */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: NodeScore[]): void {
  let max = 0;
  for (const s of scores) if (s.score > max) max = s.score;
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return;
  }
  for (const s of scores) {
    let v = Math.trunc((maxPriority * s.score) / max);
    if (reverse) v = maxPriority - v;
    s.score = v;
  }
}

/** A reusable {@link NodeScore} whose name is read from its node only when asked (see Framework.runScore). */
/** The node list of the current cycle, shared by every pooled NodeScore (one pointer store per cycle). */
interface ScoredNodes {
  nodes: readonly NodeInfo[];
}

class PooledScore implements NodeScore {
  score = 0;

  /**
   * Entry `i` of the pool for good: only `score` (a number) and the shared list change per cycle. Storing the list in
   * each of 500 long-lived entries per cycle took the GC's marking-barrier slow path while a major GC was marking.
   */
  constructor(private readonly cur: ScoredNodes, private readonly i: number) {}

  get name(): string {
    return this.cur.nodes[this.i]!.name;
  }
}

class WaitingPodImpl implements WaitingPod {
  private readonly pending: Map<string, { cancel(): void }>;
  readonly done: Promise<Status | null>;
  private resolve!: (s: Status | null) => void;
  private settled = false;

  constructor(readonly pod: Pod, timeouts: Map<string, number>, clock: Clock, private readonly onSettle: () => void) {
    this.done = new Promise((r) => { this.resolve = r; });
    this.pending = new Map();
    for (const [plugin, ms] of timeouts) {
      this.pending.set(plugin, clock.setTimer(() => this.reject(plugin, `rejected due to timeout after waiting ${ms / 1000}s at plugin ${plugin}`), ms));
    }
  }

  pendingPlugins(): string[] {
    return [...this.pending.keys()];
  }

  allow(plugin: string): void {
    const t = this.pending.get(plugin);
    if (!t || this.settled) return;
    t.cancel();
    this.pending.delete(plugin);
    if (this.pending.size === 0) this.settle(null);
  }

  reject(plugin: string, msg: string): void {
    if (this.settled) return;
    const s = Status.unschedulable(msg).withPlugin(plugin);
    this.settle(s);
  }

  private settle(s: Status | null): void {
    this.settled = true;
    for (const t of this.pending.values()) t.cancel();
    this.pending.clear();
    this.onSettle();
    this.resolve(s);
  }
}

/** Options of a {@link Framework}. */
export interface FrameworkOptions {
  profile: Profile;
  registry: Registry;
  /** Everything of the handle but the waiting-pod functions, which the framework provides itself. */
  handle: Omit<Handle, 'getWaitingPod' | 'iterateWaitingPods' | 'rejectWaitingPod' | keyof PluginsRunner>;
  clock: Clock;
}

/** See the module comment. One framework per profile. */
export class Framework {
  readonly profileName: string;
  readonly handle: Handle;
  readonly plugins: Plugin[] = [];
  readonly queueSort?: QueueSortPlugin;
  readonly preEnqueue: PreEnqueuePlugin[] = [];
  readonly preFilter: PreFilterPlugin[] = [];
  readonly filter: FilterPlugin[] = [];
  readonly postFilter: PostFilterPlugin[] = [];
  readonly preScore: PreScorePlugin[] = [];
  readonly score: Array<{ plugin: ScorePlugin; weight: number }> = [];
  readonly reserve: ReservePlugin[] = [];
  readonly permit: PermitPlugin[] = [];
  readonly preBind: PreBindPlugin[] = [];
  readonly bind: BindPlugin[] = [];
  readonly postBind: PostBindPlugin[] = [];
  /** Plugin name → the events it registered (queueing hints). */
  readonly events = new Map<string, ClusterEventWithHint[]>();
  readonly percentageOfNodesToScore: number;
  private readonly waiting = new Map<string, WaitingPodImpl>();
  private readonly clock: Clock;

  constructor(opts: FrameworkOptions) {
    this.profileName = opts.profile.schedulerName;
    this.clock = opts.clock;
    this.percentageOfNodesToScore = opts.profile.percentageOfNodesToScore ?? 0;
    this.handle = {
      ...opts.handle,
      getWaitingPod: (uid) => this.waiting.get(uid),
      iterateWaitingPods: (fn) => { for (const w of [...this.waiting.values()]) fn(w); },
      rejectWaitingPod: (uid) => {
        const w = this.waiting.get(uid);
        if (!w) return false;
        w.reject('', 'removed');
        return true;
      },
      runFilterPluginsWithNominatedPods: (state, pod, ni, ignore) => this.runFilterWithNominatedPods(state, pod, ni, ignore),
      runPreFilterPlugins: (state, pod) => this.runPreFilter(state, pod, this.handle.snapshot().list()),
      runPreFilterExtensionAddPod: (state, pod, pi, ni) => this.runPreFilterExtension('addPod', state, pod, pi, ni),
      runPreFilterExtensionRemovePod: (state, pod, pi, ni) => this.runPreFilterExtension('removePod', state, pod, pi, ni),
    };
    for (const pc of opts.profile.plugins) {
      const factory = opts.registry[pc.name];
      if (!factory) throw new Error(`plugin "${pc.name}" does not exist in the registry`);
      if (this.plugins.some((p) => p.name === pc.name)) throw new Error(`plugin "${pc.name}" is enabled twice`);
      const p = factory(pc.args, this.handle);
      this.plugins.push(p);
      if (has<QueueSortPlugin>(p, 'less')) {
        if (this.queueSort) throw new Error(`only one QueueSort plugin may be enabled (${this.queueSort.name}, ${p.name})`);
        (this as { queueSort?: QueueSortPlugin }).queueSort = p;
      }
      if (has<PreEnqueuePlugin>(p, 'preEnqueue')) this.preEnqueue.push(p);
      if (has<PreFilterPlugin>(p, 'preFilter')) this.preFilter.push(p);
      if (has<FilterPlugin>(p, 'filter')) this.filter.push(p);
      if (has<PostFilterPlugin>(p, 'postFilter')) this.postFilter.push(p);
      if (has<PreScorePlugin>(p, 'preScore')) this.preScore.push(p);
      if (has<ScorePlugin>(p, 'score')) {
        const weight = pc.weight ?? 1;
        if (!(weight >= 1 && Number.isInteger(weight))) throw new Error(`score plugin "${p.name}" needs a positive integer weight, got ${weight}`);
        this.score.push({ plugin: p, weight });
      }
      if (has<ReservePlugin>(p, 'reserve')) this.reserve.push(p);
      if (has<PermitPlugin>(p, 'permit')) this.permit.push(p);
      if (has<PreBindPlugin>(p, 'preBind')) this.preBind.push(p);
      if (has<BindPlugin>(p, 'bind')) this.bind.push(p);
      if (has<PostBindPlugin>(p, 'postBind')) this.postBind.push(p);
      if (has<EnqueueExtensions>(p, 'eventsToRegister')) this.events.set(p.name, p.eventsToRegister());
    }
    if (!this.queueSort) throw new Error('a QueueSort plugin is required');
    if (this.bind.length === 0) throw new Error('at least one Bind plugin is required');
  }

  /** QueueSort's ordering. */
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    return this.queueSort!.less(a, b);
  }

  /** First non-success PreEnqueue status (plugin attributed), or null. */
  runPreEnqueue(pod: Pod): Status | null {
    for (const p of this.preEnqueue) {
      const s = p.preEnqueue(pod);
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return null;
  }

  /**
   * Runs PreFilter plugins. Returns the first rejection (upstream: it then applies to all nodes), or success with the
   * intersection of the node sets the plugins narrowed to.
   */
  runPreFilter(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): { status: Status | null; nodeNames?: Set<string>; narrowedBy: string[] } {
    let names: Set<string> | undefined;
    const narrowedBy: string[] = [];
    for (const p of this.preFilter) {
      let r: ReturnType<PreFilterPlugin['preFilter']>;
      try {
        r = p.preFilter(state, pod, nodes);
      } catch (err) {
        return { status: Status.error(err).withPlugin(p.name), narrowedBy };
      }
      const s = r.status;
      if (s && s.code === Code.Skip) {
        state.skipFilterPlugins.add(p.name);
        continue;
      }
      if (s && s.code !== Code.Success) return { status: s.withPlugin(p.name), narrowedBy };
      const nn = r.result?.nodeNames;
      if (nn) {
        narrowedBy.push(p.name);
        names = names ? new Set([...names].filter((n) => nn.has(n))) : new Set(nn);
        if (names.size === 0) {
          return {
            status: Status.unresolvable(`node(s) didn't satisfy plugin(s) [${narrowedBy.join(' ')}] simultaneously`).withPlugin(p.name),
            narrowedBy,
          };
        }
      }
    }
    return { status: null, nodeNames: names, narrowedBy };
  }

  /**
   * Runs Filter plugins on one node; the first rejection (plugin attributed), or null when the node fits. With `from`,
   * starts at that index of the active plugins (the caller knows the earlier ones pass).
   */
  runFilter(state: CycleState, pod: Pod, nodeInfo: NodeInfo, from = 0): Status | null {
    const plugins = this.activeFilters(state);
    // `from`: the active plugins before it are known to pass this node (their fast paths said so).
    for (let i = from; i < plugins.length; i++) {
      const p = plugins[i]!;
      let s: Status | null;
      try {
        s = p.filter(state, pod, nodeInfo);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return null;
  }

  /** The Filter plugins not skipped by PreFilter for this cycle (computed once per cycle). */
  private activeFilters(state: CycleState): readonly FilterPlugin[] {
    const skip = state.skipFilterPlugins;
    if (!skip.size) return this.filter;
    let a = state.activeFilters;
    if (!a || a.skipped !== skip.size) a = state.activeFilters = { skipped: skip.size, plugins: this.filter.filter((p) => !skip.has(p.name)) };
    return a.plugins as FilterPlugin[];
  }

  /**
   * The fast-path predicates of the active Filter plugins for this pod (see `FilterPlugin.filterFast`), or undefined
   * when some active plugin has none — then every node goes through {@link runFilter}. Call after PreFilter.
   */
  fastFilters(state: CycleState, pod: Pod): FastFilters | undefined {
    const out: FastFilters = { fns: [], from: [], names: [] };
    const active = this.activeFilters(state);
    for (let k = 0; k < active.length; k++) {
      const p = active[k]!;
      if (!p.filterFast) return undefined;
      let f: FastFilter | null | undefined;
      try {
        f = p.filterFast(state, pod);
      } catch {
        return undefined; // filter() will report the error
      }
      if (f === undefined) return undefined;
      if (f) {
        out.fns.push(f);
        out.from.push(k);
        out.names.push(p.name);
      }
    }
    return out;
  }

  /**
   * Filter honouring nominated pods (upstream `RunFilterPluginsWithNominatedPods`): when pods of priority ≥ `pod`'s
   * (other than `pod`) are nominated to the node, the filters run first on a copy of the node and cycle state with
   * those pods added, then once more as is; both must pass. Without nominated pods it is {@link runFilter}.
   */
  runFilterWithNominatedPods(state: CycleState, pod: Pod, nodeInfo: NodeInfo, ignore?: (pi: PodInfo) => boolean): Status | null {
    const nominated = this.handle.nominatedPodsForNode(nodeInfo.name);
    if (nominated.length === 0) return this.runFilter(state, pod, nodeInfo);
    const prio = pod.spec?.priority ?? 0;
    const uid = pod.metadata?.uid;
    let ni: NodeInfo | undefined;
    let st: CycleState | undefined;
    for (const pi of nominated) {
      if (pi.uid === uid || pi.priority < prio || ignore?.(pi)) continue;
      ni ??= nodeInfo.clone();
      st ??= state.clone();
      ni.addPod(pi);
      const s = this.runPreFilterExtension('addPod', st, pod, pi, ni);
      if (s) return s;
    }
    if (ni && st) {
      const s = this.runFilter(st, pod, ni);
      if (s) return s;
    }
    return this.runFilter(state, pod, nodeInfo);
  }

  /** Runs every PreFilter plugin's addPod/removePod extension, except those skipped for this pod. */
  runPreFilterExtension(op: 'addPod' | 'removePod', state: CycleState, pod: Pod, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    for (const p of this.preFilter) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const ext = p.preFilterExtensions?.();
      if (!ext) continue;
      let s: Status | null;
      try {
        s = ext[op](state, pod, pi, nodeInfo);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return null;
  }

  /** Runs PostFilter plugins until one succeeds; the messages of the others are joined (upstream behaviour). */
  async runPostFilter(state: CycleState, pod: Pod, statuses: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status }> {
    const reasons: string[] = [];
    let rejectorPlugin: string | undefined;
    for (const p of this.postFilter) {
      let r: Awaited<ReturnType<PostFilterPlugin['postFilter']>>;
      try {
        r = await p.postFilter(state, pod, statuses);
      } catch (err) {
        return { status: Status.error(err).withPlugin(p.name) };
      }
      if (!r.status || r.status.code === Code.Success) return { result: r.result, status: new Status(Code.Success).withPlugin(p.name) };
      if (r.status.code === Code.Error) return { result: r.result, status: r.status.withPlugin(p.name) };
      if (r.status.code === Code.UnschedulableAndUnresolvable) return { result: r.result, status: r.status.withPlugin(p.name) };
      reasons.push(...r.status.reasons);
      rejectorPlugin ??= p.name;
    }
    const s = Status.unschedulable(...reasons);
    if (rejectorPlugin) s.plugin = rejectorPlugin;
    return { status: s };
  }

  /** Runs PreScore; Skip disables the plugin's Score for this pod. */
  runPreScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], at?: NodePositions): Status | null {
    for (const p of this.preScore) {
      let s: Status | null;
      try {
        s = p.preScore(state, pod, nodes, at);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      if (s && s.code === Code.Skip) {
        state.skipScorePlugins.add(p.name);
        continue;
      }
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return null;
  }

  /** NodeScore objects reused across cycles by {@link runScore} (see there). */
  private readonly scorePool: PooledScore[] = [];
  private readonly scoredNodes: ScoredNodes = { nodes: [] };
  /** The totals array reused across cycles when per-plugin scores are not kept. */
  private totalsPool: number[] = [];

  /**
   * Scores every node with every (non-skipped) Score plugin, normalizes, weights and sums (upstream `RunScorePlugins`).
   * Returns the totals aligned with `nodes`, or an Error status when a plugin fails or goes out of range. With
   * `perPlugin: false` the returned totals array is reused by the next call (the scheduling cycle reads it at once).
   * `at` locates `nodes` in the snapshot's NodeTable: plugins with a `scoreFast` then score from the table.
   */
  runScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[], opts: { perPlugin?: boolean; at?: NodePositions } = { perPlugin: true }): { totals?: number[]; perPlugin?: Map<string, number[]>; status: Status | null } {
    const n = nodes.length;
    const pooled = !opts.perPlugin;
    let totals: number[];
    if (pooled) {
      totals = this.totalsPool;
      if (totals.length !== n) totals = this.totalsPool = new Array<number>(n);
      totals.fill(0);
    } else totals = new Array<number>(n).fill(0);
    const perPlugin = opts.perPlugin ? new Map<string, number[]>() : undefined;
    const at = opts.at;
    // One NodeScore list reused by every plugin and, when per-plugin scores are not kept, by every cycle (scores are
    // overwritten each time; normalizeScore only changes `score`; plugins must not keep the list): 500 objects per
    // cycle at 5,000 nodes were a visible part of GC time. Pooled entries read their node's name lazily — few
    // normalizeScore passes need it, and reading it for every node was a cache miss per node.
    let scores: NodeScore[] | undefined;
    for (const { plugin, weight } of this.score) {
      if (state.skipScorePlugins.has(plugin.name)) continue;
      let fast: ((t: NodeTable, i: number) => number) | undefined;
      if (at && !perPlugin && plugin.scoreFastInto && !plugin.normalizeScore) {
        // The batch fast path: the plugin adds its weighted scores straight into the totals.
        let ok: boolean;
        try {
          const into = plugin.scoreFastInto(state, pod);
          ok = into ? into(at.table, at.positions, n, weight, totals) : false;
          if (into && ok) continue;
        } catch (err) {
          return { status: Status.error(err).withPlugin(plugin.name) };
        }
        // No batch for this pod, or a score out of range: the per-node paths below (the totals are discarded on error).
      }
      try {
        fast = at && plugin.scoreFast ? plugin.scoreFast(state, pod) : undefined;
      } catch (err) {
        return { status: Status.error(err).withPlugin(plugin.name) };
      }
      if (fast && !plugin.normalizeScore) {
        // Straight from the table into the totals: no NodeScore list needed without a normalize pass.
        const { table, positions } = at!;
        const weighted: number[] | undefined = perPlugin ? new Array(n) : undefined;
        for (let i = 0; i < n; i++) {
          let v: number;
          try {
            v = fast(table, positions[i]!);
          } catch (err) {
            return { status: Status.error(err).withPlugin(plugin.name) };
          }
          if (!(v >= MIN_NODE_SCORE && v <= MAX_NODE_SCORE)) {
            return { status: Status.error(new Error(`plugin "${plugin.name}" returns an invalid score ${v}, it should in the range of [${MIN_NODE_SCORE}, ${MAX_NODE_SCORE}] after normalizing`)).withPlugin(plugin.name) };
          }
          if (weighted) weighted[i] = v * weight;
          totals[i]! += v * weight;
        }
        if (perPlugin) perPlugin.set(plugin.name, weighted!);
        continue;
      }
      try {
        if (!scores && pooled) {
          const pool = this.scorePool;
          for (let i = pool.length; i < n; i++) pool.push(new PooledScore(this.scoredNodes, i));
          this.scoredNodes.nodes = nodes;
          // A view of exactly n entries (normalizeScore iterates the whole list).
          scores = pool.length === n ? pool : pool.slice(0, n);
        } else if (!scores) {
          scores = new Array(n);
          for (let i = 0; i < n; i++) scores[i] = { name: nodes[i]!.name, score: 0 };
        }
        if (fast) {
          const { table, positions } = at!;
          for (let i = 0; i < n; i++) scores[i]!.score = fast(table, positions[i]!);
        } else {
          for (let i = 0; i < n; i++) scores[i]!.score = plugin.score(state, pod, nodes[i]!);
        }
        if (plugin.normalizeScore) {
          const s = plugin.normalizeScore(state, pod, scores);
          if (s && s.code !== Code.Success) return { status: s.withPlugin(plugin.name) };
        }
      } catch (err) {
        return { status: Status.error(err).withPlugin(plugin.name) };
      }
      // Per-plugin scores are kept only when asked for (explanations, tests): the scheduling cycle needs the totals.
      const weighted: number[] | undefined = perPlugin ? new Array(n) : undefined;
      for (let i = 0; i < n; i++) {
        const v = scores[i]!.score;
        if (!(v >= MIN_NODE_SCORE && v <= MAX_NODE_SCORE)) {
          return { status: Status.error(new Error(`plugin "${plugin.name}" returns an invalid score ${v}, it should in the range of [${MIN_NODE_SCORE}, ${MAX_NODE_SCORE}] after normalizing`)).withPlugin(plugin.name) };
        }
        if (weighted) weighted[i] = v * weight;
        totals[i]! += v * weight;
      }
      if (perPlugin) perPlugin.set(plugin.name, weighted!);
    }
    return { totals, perPlugin, status: null };
  }

  /** Runs Reserve in order; on the first failure the caller must run {@link runUnreserve}. */
  runReserve(state: CycleState, pod: Pod, nodeName: string): Status | null {
    for (const p of this.reserve) {
      let s: Status | null;
      try {
        s = p.reserve(state, pod, nodeName);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return null;
  }

  /** Runs Unreserve of every Reserve plugin, in reverse order; errors are contained. */
  runUnreserve(state: CycleState, pod: Pod, nodeName: string, onError?: (plugin: string, err: unknown) => void): void {
    for (let i = this.reserve.length - 1; i >= 0; i--) {
      const p = this.reserve[i]!;
      try {
        p.unreserve(state, pod, nodeName);
      } catch (err) {
        onError?.(p.name, err);
      }
    }
  }

  /**
   * Runs Permit. A rejection is returned; if some plugins asked to wait (and none rejected) the pod becomes a
   * waiting pod and the Wait status is returned — {@link waitOnPermit} then resolves its fate.
   */
  runPermit(state: CycleState, pod: Pod, nodeName: string): Status | null {
    const timeouts = new Map<string, number>();
    for (const p of this.permit) {
      let r: ReturnType<PermitPlugin['permit']>;
      try {
        r = p.permit(state, pod, nodeName);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      const s = r.status;
      if (!s || s.code === Code.Success) continue;
      if (s.code === Code.Wait) {
        timeouts.set(p.name, Math.min(Math.max(0, r.timeoutMs ?? 0), 15 * 60_000));
        continue;
      }
      return s.withPlugin(p.name);
    }
    if (timeouts.size === 0) return null;
    const uid = pod.metadata?.uid ?? '';
    const wp = new WaitingPodImpl(pod, timeouts, this.clock, () => { if (this.waiting.get(uid) === wp) this.waiting.delete(uid); });
    this.waiting.set(uid, wp);
    return new Status(Code.Wait, ['waiting on permit']).withPlugin([...timeouts.keys()].join(','));
  }

  /** Resolves when a waiting pod is allowed (null) or rejected / timed out (an Unschedulable status). */
  async waitOnPermit(pod: Pod): Promise<Status | null> {
    const wp = this.waiting.get(pod.metadata?.uid ?? '');
    if (!wp) return null;
    return wp.done;
  }

  async runPreBind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | null> {
    for (const p of this.preBind) {
      let s: Status | null;
      try {
        s = await p.preBind(state, pod, nodeName);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return null;
  }

  /** Runs Bind plugins until one does not Skip. */
  async runBind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | null> {
    for (const p of this.bind) {
      let s: Status | null;
      try {
        s = await p.bind(state, pod, nodeName);
      } catch (err) {
        return Status.error(err).withPlugin(p.name);
      }
      if (s && s.code === Code.Skip) continue;
      if (s && s.code !== Code.Success) return s.withPlugin(p.name);
      return null;
    }
    return Status.error(new Error('all bind plugins skipped the pod'));
  }

  runPostBind(state: CycleState, pod: Pod, nodeName: string, onError?: (plugin: string, err: unknown) => void): void {
    for (const p of this.postBind) {
      try {
        p.postBind(state, pod, nodeName);
      } catch (err) {
        onError?.(p.name, err);
      }
    }
  }

  /** Whether any Filter plugin is enabled (without any, the first N nodes are feasible). */
  hasFilters(): boolean {
    return this.filter.length > 0;
  }
}
