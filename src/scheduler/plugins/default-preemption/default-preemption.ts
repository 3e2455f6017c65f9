/**
 * DefaultPreemption (upstream `plugins/defaultpreemption` + `framework/preemption`): the PostFilter that makes room
 * for an unschedulable pod by evicting pods of lower priority.
 *
 *   1. Eligibility: `preemptionPolicy: Never` pods never preempt; a pod already nominated to a node where a
 *      lower-priority victim is still terminating waits instead of preempting again.
 *   2. Candidates: only nodes whose Filter failure was resolvable (not UnschedulableAndUnresolvable). On each, from a
 *      random offset, a dry run removes every lower-priority pod from a copy of the node; if the pod then fits, the
 *      victims are reprieved one by one, most important first — PodDisruptionBudget-violating ones first so that they
 *      are the last to be evicted — keeping back every pod that can stay. The search stops after
 *      max(100, 10 %) candidates as upstream (`minCandidateNodesPercentage`/`Absolute`).
 *   3. Node choice (upstream `pickOneNodeForPreemption`): fewest PDB violations, then the lowest highest-victim
 *      priority, the smallest sum of victim priorities, the fewest victims, the latest start time of the highest
 *      priority victims, then the first candidate.
 *   4. Execution: pods waiting on Permit are rejected; others get `DisruptionTarget` (reason PreemptionByScheduler)
 *      and a graceful DELETE, plus a Normal `Preempted` event "Preempted by pod <uid> on node <node>". Lower-priority
 *      pods nominated to the same node lose their nomination. The result nominates the node; the preemptor comes back
 *      when the victims are gone (AssignedPodDelete) and lands there.
 *
 * When no node helps, the status explains every node as upstream does: "preemption: 0/5 nodes are available:
 * 2 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod" (the scheduler appends
 * the final period).
 */
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { matches, selectorFromLabelSelectorObject } from '../../../api/labels.js';
import {
  Code, Status,
  type CycleState, type Handle, type NodeInfo, type NodeToStatus, type PluginsRunner, type Pod, type PodInfo, type PostFilterPlugin, type PostFilterResult,
} from '../../framework/interface.js';

/** The plugin's name in profiles. */
export const NAME = 'DefaultPreemption';

/** Reasons, as upstream words them. */
export const ERR_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const ERR_NO_VICTIMS = 'No preemption victims found for incoming pod';
export const ERR_POLICY_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const ERR_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';

/** Upstream defaults of `DefaultPreemptionArgs`. */
export const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
export const MIN_CANDIDATE_NODES_ABSOLUTE = 100;

/** Arguments of {@link newDefaultPreemption}. */
export interface DefaultPreemptionArgs {
  /** The PodDisruptionBudgets of the cluster (an informer's lister). Without it no pod counts as PDB-protected. */
  listPDBs?: () => readonly PodDisruptionBudget[];
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
  /** Random source for the candidate offset (tests pass a fixed one). */
  rng?: () => number;
}

/** One node where preemption would work (upstream `Candidate`). */
export interface Candidate {
  name: string;
  /** Most important first. */
  victims: Pod[];
  numPDBViolations: number;
}

const priorityOf = (p: Pod) => p.spec?.priority ?? 0;
const uidOf = (p: Pod) => p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;

/** Upstream `util.GetPodStartTime`: status.startTime; pods that have not started count as starting now. */
function startTime(p: Pod, now: number): number {
  const t = p.status?.startTime;
  return t ? Date.parse(t) : now;
}

/** Upstream `util.MoreImportantPod`: higher priority, then the one that started earlier. */
export function moreImportantPod(a: Pod, b: Pod, now = Date.now()): boolean {
  const pa = priorityOf(a);
  const pb = priorityOf(b);
  if (pa !== pb) return pa > pb;
  return startTime(a, now) < startTime(b, now);
}

