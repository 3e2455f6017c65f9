/**
 * The CronJob controller (kube-controller-manager `cronjob`, pkg/controller/cronjob v2): creates a Job from
 * `spec.jobTemplate` at each scheduled time, named `<cronjob>-<scheduled time in minutes since the epoch>` (the
 * name doubles as a lock against creating the same run twice), tracks running Jobs in `status.active`, records
 * `lastScheduleTime`/`lastSuccessfulTime`, applies concurrencyPolicy (Allow/Forbid/Replace),
 * startingDeadlineSeconds and suspend, deletes finished Jobs beyond the history limits, and requeues itself for the
 * next scheduled time. "Now" comes from the injected clock so tests can drive time.
 */
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../../client/clock.js';
import { controllerFor, type Controller, type ReconcileRequest } from '../../client/controller.js';
import type { ResourceClient } from '../../client/dynamic.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { isAlreadyExists, isNotFound } from '../../client/rest.js';
import type { ControllerContext, ControllerDefinition, Runnable } from '../types.js';
import { parseSchedule, type Schedule } from './schedule.js';
import { rfc3339 } from '../../api/time.js';

/** Annotation with the run's scheduled time (RFC 3339 in the CronJob's time zone), as upstream sets it. */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Upstream `nextScheduleDelta`: requeue a little after the scheduled time so it has certainly passed. */
const NEXT_SCHEDULE_DELTA_MS = 100;


