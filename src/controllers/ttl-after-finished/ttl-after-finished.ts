/**
 * The TTL-after-finished controller (kube-controller-manager `pkg/controller/ttlafterfinished`): a Job with
 * `spec.ttlSecondsAfterFinished` that has finished (a Complete or Failed condition with status True) is deleted that
 * many seconds after it finished — the condition's `lastTransitionTime`, as upstream's `jobFinishTime`. Until then it
 * is re-queued for exactly the remaining time. Before deleting, the Job is re-read live and the TTL checked again
 * (it may have been changed or removed), and the delete carries the Job's UID as a precondition and Foreground
 * propagation, as upstream does, so its pods go first.
 */
import type { Job } from 'kubernetes-types/batch/v1.js';
import { controllerFor } from '../../client/controller.js';
import type { MetaObject } from '../../client/cache.js';
import type { Logger } from '../../client/log.js';
import { isNotFound } from '../../client/rest.js';
import type { ControllerContext, Runnable } from '../types.js';

/** The controller's name in kube-controller-manager (`--controllers=ttl-after-finished`). */
export const NAME = 'ttl-after-finished';

type JobObj = Job & MetaObject;

/** Upstream `IsJobFinished`: a Complete or Failed condition with status True. */
export function isJobFinished(job: Job): boolean {
  return (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** Upstream `needsCleanup`: a TTL is set and the Job finished. */
export function needsCleanup(job: Job): boolean {
  return job.spec?.ttlSecondsAfterFinished !== undefined && job.spec.ttlSecondsAfterFinished !== null && isJobFinished(job);
}

/** Upstream `jobFinishTime`: the lastTransitionTime of the finishing condition (an error when it has none). */
export function jobFinishTime(job: Job): number {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') {
      const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
      if (Number.isNaN(t)) throw new Error(`unable to find the time when the Job ${job.metadata?.namespace}/${job.metadata?.name} finished`);
      return t;
    }
  }
  throw new Error(`unable to find the status of the finished Job ${job.metadata?.namespace}/${job.metadata?.name}`);
}

/**
 * Upstream `processTTL`: undefined when the Job needs nothing (being deleted, no TTL, not finished), otherwise the
 * milliseconds left before it expires (≤ 0: expired).
 */
export function timeLeft(job: Job, now: number, log?: Logger): number | undefined {
  if (job.metadata?.deletionTimestamp || !needsCleanup(job)) return undefined;
  const finishAt = jobFinishTime(job);
  if (finishAt > now) log?.info({ job: `${job.metadata?.namespace}/${job.metadata?.name}` }, 'Warning: Found Job finished in the future. This is likely due to time skew in the cluster. Job cleanup will be deferred.');
  return finishAt + job.spec!.ttlSecondsAfterFinished! * 1000 - now;
}

/** Builds the controller on the shared Job informer. */
export function newTTLAfterFinishedController(ctx: ControllerContext): Runnable {
  const log = ctx.logger(NAME);
  const jobs = ctx.informers.for<JobObj>('batch/v1', 'Job');
  const jobClient = ctx.client.resource<Job>('batch/v1', 'Job');
  return controllerFor(jobs, { name: NAME, workers: ctx.config.workers, logger: log, clock: ctx.clock }).complete({
    async reconcile(req) {
      const cached = jobs.lister.get(req.namespace, req.name);
      if (!cached) return;
      const left = timeLeft(cached, ctx.clock.now(), log);
      if (left === undefined) return;
      if (left > 0) return { requeueAfter: left };
      // The cached TTL may be stale: re-read the Job and check again before deleting it.
      let fresh: Job;
      try {
        fresh = await jobClient.get(req.namespace, req.name);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      const freshLeft = timeLeft(fresh, ctx.clock.now(), log);
      if (freshLeft === undefined) return;
      if (freshLeft > 0) return { requeueAfter: freshLeft };
      log.info({ job: `${req.namespace}/${req.name}` }, 'Cleaning up Job');
      try {
        await jobClient.delete(req.namespace, req.name, { propagationPolicy: 'Foreground', preconditions: { uid: fresh.metadata!.uid! } });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
    },
  });
}