/**
 * Splits pods into those whose eviction would violate a PodDisruptionBudget and the rest (upstream
 * `filterPodsWithPDBViolation`): each matching PDB's `disruptionsAllowed` is spent in the given order; a pod already
 * listed in `status.disruptedPods` does not spend it again. Order is kept.
 */
export function filterPodsWithPDBViolation(pods: readonly Pod[], pdbs: readonly PodDisruptionBudget[]): { violating: Pod[]; nonViolating: Pod[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map(pdbSelector);
  const violating: Pod[] = [];
  const nonViolating: Pod[] = [];
  for (const pod of pods) {
    let violates = false;
    for (let i = 0; i < pdbs.length; i++) {
      if (!pdbCovers(pdbs[i]!, selectors[i], pod)) continue;
      allowed[i]!--;
      if (allowed[i]! < 0) violates = true;
    }
    (violates ? violating : nonViolating).push(pod);
  }
  return { violating, nonViolating };
}

type Selector = ReturnType<typeof selectorFromLabelSelectorObject>;

/** The PDB's selector; undefined when it is missing or empty, which matches nothing here (upstream `selector.Empty()`). */
function pdbSelector(pdb: PodDisruptionBudget): Selector | undefined {
  const s = pdb.spec?.selector;
  if (!s || (Object.keys(s.matchLabels ?? {}).length === 0 && !s.matchExpressions?.length)) return undefined;
  return selectorFromLabelSelectorObject(s);
}

/** Whether evicting `pod` spends one of `pdb`'s allowed disruptions (same namespace, selected, not already disrupted). */
function pdbCovers(pdb: PodDisruptionBudget, sel: Selector | undefined, pod: Pod): boolean {
  const labels = pod.metadata?.labels;
  // Pods without labels are never covered (upstream checks `len(pod.Labels) != 0` first).
  if (!sel || !labels || Object.keys(labels).length === 0 || pdb.metadata?.namespace !== pod.metadata?.namespace) return false;
  if (!matches(sel, labels)) return false;
  return !(pdb.status?.disruptedPods && pod.metadata?.name && pod.metadata.name in pdb.status.disruptedPods);
}

/**
 * The budgets as they stand once `victims` are evicted: each covering PDB's `disruptionsAllowed` drops by one per
 * victim (may go negative). Preemption that plans several evictions in sequence (a gang's members on several nodes)
 * passes the result to the next search so that one budget is not spent twice. Unchanged PDBs are returned as is.
 */
export function spendPDBs(pdbs: readonly PodDisruptionBudget[], victims: readonly Pod[]): PodDisruptionBudget[] {
  return pdbs.map((pdb) => {
    const sel = pdbSelector(pdb);
    let n = 0;
    for (const v of victims) if (pdbCovers(pdb, sel, v)) n++;
    if (n === 0) return pdb;
    const status = pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptionsAllowed: 0 };
    return { ...pdb, status: { ...status, disruptionsAllowed: (status.disruptionsAllowed ?? 0) - n } };
  });
}

/**
 * Picks the candidate whose preemption hurts least (upstream `pickOneNodeForPreemption`); see the module comment for
 * the criteria. `candidates` must not be empty.
 */
export function pickOneNodeForPreemption(candidates: readonly Candidate[], now = Date.now()): Candidate {
  for (const c of candidates) if (c.victims.length === 0) return c;
  const sumPriority = (c: Candidate) => c.victims.reduce((s, v) => s + priorityOf(v) + 2 ** 31, 0); // shift so negatives count as less
  const earliestOfHighest = (c: Candidate) => {
    const top = priorityOf(c.victims[0]!);
    let t = Infinity;
    for (const v of c.victims) if (priorityOf(v) === top) t = Math.min(t, startTime(v, now));
    return t;
  };
  const criteria: Array<(c: Candidate) => number> = [
    (c) => -c.numPDBViolations,
    (c) => -priorityOf(c.victims[0]!),
    (c) => -sumPriority(c),
    (c) => -c.victims.length,
    (c) => earliestOfHighest(c),
  ];
  let best = [...candidates];
  for (const score of criteria) {
    if (best.length === 1) break;
    let max = -Infinity;
    for (const c of best) max = Math.max(max, score(c));
    best = best.filter((c) => score(c) === max);
  }
  return best[0]!;
}

