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
  type CycleState, type Handle, type NodeInfo, type NodeToStatus, type Pod, type PodInfo, type PostFilterPlugin, type PostFilterResult,
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
  const selectors = pdbs.map((p) => (p.spec?.selector ? selectorFromLabelSelectorObject(p.spec.selector) : undefined));
  const violating: Pod[] = [];
  const nonViolating: Pod[] = [];
  for (const pod of pods) {
    let violates = false;
    const labels = pod.metadata?.labels ?? {};
    if (Object.keys(labels).length) {
      for (let i = 0; i < pdbs.length; i++) {
        const pdb = pdbs[i]!;
        if (pdb.metadata?.namespace !== pod.metadata?.namespace) continue;
        const sel = selectors[i];
        const s = pdb.spec?.selector;
        // An empty or missing selector matches nothing here (upstream `selector.Empty()`).
        if (!sel || !s || (!s.matchLabels && !s.matchExpressions?.length) || (Object.keys(s.matchLabels ?? {}).length === 0 && !s.matchExpressions?.length)) continue;
        if (!matches(sel, labels)) continue;
        if (pdb.status?.disruptedPods && pod.metadata?.name && pod.metadata.name in pdb.status.disruptedPods) continue;
        allowed[i]!--;
        if (allowed[i]! < 0) violates = true;
      }
    }
    (violates ? violating : nonViolating).push(pod);
  }
  return { violating, nonViolating };
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
    await this.prepareCandidate(r.candidate, pod);
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
    const statuses = new Map<string, Status>();
    const candidates: Candidate[] = [];
    if (potential.length) {
      const pdbs = this.args.listPDBs?.() ?? [];
      const pct = this.args.minCandidateNodesPercentage ?? MIN_CANDIDATE_NODES_PERCENTAGE;
      const abs = this.args.minCandidateNodesAbsolute ?? MIN_CANDIDATE_NODES_ABSOLUTE;
      const numCandidates = Math.min(potential.length, Math.max(abs, Math.trunc((potential.length * pct) / 100)));
      const offset = Math.floor(this.rng() * potential.length);
      let nonViolating = 0;
      for (let i = 0; i < potential.length; i++) {
        const ni = potential[(offset + i) % potential.length]!;
        const r = this.selectVictimsOnNode(state.clone(), pod, ni.clone(), pdbs);
        if ('status' in r) {
          statuses.set(ni.name, r.status);
          continue;
        }
        candidates.push({ name: ni.name, victims: r.victims, numPDBViolations: r.numPDBViolations });
        if (r.numPDBViolations === 0) nonViolating++;
        if (nonViolating > 0 && candidates.length >= numCandidates) break;
      }
    }
    if (candidates.length === 0) {
      // Upstream FitError over the dry run: evaluated nodes by their reason, the rest "not helpful".
      const counts = new Map<string, number>();
      for (const s of statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
      const absent = all.length - statuses.size;
      if (absent > 0) counts.set(ERR_NOT_HELPFUL, (counts.get(ERR_NOT_HELPFUL) ?? 0) + absent);
      const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return { status: Status.unschedulable(`0/${all.length} nodes are available: ${parts.join(', ')}`), result: { nominatedNodeName: '' } };
    }
    return { candidate: pickOneNodeForPreemption(candidates, this.handle.clock.now()) };
  }

  /** Upstream `PodEligibleToPreemptOthers`: undefined when eligible, else the reason. */
  private podEligibleToPreemptOthers(pod: Pod, m: NodeToStatus): string | undefined {
    if (pod.spec?.preemptionPolicy === 'Never') return ERR_POLICY_NEVER;
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

  /**
   * Upstream `SelectVictimsOnNode` on copies of the state and node: remove every lower-priority pod, check the fit,
   * then reprieve as many as possible (PDB-violating first, most important first within each group).
   */
  private selectVictimsOnNode(state: CycleState, pod: Pod, ni: NodeInfo, pdbs: readonly PodDisruptionBudget[]): { victims: Pod[]; numPDBViolations: number } | { status: Status } {
    const prio = priorityOf(pod);
    const potential: PodInfo[] = [];
    for (const pi of [...ni.pods]) {
      if (pi.priority >= prio) continue;
      potential.push(pi);
      ni.removePod(pi.uid);
      const s = this.handle.runPreFilterExtensionRemovePod(state, pod, pi, ni);
      if (s) return { status: s };
    }
    if (potential.length === 0) return { status: Status.unresolvable(ERR_NO_VICTIMS) };
    const fit = this.handle.runFilterPluginsWithNominatedPods(state, pod, ni);
    if (fit) return { status: fit };
    const now = this.handle.clock.now();
    const byUid = new Map(potential.map((pi) => [pi.uid, pi]));
    const sorted = potential.map((pi) => pi.pod).sort((a, b) => (moreImportantPod(a, b, now) ? -1 : moreImportantPod(b, a, now) ? 1 : 0));
    const { violating, nonViolating } = filterPodsWithPDBViolation(sorted, pdbs);
    const victims: Pod[] = [];
    let numPDBViolations = 0;
    const reprieve = (p: Pod, isViolating: boolean): Status | null => {
      const pi = byUid.get(uidOf(p))!;
      ni.addPod(pi);
      const s = this.handle.runPreFilterExtensionAddPod(state, pod, pi, ni);
      if (s) return s;
      if (this.handle.runFilterPluginsWithNominatedPods(state, pod, ni)) {
        ni.removePod(pi.uid);
        const r = this.handle.runPreFilterExtensionRemovePod(state, pod, pi, ni);
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

  /** Upstream `prepareCandidate`: evict the victims and clear weaker nominations on the node. */
  private async prepareCandidate(c: Candidate, pod: Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const errs: unknown[] = [];
    await Promise.all(c.victims.map(async (v) => {
      const waiting = this.handle.getWaitingPod(uidOf(v));
      if (waiting) {
        waiting.reject(NAME, 'preempted');
      } else {
        try {
          await this.handle.cluster.deletePod(v, 'PreemptionByScheduler');
        } catch (err) {
          if ((err as { code?: number }).code !== 404) errs.push(err);
          return;
        }
      }
      this.handle.cluster.event(v, 'Normal', 'Preempted', `Preempted by pod ${uid} on node ${c.name}`);
    }));
    if (errs.length) throw errs[0];
    // Lower-priority pods nominated to this node lose the promise (upstream `getLowerPriorityNominatedPods`).
    const prio = priorityOf(pod);
    for (const pi of this.handle.nominatedPodsForNode(c.name)) {
      if (pi.uid === uid || pi.priority >= prio) continue;
      await this.handle.cluster.updatePodStatus(pi.pod, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: `nominated node ${c.name} was taken by a higher priority pod` }, '').catch(() => undefined);
    }
  }
}

/** Factory for the registry. */
export function newDefaultPreemption(args: unknown, handle: Handle): DefaultPreemption {
  return new DefaultPreemption(handle, (args ?? {}) as DefaultPreemptionArgs);
}
