/**
 * The Job controller (kube-controller-manager `job`, pkg/controller/job, 1.32 semantics): runs a Job's Pods to
 * completion. Pods are created from the template with a controller ownerReference and the
 * `batch.kubernetes.io/job-tracking` finalizer; a finished Pod is first recorded in
 * `status.uncountedTerminatedPods`, then its finalizer is removed, then it moves into the `succeeded`/`failed`
 * counters — so counts stay exact even when finished Pods are deleted. Supports NonIndexed and Indexed completion,
 * parallelism, backoffLimit with exponential backoff, backoffLimitPerIndex/maxFailedIndexes, podFailurePolicy,
 * successPolicy, activeDeadlineSeconds and suspend. Terminal conditions are delayed as in 1.32: FailureTarget or
 * SuccessCriteriaMet first, then Failed/Complete once no Pod is left terminating.
 */
import type { Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock } from '../../client/clock.js';
import { controllerFor, type ReconcileRequest, type ReconcileResult } from '../../client/controller.js';
import type { ResourceClient } from '../../client/dynamic.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import type { Logger } from '../../client/log.js';
import { isNotFound } from '../../client/rest.js';
import { matches, selectorFromLabelSelectorObject, type LabelSelectorObject } from '../../api/labels.js';
import type { ControllerContext, ControllerDefinition, Runnable } from '../types.js';
import { formatIndexes, parseIndexes } from './indexes.js';
import { matchPodFailurePolicy } from './pod-failure-policy.js';
import { BackoffStore, FinalizerExpectations, PodExpectations, finishedTime, remainingBackoff, type BackoffRecord } from './tracking.js';
import { rfc3339 } from '../../api/time.js';

/** Finalizer that keeps a Job's Pod until the controller has counted it (`batch.JobTrackingFinalizer`). */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
/** Annotation (and label) carrying an Indexed Job Pod's completion index. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** Failures of earlier Pods of the same index, for backoffLimitPerIndex. */
export const INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
/** Failures of earlier Pods of the same index that a podFailurePolicy Ignore rule did not count. */
export const INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-ignored-failure-count';
/** The env var through which an Indexed Job's containers learn their index. */
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** Upstream `MaxUncountedPods`: cap of UIDs in uncountedTerminatedPods per sync. */
const MAX_UNCOUNTED_PODS = 500;
/** Upstream `MaxPodCreateDeletePerSync`. */
const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
/** Upstream `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`. */
const DEFAULT_BACKOFF_BASE_MS = 10_000;
const DEFAULT_BACKOFF_MAX_MS = 10 * 60_000;
const JOB_MANAGER = 'kubernetes.io/job-controller';

/** Options of {@link createJobController}. */
export interface JobControllerOptions {
  /** First delay before recreating a failed Pod (upstream 10 s); tests shorten it. */
  backoffBaseMs?: number;
  /** Cap of that delay (upstream `MaxJobPodFailureBackOff`, 10 min). */
  backoffMaxMs?: number;
}

type Cond = JobCondition;

interface SyncCtx {
  key: string;
  job: Job;
  pods: Pod[];
  active: Pod[];
  ready: number;
  terminating: number;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  expectedRm: Set<string>;
  succeeded: number;
  failed: number;
  finished?: Cond;
  prevSucceededIndexes: number[];
  succeededIndexes: Set<number>;
  failedIndexes?: Set<number>;
  delayedPerIndex: Map<number, Pod>;
  backoff: BackoffRecord;
  requeueAfter?: number;
}