/** What the per-node victim search needs: the framework's what-if runners and the clock. */
export type VictimSearchRunner = Pick<PluginsRunner, 'runFilterPluginsWithNominatedPods' | 'runPreFilterExtensionAddPod' | 'runPreFilterExtensionRemovePod'>;

/** Options of {@link selectVictimsOnNode} and {@link dryRunPreemption}. */
export interface VictimSearchOptions {
  pdbs: readonly PodDisruptionBudget[];
  /** "Now" for start-time comparisons of pods that have not started. */
  now: number;
  /** Lower-priority pods that must stay anyway (a gang's own members). */
  protect?: (pi: PodInfo) => boolean;
  /** Nominated pods whose room the filters should not keep (a gang's members, which the gang plan places itself). */
  ignoreNominated?: (pi: PodInfo) => boolean;
}

/**
 * Upstream `SelectVictimsOnNode`, on `state` and `ni` — which it mutates, so pass copies: remove every lower-priority
 * pod (except protected ones) through the PreFilter extensions, check that `pod` then passes every Filter (with the
 * nominated pods' room kept), then reprieve as many as possible — PDB-violating ones first, most important first
 * within each group — and return the rest, most important first, with how many of them violate a PDB.
 */
export function selectVictimsOnNode(runner: VictimSearchRunner, state: CycleState, pod: Pod, ni: NodeInfo, opts: VictimSearchOptions): { victims: Pod[]; numPDBViolations: number } | { status: Status } {
  const prio = priorityOf(pod);
  const potential: PodInfo[] = [];
  for (const pi of [...ni.pods]) {
    if (pi.priority >= prio || opts.protect?.(pi)) continue;
    potential.push(pi);
    ni.removePod(pi.uid);
    const s = runner.runPreFilterExtensionRemovePod(state, pod, pi, ni);
    if (s) return { status: s };
  }
  if (potential.length === 0) return { status: Status.unresolvable(ERR_NO_VICTIMS) };
  const filter = () => runner.runFilterPluginsWithNominatedPods(state, pod, ni, opts.ignoreNominated);
  const fit = filter();
  if (fit) return { status: fit };
  const now = opts.now;
  const byUid = new Map(potential.map((pi) => [pi.uid, pi]));
  const sorted = potential.map((pi) => pi.pod).sort((a, b) => (moreImportantPod(a, b, now) ? -1 : moreImportantPod(b, a, now) ? 1 : 0));
  const { violating, nonViolating } = filterPodsWithPDBViolation(sorted, opts.pdbs);
  const victims: Pod[] = [];
  let numPDBViolations = 0;
  const reprieve = (p: Pod, isViolating: boolean): Status | null => {
    const pi = byUid.get(uidOf(p))!;
    ni.addPod(pi);
    const s = runner.runPreFilterExtensionAddPod(state, pod, pi, ni);
    if (s) return s;
    if (filter()) {
      ni.removePod(pi.uid);
      const r = runner.runPreFilterExtensionRemovePod(state, pod, pi, ni);
      if (r) return r;
      victims.push(p);
      if (isViolating) numPDBViolations++;
    }
    return null;
  };
  for (const p of violating) {
    const s = reprieve(p, true);
    if (s) return { status: s };
  }
  for (const p of nonViolating) {
    const s = reprieve(p, false);
    if (s) return { status: s };
  }
  victims.sort((a, b) => (moreImportantPod(a, b, now) ? -1 : moreImportantPod(b, a, now) ? 1 : 0));
  return { victims, numPDBViolations };
}