/** `t` as RFC 3339 with the UTC offset of `tz` at that instant (Go `t.In(loc).Format(time.RFC3339)`). */
export function formatInZone(ms: number, tz: string | undefined | null): string {
  if (!tz || tz === 'UTC') return rfc3339(ms);
  const parts: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  for (const p of f.formatToParts(ms)) parts[p.type] = p.value;
  const hour = parts.hour === '24' ? '00' : parts.hour;
  const local = `${parts.year}-${parts.month}-${parts.day}T${hour}:${parts.minute}:${parts.second}`;
  const offsetMin = Math.round((Date.parse(`${local}Z`) - Math.floor(ms / 1000) * 1000) / 60_000);
  if (offsetMin === 0) return `${local}Z`;
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** The finished condition type of a Job (Complete or Failed), if any (upstream `getFinishedStatus`). */
function finishedCondition(j: Job): string | undefined {
  return (j.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;
}

/**
 * Upstream `mostRecentScheduleTime`: the latest scheduled time not after `now` since the last schedule (or
 * creation, or now − startingDeadlineSeconds), and roughly how many were missed.
 */
function mostRecentScheduleTime(cj: CronJob, now: number, sched: Schedule, withDeadline: boolean): { earliest: number; mostRecent?: number; missed: number } {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? rfc3339(now));
  const sds = cj.spec?.startingDeadlineSeconds;
  if (withDeadline && sds !== undefined && sds !== null) {
    const deadline = now - sds * 1000;
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = sched.next(earliest);
  if (t1 === undefined || now < t1) return { earliest, missed: 0 };
  const t2 = sched.next(t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 1 };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error('time difference between two schedules is less than 1 second');
  const missed = Math.floor((now - t1) / 1000 / between) + 1;
  let mostRecent: number | undefined;
  // Back up one interval and walk forward, so irregular schedules (e.g. `30 6-16/4 * * 1-5`) land exactly.
  for (let t = sched.next(t1 + (missed - 2) * between * 1000); t !== undefined && t <= now; t = sched.next(t)) mostRecent = t;
  return { earliest, mostRecent, missed };
}

class CronJobController {
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly cjClient: ResourceClient<CronJob>;
  private readonly jobClient: ResourceClient<Job>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly timers = new Map<string, Timer>();
  private controller?: Controller;

  constructor(private readonly ctx: ControllerContext) {
    this.cronJobs = ctx.informers.for<CronJob>('batch/v1', 'CronJob');
    this.jobs = ctx.informers.for<Job>('batch/v1', 'Job');
    this.cjClient = ctx.client.resource<CronJob>('batch/v1', 'CronJob');
    this.jobClient = ctx.client.resource<Job>('batch/v1', 'Job');
    this.recorder = ctx.recorder('cronjob-controller');
    this.clock = ctx.clock;
  }

  runnable(): Runnable {
    const c = controllerFor(this.cronJobs, { name: 'cronjob', workers: this.ctx.config.workers, logger: this.ctx.logger('cronjob-controller') })
      .owns(this.jobs)
      .complete({ reconcile: (r) => this.sync(r) });
    this.controller = c;
    return {
      start: async () => {
        await c.start();
      },
      stop: async () => {
        for (const t of this.timers.values()) t.cancel();
        this.timers.clear();
        await c.stop();
      },
    };
  }

  /** Requeue at the next schedule on the injected clock (a fake clock in tests fires it when advanced). */
  private requeueAfter(req: ReconcileRequest, ms: number): void {
    const key = `${req.namespace}/${req.name}`;
    this.timers.get(key)?.cancel();
    this.timers.set(key, this.clock.setTimer(() => {
      this.timers.delete(key);
      this.controller?.enqueue(req);
    }, Math.max(0, ms)));
  }

  private async sync(req: ReconcileRequest): Promise<void> {
    const shared = this.cronJobs.lister.get(req.namespace, req.name);
    if (!shared) {
      this.timers.get(`${req.namespace}/${req.name}`)?.cancel();
      return;
    }
    const cj: CronJob = structuredClone(shared);
    cj.status ??= {};
    const owned = this.jobs.lister.list(req.namespace).filter((j) =>
      (j.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === cj.metadata?.uid));
    let update = false;
    const next = await this.syncCronJob(cj, owned);
    if (next.update) update = true;
    if (await this.cleanupFinishedJobs(cj, owned)) update = true;
    if (update) {
      if (!cj.status.active?.length) delete cj.status.active;
      await this.cjClient.updateStatus(cj.metadata?.namespace, cj);
    }
    if (next.requeueMs !== undefined) this.requeueAfter(req, next.requeueMs);
  }

  private removeActive(cj: CronJob, uid: string | undefined): void {
    cj.status!.active = (cj.status!.active ?? []).filter((a) => a.uid !== uid);
  }

  /** Upstream `syncCronJob`: returns whether status changed and when to look again. */
  private async syncCronJob(cj: CronJob, owned: Job[]): Promise<{ update: boolean; requeueMs?: number }> {
    let update = false;
    const status = cj.status!;
    const children = new Set<string>();
    for (const j of owned) {
      const uid = j.metadata?.uid ?? '';
      children.add(uid);
      const found = (status.active ?? []).some((a) => a.uid === uid);
      const cond = finishedCondition(j);
      if (!found && !cond) {
        this.recorder.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata?.name}`);
      } else if (found && cond) {
        this.removeActive(cj, uid);
        this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata?.name}, condition: ${cond}`);
        update = true;
      } else if (cond === 'Complete') {
        const done = j.status?.completionTime;
        if (done && (!status.lastSuccessfulTime || Date.parse(done) > Date.parse(status.lastSuccessfulTime))) {
          status.lastSuccessfulTime = done;
          update = true;
        }
      }
    }
    // Active entries whose Job vanished (deleted by hand or by the garbage collector).
    for (const a of [...(status.active ?? [])]) {
      if (children.has(a.uid ?? '')) continue;
      try {
        const j = await this.jobClient.get(a.namespace ?? cj.metadata?.namespace, a.name!);
        if (j.metadata?.uid === a.uid) continue;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${a.name}`);
      this.removeActive(cj, a.uid);
      update = true;
    }
    if (cj.metadata?.deletionTimestamp) return { update };
    const tz = cj.spec?.timeZone;
    let sched: Schedule;
    try {
      sched = parseSchedule(cj.spec!.schedule, tz);
    } catch (err) {
      const msg = (err as Error).message;
      if (tz && /time zone/.test(msg)) this.recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(tz)}: ${msg}`);
      else this.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)} : ${msg}`);
      return { update };
    }
    if (cj.spec?.suspend) return { update };
    const now = this.clock.now();
    let mr: ReturnType<typeof mostRecentScheduleTime>;
    try {
      mr = mostRecentScheduleTime(cj, now, sched, true);
    } catch (err) {
      this.recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${(err as Error).message}`);
      return { update };
    }
    if (mr.missed > 100) {
      this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', `too many missed start times: ${mr.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    }
    const scheduled = mr.mostRecent;
    if (scheduled === undefined || scheduled > now) return { update, requeueMs: this.nextScheduleDelay(cj, now, sched) };
    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace('GMT', '+0000')}`);
      return { update, requeueMs: this.nextScheduleDelay(cj, now, sched) };
    }
    const jobName = `${cj.metadata!.name}-${Math.floor(scheduled / 60_000)}`;
    if ((status.active ?? []).some((a) => a.name === jobName) || (status.lastScheduleTime && Date.parse(status.lastScheduleTime) === scheduled)) {
      return { update, requeueMs: this.nextScheduleDelay(cj, now, sched) };
    }
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (status.active ?? []).length > 0) {
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return { update, requeueMs: this.nextScheduleDelay(cj, now, sched) };
    }
    if (policy === 'Replace') {
      for (const a of [...(status.active ?? [])]) {
        let j: Job;
        try {
          j = await this.jobClient.get(a.namespace ?? cj.metadata?.namespace, a.name!);
        } catch (err) {
          this.recorder.event(cj, 'Warning', 'FailedGet', `Get job: ${(err as Error).message}`);
          throw err;
        }
        await this.deleteJob(cj, j);
        update = true;
      }
    }
    const tmpl = cj.spec!.jobTemplate;
    const job: Job = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: {
        name: jobName,
        namespace: cj.metadata?.namespace,
        labels: { ...(tmpl.metadata?.labels ?? {}) },
        annotations: { ...(tmpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(scheduled, tz) },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(tmpl.spec),
    };
    let created: Job;
    try {
      created = await this.jobClient.create(cj.metadata?.namespace, job);
      this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name}`);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
        throw err;
      }
      // Created by an earlier sync whose status write was lost: adopt it only if it is ours and untracked.
      created = await this.jobClient.get(cj.metadata?.namespace, jobName);
      const ours = (created.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === cj.metadata?.uid);
      if (!ours || (status.active ?? []).some((a) => a.uid === created.metadata?.uid)) return { update };
    }
    const ref: ObjectReference = {
      kind: 'Job', namespace: created.metadata?.namespace, name: created.metadata?.name, uid: created.metadata?.uid,
      apiVersion: 'batch/v1', resourceVersion: created.metadata?.resourceVersion,
    };
    status.active = [...(status.active ?? []), ref];
    status.lastScheduleTime = rfc3339(scheduled);
    return { update: true, requeueMs: this.nextScheduleDelay(cj, now, sched) };
  }

  /** Upstream `nextScheduleTimeDuration`: time until the schedule after the most recent one, plus 100 ms. */
  private nextScheduleDelay(cj: CronJob, now: number, sched: Schedule): number | undefined {
    let base: number;
    try {
      const mr = mostRecentScheduleTime(cj, now, sched, false);
      base = mr.mostRecent ?? mr.earliest;
    } catch {
      base = now;
    }
    const t = sched.next(base);
    return t === undefined ? undefined : t + NEXT_SCHEDULE_DELTA_MS - now;
  }

  private async deleteJob(cj: CronJob, j: Job): Promise<void> {
    try {
      await this.jobClient.delete(j.metadata?.namespace, j.metadata!.name!, { propagationPolicy: 'Background' });
    } catch (err) {
      if (!isNotFound(err)) {
        this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(err as Error).message}`);
        throw err;
      }
    }
    this.removeActive(cj, j.metadata?.uid);
    this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata?.name}`);
  }

  /** Upstream `cleanupFinishedJobs`: keep only the newest successful/failed Jobs within the history limits. */
  private async cleanupFinishedJobs(cj: CronJob, owned: Job[]): Promise<boolean> {
    const sl = cj.spec?.successfulJobsHistoryLimit;
    const fl = cj.spec?.failedJobsHistoryLimit;
    if ((sl === undefined || sl === null) && (fl === undefined || fl === null)) return false;
    if (cj.metadata?.deletionTimestamp) return false;
    let changed = false;
    const prune = async (list: Job[], limit: number | undefined | null) => {
      if (limit === undefined || limit === null || list.length <= limit) return;
      const start = (j: Job) => (j.status?.startTime ? Date.parse(j.status.startTime) : Infinity);
      const sorted = [...list].sort((a, b) => start(a) - start(b) || (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
      for (const j of sorted.slice(0, list.length - limit)) {
        await this.deleteJob(cj, j);
        changed = true;
      }
    };
    await prune(owned.filter((j) => finishedCondition(j) === 'Complete'), sl);
    await prune(owned.filter((j) => finishedCondition(j) === 'Failed'), fl);
    return changed;
  }
}

/** The `cronjob` controller definition. */
export function createCronJobController(): ControllerDefinition {
  return {
    name: 'cronjob',
    setup(ctx: ControllerContext): Runnable {
      return new CronJobController(ctx).runnable();
    },
  };
}