const uidOf = (p: Pod) => p.metadata?.uid ?? '';
const hasFinalizer = (p: Pod) => (p.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const isActive = (p: Pod) => !isTerminal(p) && !p.metadata?.deletionTimestamp;
const isTerminating = (p: Pod) => !!p.metadata?.deletionTimestamp && !isTerminal(p);
const isReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const isIndexed = (j: Job) => j.spec?.completionMode === 'Indexed';
const hasBackoffLimitPerIndex = (j: Job) => isIndexed(j) && j.spec?.backoffLimitPerIndex !== undefined && j.spec.backoffLimitPerIndex !== null;
const isSuspended = (j: Job) => j.spec?.suspend === true;
const findCond = (list: Cond[] | undefined, type: string) => (list ?? []).find((c) => c.type === type);

/** True once the Job has a Complete or Failed condition with status True (upstream `IsJobFinished`). */
export function isJobFinished(job: Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** The completion index in a Pod's annotation, or -1 when absent or malformed (upstream `getCompletionIndex`). */
function completionIndex(p: Pod): number {
  const v = p.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  return Number(v);
}

/** Upstream `onlyReplaceFailedPods`: podReplacementPolicy Failed, or a podFailurePolicy is set. */
function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
}

/** Upstream `isPodFailed`: Failed phase, or (unless only failed Pods are replaced) deleted before succeeding. */
function isPodFailed(p: Pod, job: Job): boolean {
  if (p.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded';
}

function annotationCount(p: Pod | undefined, name: string): number {
  const v = p?.metadata?.annotations?.[name];
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

/** Whether `p` makes its index fail (upstream `isIndexFailed`). */
function isIndexFailed(job: Job, p: Pod): boolean {
  if (!isPodFailed(p, job)) return false;
  let counted = true;
  if (job.spec?.podFailurePolicy) {
    const m = matchPodFailurePolicy(job.spec.podFailurePolicy, p);
    if (m.action === 'FailIndex') return true;
    counted = m.countFailed;
  }
  return counted && annotationCount(p, INDEX_FAILURE_COUNT_ANNOTATION) >= (job.spec?.backoffLimitPerIndex ?? 0);
}

/** Upstream `matchSuccessPolicy`: the first rule met, as its message. */
function matchSuccessPolicy(job: Job, succeeded: Set<number>): string | undefined {
  const completions = job.spec?.completions ?? 0;
  for (const [i, rule] of (job.spec?.successPolicy?.rules ?? []).entries()) {
    if (rule.succeededIndexes !== undefined && rule.succeededIndexes !== null) {
      const want = parseIndexes(rule.succeededIndexes, completions);
      const got = want.filter((x) => succeeded.has(x)).length;
      if (rule.succeededCount === undefined || rule.succeededCount === null ? got === want.length : got >= rule.succeededCount) {
        return `Matched rules at index ${i}`;
      }
    } else if (rule.succeededCount !== undefined && rule.succeededCount !== null && succeeded.size >= rule.succeededCount) {
      return `Matched rules at index ${i}`;
    }
  }
  return undefined;
}

/**
 * Order in which active Pods are removed (upstream `controller.ActivePods`): unscheduled before scheduled, pending
 * before running, not ready before ready, then the most recently created first.
 */
function removalOrder(a: Pod, b: Pod): number {
  const sched = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  const rank = (p: Pod) => ({ Pending: 0, Unknown: 1, Running: 2 } as Record<string, number>)[p.status?.phase ?? 'Pending'] ?? 0;
  return sched(a) - sched(b) || rank(a) - rank(b) || Number(isReady(a)) - Number(isReady(b))
    || Date.parse(b.metadata?.creationTimestamp ?? '0') - Date.parse(a.metadata?.creationTimestamp ?? '0');
}

class JobController {
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly jobClient: ResourceClient<Job>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly expectations: PodExpectations;
  private readonly finalizerExpectations = new FinalizerExpectations();
  private readonly backoffs = new BackoffStore();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(ctx: ControllerContext, opts: JobControllerOptions) {
    this.jobs = ctx.informers.for<Job>('batch/v1', 'Job');
    this.pods = ctx.informers.for<Pod>('v1', 'Pod');
    this.jobClient = ctx.client.resource<Job>('batch/v1', 'Job');
    this.podClient = ctx.client.resource<Pod>('v1', 'Pod');
    this.recorder = ctx.recorder('job-controller');
    this.clock = ctx.clock ?? realClock;
    this.log = ctx.logger('job-controller');
    this.expectations = new PodExpectations(this.clock);
    this.baseMs = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.maxMs = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    // Expectation bookkeeping runs before the controller's own handler enqueues the Job (handlers run in order).
    this.pods.addEventHandler({
      onAdd: (p) => {
        const key = this.jobKeyOf(p);
        if (!key) return;
        if (p.metadata?.deletionTimestamp) this.expectations.deletionObserved(key);
        else this.expectations.creationObserved(key);
      },
      onUpdate: (o, n) => {
        const key = this.jobKeyOf(n) ?? this.jobKeyOf(o);
        if (!key) return;
        if (n.metadata?.deletionTimestamp && !o.metadata?.deletionTimestamp) this.expectations.deletionObserved(key);
        if (hasFinalizer(o) && !hasFinalizer(n)) this.finalizerExpectations.observed(key, uidOf(n));
      },
      onDelete: (p) => {
        const key = this.jobKeyOf(p);
        if (!key) return;
        if (!p.metadata?.deletionTimestamp) this.expectations.deletionObserved(key);
        this.finalizerExpectations.observed(key, uidOf(p));
      },
    });
  }

  /** The `namespace/name` of the Job controlling `p`, if any. */
  private jobKeyOf(p: Pod): string | undefined {
    const ref = (p.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
    if (!ref || ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return undefined;
    return `${p.metadata?.namespace}/${ref.name}`;
  }

  runnable(workers: number): Runnable {
    const main = controllerFor(this.jobs, { name: 'job', workers, logger: this.log }).owns(this.pods).complete({ reconcile: (r) => this.sync(r) });
    // Finished Pods whose Job is gone or finished still carry the finalizer: the orphan worker removes it.
    const orphans = controllerFor(this.pods, { name: 'job-orphan-pods', logger: this.log }).complete({ reconcile: (r) => this.syncOrphanPod(r) });
    return {
      start: async () => {
        await Promise.all([main.start(), orphans.start()]);
      },
      stop: async () => {
        await Promise.all([main.stop(), orphans.stop()]);
      },
    };
  }

  /** Upstream `syncOrphanPod`: drop the tracking finalizer of a Pod no unfinished Job controls. */
  private async syncOrphanPod(req: ReconcileRequest): Promise<void> {
    const pod = this.pods.lister.get(req.namespace, req.name);
    if (!pod || !hasFinalizer(pod)) return;
    const ref = (pod.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      let job = this.jobs.lister.get(req.namespace, ref.name);
      if (!job) {
        // The Job cache may lag the Pod cache: confirm with a live read before declaring the Pod orphaned.
        try {
          job = await this.jobClient.get(req.namespace, ref.name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      if (job && job.metadata?.uid === ref.uid) {
        if (job.spec?.managedBy && job.spec.managedBy !== JOB_MANAGER) return;
        if (!isJobFinished(job)) return;
      }
    }
    await this.removeFinalizer(pod);
  }

  private async removeFinalizer(pod: Pod): Promise<void> {
    try {
      await this.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, 'strategic', {
        metadata: { '$deleteFromPrimitiveList/finalizers': [JOB_TRACKING_FINALIZER] },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async sync(req: ReconcileRequest): Promise<ReconcileResult | void> {
    const key = `${req.namespace}/${req.name}`;
    const shared = this.jobs.lister.get(req.namespace, req.name);
    if (!shared) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoffs.delete(key);
      return;
    }
    if (shared.spec?.managedBy && shared.spec.managedBy !== JOB_MANAGER) return;
    if (isJobFinished(shared)) {
      this.backoffs.delete(key);
      return;
    }
    const job: Job = structuredClone(shared);
    const mode = job.spec?.completionMode;
    if (mode !== undefined && mode !== null && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.recorder.event(job, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    job.status ??= {};
    job.status.uncountedTerminatedPods ??= {};
    const spec = job.spec!;
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    const active = pods.filter(isActive);
    const c: SyncCtx = {
      key, job, pods, active,
      ready: active.filter(isReady).length,
      terminating: pods.filter(isTerminating).length,
      uncountedSucceeded: new Set(job.status.uncountedTerminatedPods.succeeded ?? []),
      uncountedFailed: new Set(job.status.uncountedTerminatedPods.failed ?? []),
      expectedRm: this.finalizerExpectations.expected(key),
      succeeded: 0, failed: 0,
      prevSucceededIndexes: [], succeededIndexes: new Set(), delayedPerIndex: new Map(),
      backoff: { failuresAfterLastSuccess: 0 },
    };
    let activeCount = active.length;
    const newSucceeded = this.newFinished(c, c.uncountedSucceeded, (p) => p.status?.phase === 'Succeeded');
    const newFailed = this.newFinished(c, c.uncountedFailed, (p) => isPodFailed(p, job));
    const nonIgnored = newFailed.filter((p) => matchPodFailurePolicy(spec.podFailurePolicy, p).countFailed).length;
    c.succeeded = (job.status.succeeded ?? 0) + newSucceeded.length + c.uncountedSucceeded.size;
    c.failed = (job.status.failed ?? 0) + nonIgnored + c.uncountedFailed.size;
    if (!job.status.startTime && !isSuspended(job)) job.status.startTime = rfc3339(this.clock.now());
    c.backoff = this.backoffs.next(key, newSucceeded, newFailed);

    c.finished = this.successCriteriaMet(job);
    if (!c.finished) {
      const target = findCond(job.status.conditions, 'FailureTarget');
      if (target?.status === 'True') c.finished = this.cond('Failed', target.reason ?? '', target.message ?? '');
      else {
        const msg = spec.podFailurePolicy ? pods.filter((p) => isPodFailed(p, job)).map((p) => matchPodFailurePolicy(spec.podFailurePolicy, p).failJobMessage).find((m) => m) : undefined;
        if (msg) c.finished = this.cond('FailureTarget', 'PodFailurePolicy', msg);
      }
    }
    if (!c.finished) {
      if (c.failed > (spec.backoffLimit ?? 6) || this.pastBackoffLimitOnFailure(job, pods)) {
        c.finished = this.cond('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      } else if (this.pastActiveDeadline(job)) {
        c.finished = this.cond('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline');
      } else if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null && !isSuspended(job)) {
        this.requeue(c, spec.activeDeadlineSeconds * 1000 - (this.clock.now() - Date.parse(job.status.startTime!)));
      }
    }
    if (isIndexed(job)) {
      const completions = spec.completions ?? 0;
      c.prevSucceededIndexes = parseIndexes(job.status.completedIndexes, completions);
      c.succeededIndexes = new Set(c.prevSucceededIndexes);
      for (const p of pods) {
        const ix = completionIndex(p);
        if (p.status?.phase === 'Succeeded' && ix >= 0 && ix < completions && hasFinalizer(p)) c.succeededIndexes.add(ix);
      }
      c.succeeded = c.succeededIndexes.size;
      if (hasBackoffLimitPerIndex(job)) {
        c.failedIndexes = new Set(parseIndexes(job.status.failedIndexes, completions));
        for (const p of pods) {
          const ix = completionIndex(p);
          if (ix >= 0 && ix < completions && hasFinalizer(p) && isIndexFailed(job, p)) c.failedIndexes.add(ix);
        }
        if (!c.finished) {
          if (spec.maxFailedIndexes !== undefined && spec.maxFailedIndexes !== null && c.failedIndexes.size > spec.maxFailedIndexes) {
            c.finished = this.cond('FailureTarget', 'MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes');
          } else if (c.failedIndexes.size > 0 && c.failedIndexes.size + c.succeededIndexes.size >= completions) {
            c.finished = this.cond('FailureTarget', 'FailedIndexes', 'Job has failed indexes');
          }
        }
        c.delayedPerIndex = this.podsWithDelayedDeletionPerIndex(c);
      }
      if (!c.finished) {
        const msg = matchSuccessPolicy(job, c.succeededIndexes);
        if (msg) c.finished = this.cond('SuccessCriteriaMet', 'SuccessPolicy', msg);
      }
    }

    let suspendCondChanged = false;
    let manageErr: unknown;
    if (c.finished) {
      const { deleted, deletedReady, err } = await this.deleteActivePods(job, c.active);
      if (deleted !== activeCount || !satisfied) c.finished = undefined;
      activeCount -= deleted;
      c.terminating += deleted;
      c.ready -= deletedReady;
      manageErr = err;
    } else {
      let managed = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        try {
          activeCount = await this.manageJob(c);
        } catch (err) {
          manageErr = err;
          activeCount = c.active.length;
        }
        managed = true;
      }
      const complete = spec.completions === undefined || spec.completions === null
        ? c.succeeded > 0 && activeCount === 0
        : c.succeeded >= spec.completions && activeCount === 0;
      if (complete) {
        c.finished = this.cond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
      } else if (managed) {
        if (isSuspended(job)) {
          if (this.ensureCondition(job, 'Suspended', 'True', 'JobSuspended', 'Job suspended')) {
            suspendCondChanged = true;
            this.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (this.ensureCondition(job, 'Suspended', 'False', 'JobResumed', 'Job resumed')) {
          suspendCondChanged = true;
          this.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
          // ActiveDeadlineSeconds counts continuous activity: a resumed Job starts its clock again.
          job.status.startTime = rfc3339(this.clock.now());
        }
      }
    }
    const needsUpdate = suspendCondChanged || activeCount !== (job.status.active ?? 0) || c.ready !== job.status.ready
      || c.terminating !== job.status.terminating || job.status.startTime !== shared.status?.startTime;
    job.status.active = activeCount;
    job.status.ready = c.ready;
    job.status.terminating = c.terminating;
    await this.trackStatusAndRemoveFinalizers(c, needsUpdate);
    if (manageErr) throw manageErr;
    return c.requeueAfter !== undefined ? { requeueAfter: Math.max(1, c.requeueAfter) } : undefined;
  }

  private requeue(c: SyncCtx, ms: number): void {
    c.requeueAfter = c.requeueAfter === undefined ? ms : Math.min(c.requeueAfter, ms);
  }

  private cond(type: string, reason: string, message: string): Cond {
    const now = rfc3339(this.clock.now());
    return { type, status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now };
  }

  private successCriteriaMet(job: Job): Cond | undefined {
    const c = findCond(job.status?.conditions, 'SuccessCriteriaMet');
    return c?.status === 'True' ? c : undefined;
  }

  /** Upstream `ensureJobConditionStatus`; returns whether the list changed. */
  private ensureCondition(job: Job, type: string, status: string, reason: string, message: string): boolean {
    const list = (job.status!.conditions ??= []);
    const cur = list.find((x) => x.type === type);
    if (cur) {
      if (cur.status === status && cur.reason === reason && cur.message === message) return false;
      Object.assign(cur, this.cond(type, reason, message), { status });
      return true;
    }
    if (status === 'False') return false;
    list.push({ ...this.cond(type, reason, message), status });
    return true;
  }

  private pastActiveDeadline(job: Job): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    if (ads === undefined || ads === null || !job.status?.startTime || isSuspended(job)) return false;
    return this.clock.now() - Date.parse(job.status.startTime) >= ads * 1000;
  }

  /** restartPolicy OnFailure: container restarts of running Pods count against the backoff limit. */
  private pastBackoffLimitOnFailure(job: Job, pods: Pod[]): boolean {
    if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
    let restarts = 0;
    for (const p of pods) {
      if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += cs.restartCount ?? 0;
    }
    const limit = job.spec.backoffLimit ?? 6;
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  /** Pods not yet counted, with a valid index for Indexed Jobs (upstream `getValidPodsWithFilter`). */
  private newFinished(c: SyncCtx, uncounted: Set<string>, filter: (p: Pod) => boolean): Pod[] {
    const completions = c.job.spec?.completions ?? 0;
    return c.pods.filter((p) => {
      const uid = uidOf(p);
      if (!hasFinalizer(p) || uncounted.has(uid) || c.expectedRm.has(uid)) return false;
      if (isIndexed(c.job)) {
        const ix = completionIndex(p);
        if (ix < 0 || ix >= completions) return false;
      }
      return filter(p);
    });
  }

  /**
   * The Pods this Job controls: those whose controller reference is the Job, plus orphans matching its selector,
   * which are adopted (ownerReference and tracking finalizer added) as upstream's `ClaimPods` does.
   */
  private async podsForJob(job: Job): Promise<Pod[]> {
    const uid = job.metadata?.uid;
    const sel = selectorFromLabelSelectorObject(job.spec?.selector as LabelSelectorObject | undefined);
    const out: Pod[] = [];
    for (const p of this.pods.lister.list(job.metadata?.namespace)) {
      const ref = (p.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
      if (ref) {
        if (ref.uid === uid) out.push(p);
        continue;
      }
      if (!job.spec?.selector || !matches(sel, p.metadata?.labels) || p.metadata?.deletionTimestamp || job.metadata?.deletionTimestamp) continue;
      const fresh = await this.jobClient.get(job.metadata?.namespace, job.metadata!.name!);
      if (fresh.metadata?.uid !== uid || fresh.metadata?.deletionTimestamp) continue;
      try {
        const adopted = await this.podClient.patch(p.metadata!.namespace, p.metadata!.name!, 'strategic', {
          metadata: { ownerReferences: [this.controllerRef(job)], uid: p.metadata?.uid, finalizers: [JOB_TRACKING_FINALIZER] },
        });
        out.push(adopted);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  private controllerRef(job: Job) {
    return { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true, blockOwnerDeletion: true };
  }

  /** Upstream `getPodsWithDelayedDeletionPerIndex`: the latest failed Pod of each still-pending index. */
  private podsWithDelayedDeletionPerIndex(c: SyncCtx): Map<number, Pod> {
    const activeIndexes = new Set(c.active.map(completionIndex));
    const out = new Map<number, Pod>();
    const completions = c.job.spec?.completions ?? 0;
    for (const p of c.pods) {
      if (!hasFinalizer(p) || c.expectedRm.has(uidOf(p)) || !isPodFailed(p, c.job)) continue;
      const ix = completionIndex(p);
      if (ix < 0 || ix >= completions) continue;
      if (c.succeededIndexes.has(ix) || c.failedIndexes?.has(ix) || activeIndexes.has(ix)) continue;
      const prev = out.get(ix);
      const abs = (x: Pod) => annotationCount(x, INDEX_FAILURE_COUNT_ANNOTATION) + annotationCount(x, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
      if (!prev || (abs(prev) <= abs(p) && finishedTime(p) >= finishedTime(prev))) out.set(ix, p);
    }
    return out;
  }

  /** Indexes without a succeeded, failed, active (or, when only failed Pods are replaced, terminating) Pod. */
  private firstPendingIndexes(c: SyncCtx, count: number): number[] {
    const completions = c.job.spec?.completions ?? 0;
    const taken = new Set<number>([...c.succeededIndexes, ...c.active.map(completionIndex), ...(c.failedIndexes ?? [])]);
    if (onlyReplaceFailedPods(c.job)) for (const p of c.pods.filter(isTerminating)) taken.add(completionIndex(p));
    const out: number[] = [];
    for (let i = 0; i < completions && out.length < count; i++) if (!taken.has(i)) out.push(i);
    return out;
  }

  /** Upstream `manageJob`: delete excess Pods or create missing ones (after the backoff delay). Returns active. */
  private async manageJob(c: SyncCtx): Promise<number> {
    const job = c.job;
    const spec = job.spec!;
    let active = c.active.length;
    const parallelism = spec.parallelism ?? 1;
    if (isSuspended(job)) {
      const toDelete = [...c.active].sort(removalOrder);
      this.expectations.expect(c.key, 0, toDelete.length);
      const { deleted, deletedReady, err } = await this.deleteJobPods(c, toDelete);
      c.terminating += deleted;
      c.ready -= deletedReady;
      if (err) throw err;
      return active - deleted;
    }
    let want: number;
    if (spec.completions === undefined || spec.completions === null) want = c.succeeded > 0 ? active : parallelism;
    else want = Math.max(0, Math.min(spec.completions - c.succeeded, parallelism));

    const toDelete = this.activePodsForRemoval(c, Math.max(0, active - want)).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (toDelete.length > 0) {
      this.expectations.expect(c.key, 0, toDelete.length);
      const { deleted, deletedReady, err } = await this.deleteJobPods(c, toDelete);
      c.terminating += deleted;
      c.ready -= deletedReady;
      if (err) throw err;
      return active - deleted;
    }
    const terminating = onlyReplaceFailedPods(job) ? c.terminating : 0;
    let diff = want - terminating - active;
    if (diff <= 0) return active;
    if (!hasBackoffLimitPerIndex(job)) {
      const wait = remainingBackoff(this.clock, this.baseMs, this.maxMs, c.backoff.failuresAfterLastSuccess, c.backoff.lastFailureTime);
      if (wait > 0) {
        this.requeue(c, wait);
        return active;
      }
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexes: number[] = [];
    if (isIndexed(job)) {
      indexes = this.firstPendingIndexes(c, diff);
      if (hasBackoffLimitPerIndex(job)) {
        const ready: number[] = [];
        let minWait: number | undefined;
        for (const ix of indexes) {
          const last = c.delayedPerIndex.get(ix);
          const failures = last ? annotationCount(last, INDEX_FAILURE_COUNT_ANNOTATION) + annotationCount(last, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION) + 1 : 0;
          const wait = last ? remainingBackoff(this.clock, this.baseMs, this.maxMs, failures, finishedTime(last)) : 0;
          if (wait === 0) ready.push(ix);
          else minWait = minWait === undefined ? wait : Math.min(minWait, wait);
        }
        if (ready.length === 0 && minWait !== undefined) {
          this.requeue(c, minWait);
          return active;
        }
        indexes = ready;
      }
      diff = indexes.length;
    }
    if (diff <= 0) return active;
    this.expectations.expect(c.key, diff, 0);
    // Slow start as upstream: batches of 1, 2, 4, … stop at the first batch with a failure.
    let firstErr: unknown;
    let created = 0;
    let remaining = diff;
    for (let batch = Math.min(diff, 1); remaining > 0; batch = Math.min(2 * batch, remaining)) {
      const slice = isIndexed(job) ? indexes.splice(0, batch) : new Array<number>(batch).fill(-1);
      const results = await Promise.allSettled(slice.map((ix) => this.createPod(c, ix)));
      let failed = 0;
      for (const r of results) {
        if (r.status === 'fulfilled') created++;
        else {
          failed++;
          firstErr ??= r.reason;
          this.expectations.creationObserved(c.key);
        }
      }
      remaining -= batch;
      if (failed > 0) {
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(c.key);
        break;
      }
    }
    if (firstErr) throw firstErr;
    return active + created;
  }

  /** Upstream `activePodsForRemoval`: duplicate/out-of-range indexes first, then by {@link removalOrder}. */
  private activePodsForRemoval(c: SyncCtx, atLeast: number): Pod[] {
    const rm: Pod[] = [];
    let left = [...c.active];
    if (isIndexed(c.job)) {
      const completions = c.job.spec?.completions ?? 0;
      const byIndex = new Map<number, Pod[]>();
      left = [];
      for (const p of c.active) {
        const ix = completionIndex(p);
        if (ix < 0 || ix >= completions) rm.push(p);
        else byIndex.set(ix, [...(byIndex.get(ix) ?? []), p]);
      }
      for (const group of byIndex.values()) {
        const sorted = group.sort(removalOrder);
        rm.push(...sorted.slice(0, -1));
        left.push(sorted[sorted.length - 1]);
      }
    }
    if (rm.length < atLeast) rm.push(...left.sort(removalOrder).slice(0, atLeast - rm.length));
    return rm;
  }

  private async createPod(c: SyncCtx, index: number): Promise<void> {
    const job = c.job;
    const tpl = structuredClone(job.spec!.template);
    const name = job.metadata!.name!;
    const labels = { ...(tpl.metadata?.labels ?? {}) };
    const annotations: Record<string, string> = { ...(tpl.metadata?.annotations ?? {}) };
    const spec = tpl.spec!;
    let generateName = `${name}-`;
    if (index >= 0) {
      annotations[COMPLETION_INDEX_ANNOTATION] = String(index);
      labels[COMPLETION_INDEX_ANNOTATION] = String(index);
      spec.hostname = `${name}-${index}`;
      // Upstream podGenerateNameWithIndex: keep `<job>-<index>-` within the 58 characters a generated name may use.
      const suffix = `-${index}-`;
      generateName = `${name.slice(0, Math.max(0, 58 - suffix.length))}${suffix}`;
      const addEnv = (ct: Container) => {
        if ((ct.env ?? []).some((e) => e.name === JOB_COMPLETION_INDEX_ENV)) return;
        ct.env = [...(ct.env ?? []), {
          name: JOB_COMPLETION_INDEX_ENV,
          valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } },
        }];
      };
      spec.containers.forEach(addEnv);
      (spec.initContainers ?? []).forEach(addEnv);
      if (hasBackoffLimitPerIndex(job)) {
        const last = c.delayedPerIndex.get(index);
        let failures = annotationCount(last, INDEX_FAILURE_COUNT_ANNOTATION);
        let ignored = annotationCount(last, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
        if (last && isPodFailed(last, job)) {
          if (matchPodFailurePolicy(job.spec?.podFailurePolicy, last).countFailed) failures++;
          else ignored++;
        }
        annotations[INDEX_FAILURE_COUNT_ANNOTATION] = String(failures);
        if (ignored > 0) annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
      }
    }
    const finalizers = [...(tpl.metadata?.finalizers ?? [])];
    if (!finalizers.includes(JOB_TRACKING_FINALIZER)) finalizers.push(JOB_TRACKING_FINALIZER);
    const pod: Pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { generateName, namespace: job.metadata!.namespace, labels, annotations, finalizers, ownerReferences: [this.controllerRef(job)] },
      spec,
    };
    try {
      const made = await this.podClient.create(job.metadata!.namespace, pod);
      this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${made.metadata?.name}`);
    } catch (err) {
      this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message ?? String(err)}`);
      throw err;
    }
  }

  /** Removes the finalizer, then deletes: Pods the Job no longer wants are not counted (upstream `deleteJobPods`). */
  private async deleteJobPods(c: SyncCtx, pods: Pod[]): Promise<{ deleted: number; deletedReady: number; err?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let err: unknown;
    await Promise.all(pods.map(async (p) => {
      try {
        if (hasFinalizer(p)) await this.removeFinalizer(p);
        await this.deletePod(c.job, p);
        deleted++;
        if (isReady(p)) deletedReady++;
      } catch (e) {
        this.expectations.deletionObserved(c.key);
        err ??= e;
      }
    }));
    return { deleted, deletedReady, err };
  }

  /** Deletes active Pods keeping their finalizers, so they are counted as failed (upstream `deleteActivePods`). */
  private async deleteActivePods(job: Job, pods: Pod[]): Promise<{ deleted: number; deletedReady: number; err?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let err: unknown;
    await Promise.all(pods.map(async (p) => {
      try {
        await this.deletePod(job, p);
        deleted++;
        if (isReady(p)) deletedReady++;
      } catch (e) {
        err ??= e;
      }
    }));
    return { deleted, deletedReady, err };
  }

  private async deletePod(job: Job, p: Pod): Promise<void> {
    try {
      await this.podClient.delete(p.metadata!.namespace, p.metadata!.name!);
      this.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
    } catch (e) {
      if (isNotFound(e)) return;
      this.recorder.event(job, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message ?? String(e)}`);
      throw e;
    }
  }

  /**
   * Upstream `trackJobStatusAndRemoveFinalizers`: record newly finished Pods in uncountedTerminatedPods (and the
   * interim FailureTarget/SuccessCriteriaMet condition), remove their finalizers, move them into the counters, and
   * add the terminal condition once nothing is left uncounted or terminating.
   */
  private async trackStatusAndRemoveFinalizers(c: SyncCtx, needsFlushIn: boolean): Promise<void> {
    let needsFlush = needsFlushIn;
    let job = c.job;
    const indexed = isIndexed(job);
    const completions = job.spec?.completions ?? 0;
    if (indexed) c.pods.sort((a, b) => completionIndex(a) - completionIndex(b));
    const withFinalizer = new Set(c.pods.filter((p) => hasFinalizer(p) && !c.expectedRm.has(uidOf(p))).map(uidOf));
    const uncounted = job.status!.uncountedTerminatedPods!;
    if (this.cleanUncounted(job, withFinalizer)) needsFlush = true;
    const toRemove: Pod[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMax = false;
    const prevSucceeded = new Set(c.prevSucceededIndexes);
    for (const p of c.pods) {
      const uid = uidOf(p);
      if (!hasFinalizer(p) || c.expectedRm.has(uid)) continue;
      const failed = isPodFailed(p, job);
      if (!this.canRemoveFinalizer(c, p, failed)) continue;
      toRemove.push(p);
      if (p.status?.phase === 'Succeeded' && !c.uncountedFailed.has(uid)) {
        if (indexed) {
          const ix = completionIndex(p);
          if (ix >= 0 && ix < completions && !prevSucceeded.has(ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!c.uncountedSucceeded.has(uid)) {
          needsFlush = true;
          (uncounted.succeeded ??= []).push(uid);
        }
      } else if (failed || (c.finished && c.finished.type !== 'SuccessCriteriaMet')) {
        const ix = completionIndex(p);
        if (!c.uncountedFailed.has(uid) && (!indexed || (ix >= 0 && ix < completions))) {
          if (matchPodFailurePolicy(job.spec?.podFailurePolicy, p).countFailed) {
            needsFlush = true;
            (uncounted.failed ??= []).push(uid);
          }
        }
      }
      if (newSucceededIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      for (const ix of newSucceededIndexes) c.succeededIndexes.add(ix);
      const text = formatIndexes(c.succeededIndexes);
      if (text !== (job.status!.completedIndexes ?? '')) needsFlush = true;
      job.status!.succeeded = c.succeededIndexes.size;
      job.status!.completedIndexes = text;
      const failedText = c.failedIndexes ? formatIndexes(c.failedIndexes) : undefined;
      if (failedText !== job.status!.failedIndexes) {
        job.status!.failedIndexes = failedText;
        needsFlush = true;
      }
    }
    if (c.finished?.type === 'FailureTarget') {
      (job.status!.conditions ??= []).push(c.finished);
      needsFlush = true;
      c.finished = this.cond('Failed', c.finished.reason ?? '', c.finished.message ?? '');
    }
    if (c.finished?.type === 'SuccessCriteriaMet') {
      if (!this.successCriteriaMet(job)) {
        (job.status!.conditions ??= []).push(c.finished);
        needsFlush = true;
      }
      c.finished = this.cond('Complete', c.finished.reason ?? '', c.finished.message ?? '');
    }

    // Flush the uncounted UIDs (and interim condition) before removing finalizers, so a crash cannot lose a Pod.
    if (needsFlush) {
      job = await this.updateStatus(job);
      this.backoffs.set(c.key, c.backoff);
      needsFlush = false;
    }
    let rmErr: unknown;
    if (toRemove.length > 0) {
      this.finalizerExpectations.expect(c.key, toRemove.map(uidOf));
      await Promise.all(toRemove.map(async (p) => {
        try {
          await this.removeFinalizer(p);
          withFinalizer.delete(uidOf(p));
        } catch (e) {
          this.finalizerExpectations.observed(c.key, uidOf(p));
          rmErr ??= e;
        }
      }));
    }
    if (this.cleanUncounted(job, withFinalizer)) needsFlush = true;
    if (rmErr) {
      if (needsFlush) await this.updateStatus(job);
      throw rmErr;
    }
    let finished = false;
    if (!reachedMax && c.finished) {
      const u = job.status!.uncountedTerminatedPods ?? {};
      if ((u.succeeded?.length ?? 0) + (u.failed?.length ?? 0) === 0 && c.terminating === 0) {
        const f = c.finished;
        this.ensureCondition(job, f.type, 'True', f.reason ?? '', f.message ?? '');
        if (f.type === 'Complete') job.status!.completionTime = f.lastTransitionTime;
        finished = true;
        needsFlush = true;
      }
    }
    if (needsFlush) {
      job = await this.updateStatus(job);
      if (finished) {
        const f = c.finished!;
        if (f.type === 'Complete') {
          const comp = job.spec?.completions;
          if (comp !== undefined && comp !== null && (job.status?.succeeded ?? 0) > comp) {
            this.recorder.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
          }
          this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
        } else this.recorder.event(job, 'Warning', f.reason ?? 'Failed', f.message ?? '');
      }
    }
  }

  /** Upstream `canRemoveFinalizer`. */
  private canRemoveFinalizer(c: SyncCtx, p: Pod, failed: boolean): boolean {
    if (c.job.metadata?.deletionTimestamp || c.finished || p.status?.phase === 'Succeeded') return true;
    if (!failed) return false;
    if (hasBackoffLimitPerIndex(c.job)) {
      const ix = completionIndex(p);
      if (ix >= 0 && c.delayedPerIndex.get(ix)?.metadata?.uid === p.metadata?.uid) return false;
    }
    return true;
  }

  /** Upstream `cleanUncountedPodsWithoutFinalizers`: UIDs whose finalizer is gone move into the counters. */
  private cleanUncounted(job: Job, withFinalizer: Set<string>): boolean {
    const u = job.status!.uncountedTerminatedPods!;
    let changed = false;
    const ok = (u.succeeded ?? []).filter((x) => withFinalizer.has(x));
    if (ok.length !== (u.succeeded?.length ?? 0)) {
      job.status!.succeeded = (job.status!.succeeded ?? 0) + (u.succeeded!.length - ok.length);
      u.succeeded = ok.length ? ok : undefined;
      changed = true;
    }
    const bad = (u.failed ?? []).filter((x) => withFinalizer.has(x));
    if (bad.length !== (u.failed?.length ?? 0)) {
      job.status!.failed = (job.status!.failed ?? 0) + (u.failed!.length - bad.length);
      u.failed = bad.length ? bad : undefined;
      changed = true;
    }
    return changed;
  }

  private async updateStatus(job: Job): Promise<Job> {
    const out = await this.jobClient.updateStatus(job.metadata?.namespace, job);
    out.status ??= {};
    out.status.uncountedTerminatedPods ??= {};
    return out;
  }
}

/**
 * Builds the Job controller's definition; options exist so tests can shorten the Pod failure backoff (upstream's
 * 10 s base) without touching the manager-wide config.
 */
export function createJobController(opts: JobControllerOptions = {}): ControllerDefinition {
  return {
    name: 'job',
    setup(ctx: ControllerContext): Runnable {
      return new JobController(ctx, opts).runnable(ctx.config.workers);
    },
  };
}