/**
 * Upstream `DryRunPreemption`: {@link selectVictimsOnNode} on copies of `state` and of each of `nodes` (the potential
 * nodes, i.e. not UnschedulableAndUnresolvable), starting at `offset`, until `numCandidates` candidates including one
 * without PDB violations were found. Returns the candidates and the status of every node that is not one.
 */
export function dryRunPreemption(
  runner: VictimSearchRunner, state: CycleState, pod: Pod, nodes: readonly NodeInfo[], opts: VictimSearchOptions & { numCandidates: number; offset: number },
): { candidates: Candidate[]; statuses: Map<string, Status> } {
  const statuses = new Map<string, Status>();
  const candidates: Candidate[] = [];
  let nonViolating = 0;
  for (let i = 0; i < nodes.length; i++) {
    const ni = nodes[(opts.offset + i) % nodes.length]!;
    const r = selectVictimsOnNode(runner, state.clone(), pod, ni.clone(), opts);
    if ('status' in r) {
      statuses.set(ni.name, r.status);
      continue;
    }
    candidates.push({ name: ni.name, victims: r.victims, numPDBViolations: r.numPDBViolations });
    if (r.numPDBViolations === 0) nonViolating++;
    if (nonViolating > 0 && candidates.length >= opts.numCandidates) break;
  }
  return { candidates, statuses };
}

/** Upstream `GetOffsetAndNumCandidates`' count: max(absolute, percentage of the potential nodes), at most all of them. */
export function numCandidatesFor(potential: number, pct = MIN_CANDIDATE_NODES_PERCENTAGE, abs = MIN_CANDIDATE_NODES_ABSOLUTE): number {
  return Math.min(potential, Math.max(abs, Math.trunc((potential * pct) / 100)));
}

/**
 * Upstream's FitError over a dry run that found no candidate: "0/N nodes are available: <count reason, …sorted>", the
 * nodes without a status of their own counted as "Preemption is not helpful for scheduling".
 */
export function noCandidatesMessage(totalNodes: number, statuses: ReadonlyMap<string, Status>): string {
  const counts = new Map<string, number>();
  for (const s of statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const absent = totalNodes - statuses.size;
  if (absent > 0) counts.set(ERR_NOT_HELPFUL, (counts.get(ERR_NOT_HELPFUL) ?? 0) + absent);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `0/${totalNodes} nodes are available: ${parts.join(', ')}`;
}

/**
 * Upstream `prepareCandidate`: evicts `c.victims` for `pod` — a victim waiting on Permit is rejected, any other gets a
 * graceful delete (reason PreemptionByScheduler) — with a `Preempted` event each, then takes the nomination away
 * from lower-priority pods nominated to `c.name`. The first delete error (other than 404) is thrown after all tries.
 */
export async function prepareCandidate(handle: Pick<Handle, 'getWaitingPod' | 'cluster' | 'nominatedPodsForNode'>, c: Candidate, pod: Pod): Promise<void> {
  const uid = pod.metadata?.uid ?? '';
  const errs: unknown[] = [];
  await Promise.all(c.victims.map(async (v) => {
    const waiting = handle.getWaitingPod(uidOf(v));
    if (waiting) {
      waiting.reject(NAME, 'preempted');
    } else {
      try {
        await handle.cluster.deletePod(v, 'PreemptionByScheduler');
      } catch (err) {
        if ((err as { code?: number }).code !== 404) errs.push(err);
        return;
      }
    }
    handle.cluster.event(v, 'Normal', 'Preempted', `Preempted by pod ${uid} on node ${c.name}`);
  }));
  if (errs.length) throw errs[0];
  // Lower-priority pods nominated to this node lose the promise (upstream `getLowerPriorityNominatedPods`).
  const prio = priorityOf(pod);
  for (const pi of handle.nominatedPodsForNode(c.name)) {
    if (pi.uid === uid || pi.priority >= prio) continue;
    await handle.cluster.updatePodStatus(pi.pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: `nominated node ${c.name} was taken by a higher priority pod` }, '').catch(() => undefined);
  }
}

/** Upstream `PodEligibleToPreemptOthers` without the nominated-node part: the reason a pod may not preempt, if any. */
export function preemptionPolicyForbids(pod: Pod): string | undefined {
  return pod.spec?.preemptionPolicy === 'Never' ? ERR_POLICY_NEVER : undefined;
}

/** See the module comment. */
export class DefaultPreemption implements PostFilterPlugin {
  readonly name = NAME;
  private readonly rng: () => number;

  constructor(private readonly handle: Handle, private readonly args: DefaultPreemptionArgs = {}) {
    this.rng = args.rng ?? Math.random;
  }

  async postFilter(state: CycleState, pod: Pod, m: NodeToStatus): Promise<{ result?: PostFilterResult; status: Status | null }> {
    const r = this.preempt(state, pod, m);
    if ('status' in r) {
      const s = r.status;
      return { result: r.result, status: new Status(s.code, s.reasons.length ? [`preemption: ${s.message()}`] : []) };
    }
    await prepareCandidate(this.handle, r.candidate, pod);
    return { result: { nominatedNodeName: r.candidate.name, nominatingMode: 'ModeOverride' }, status: null };
  }

  /**
   * The decision without side effects (upstream `Evaluator.Preempt` up to `prepareCandidate`): the chosen candidate,
   * or the status explaining why there is none.
   */
  preempt(state: CycleState, pod: Pod, m: NodeToStatus): { candidate: Candidate } | { status: Status; result?: PostFilterResult } {
    const snap = this.handle.snapshot();
    const eligible = this.podEligibleToPreemptOthers(pod, m);
    if (eligible) return { status: Status.unschedulable(eligible) };
    const all = snap.list();
    const potential = all.filter((ni) => {
      const s = m.statuses.get(ni.name) ?? m.absentNodesStatus;
      return s.code !== Code.UnschedulableAndUnresolvable;
    });
    let candidates: Candidate[] = [];
    let statuses = new Map<string, Status>();
    if (potential.length) {
      ({ candidates, statuses } = dryRunPreemption(this.handle, state, pod, potential, {
        pdbs: this.args.listPDBs?.() ?? [],
        now: this.handle.clock.now(),
        numCandidates: numCandidatesFor(potential.length, this.args.minCandidateNodesPercentage, this.args.minCandidateNodesAbsolute),
        offset: Math.floor(this.rng() * potential.length),
      }));
    }
    if (candidates.length === 0) return { status: Status.unschedulable(noCandidatesMessage(all.length, statuses)), result: { nominatedNodeName: '' } };
    return { candidate: pickOneNodeForPreemption(candidates, this.handle.clock.now()) };
  }

  /** Upstream `PodEligibleToPreemptOthers`: undefined when eligible, else the reason. */
  private podEligibleToPreemptOthers(pod: Pod, m: NodeToStatus): string | undefined {
    const never = preemptionPolicyForbids(pod);
    if (never) return never;
    const nominated = pod.status?.nominatedNodeName;
    if (nominated) {
      // Still waiting for earlier victims on the nominated node: do not preempt more (unless that node is now hopeless).
      const s = m.statuses.get(nominated);
      if (s && s.code === Code.UnschedulableAndUnresolvable) return undefined;
      const ni = this.handle.snapshot().get(nominated);
      const prio = priorityOf(pod);
      if (ni) for (const p of ni.pods) if (p.pod.metadata?.deletionTimestamp && p.priority < prio) return ERR_TERMINATING;
    }
    return undefined;
  }
}

/** Factory for the registry. */
export function newDefaultPreemption(args: unknown, handle: Handle): DefaultPreemption {
  return new DefaultPreemption(handle, (args ?? {}) as DefaultPreemptionArgs);
}
