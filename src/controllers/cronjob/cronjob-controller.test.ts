import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob, CronJobSpec, Job } from 'kubernetes-types/batch/v1.js';
import type { ResourceClient } from '../../client/dynamic.js';
import type { Logger } from '../../client/log.js';
import { FakeClock } from '../../client/testing/fake-clock.js';
import { ControllerManager } from '../manager.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { createCronJobController, SCHEDULED_TIMESTAMP_ANNOTATION } from './cronjob-controller.js';

const NS = 'default';
const MIN = 60_000;
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let env: ControllerTestEnv;
let manager: ControllerManager;
let cronJobs: ResourceClient<CronJob>;
let jobs: ResourceClient<Job>;
// Ahead of real time, so every CronJob's creationTimestamp is in the fake past; 30 s into a minute.
const clock = new FakeClock(Math.floor(Date.now() / MIN) * MIN + 5 * MIN + 30_000);

before(async () => {
  env = await startControllerTestEnv();
  cronJobs = env.client.resource<CronJob>('batch/v1', 'CronJob');
  jobs = env.client.resource<Job>('batch/v1', 'Job');
  manager = new ControllerManager({ client: env.client, controllers: [createCronJobController()], leaderElection: false, clock, logger: () => quiet });
  manager.start();
});

after(async () => {
  await manager.stop();
  await env.close();
});

function cronJobOf(name: string, spec: Partial<CronJobSpec>): CronJob {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: { name, namespace: NS },
    spec: {
      schedule: '*/1 * * * *',
      ...spec,
      jobTemplate: { metadata: { labels: { app: name } }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
    },
  };
}

async function jobsOf(name: string): Promise<Job[]> {
  const items = (await jobs.list(NS, { labelSelector: `app=${name}` })).items.filter((j) => !j.metadata?.deletionTimestamp);
  return items.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}

async function waitJobs(name: string, n: number, what = `${n} jobs of ${name}`): Promise<Job[]> {
  return env.eventually(async () => {
    const js = await jobsOf(name);
    return js.length === n ? js : undefined;
  }, 8000, what);
}

async function eventsOf(name: string): Promise<string[]> {
  const evs = await env.client.resource<{ reason: string; message: string; involvedObject: { name: string; kind: string } }>('v1', 'Event').list(NS);
  return evs.items.filter((e) => e.involvedObject.kind === 'CronJob' && e.involvedObject.name === name).map((e) => `${e.reason}: ${e.message}`);
}

/** Plays the Job controller: marks a Job finished. */
async function finish(j: Job, type: 'Complete' | 'Failed', startMs: number): Promise<void> {
  const now = new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const fresh = await jobs.get(NS, j.metadata!.name!);
  fresh.status = {
    startTime: new Date(startMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(type === 'Complete' ? { completionTime: now, succeeded: 1 } : { failed: 1 }),
    conditions: [
      { type: type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget', status: 'True', lastTransitionTime: now, lastProbeTime: now },
      { type, status: 'True', lastTransitionTime: now, lastProbeTime: now },
    ],
  };
  await jobs.updateStatus(NS, fresh);
}

const minuteOf = (ms: number) => Math.floor(ms / MIN);

async function cleanup(name: string): Promise<void> {
  await cronJobs.delete(NS, name);
  for (const j of await jobsOf(name)) await jobs.delete(NS, j.metadata!.name!);
}

test('*/1 creates one Job per minute, named after the scheduled minute, owned and annotated', async () => {
  await cronJobs.create(NS, cronJobOf('every', {}));
  let js = await waitJobs('every', 1);
  const first = minuteOf(clock.now());
  assert.equal(js[0].metadata?.name, `every-${first}`);
  assert.equal(js[0].metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION], new Date(first * MIN).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const ref = js[0].metadata?.ownerReferences?.[0];
  assert.deepEqual([ref?.kind, ref?.name, ref?.controller, ref?.blockOwnerDeletion], ['CronJob', 'every', true, true]);
  clock.advance(MIN);
  js = await waitJobs('every', 2);
  clock.advance(MIN);
  js = await waitJobs('every', 3);
  assert.deepEqual(js.map((j) => j.metadata?.name), [first, first + 1, first + 2].map((m) => `every-${m}`));
  const cj = await env.eventually(async () => {
    const c = await cronJobs.get(NS, 'every');
    return c.status?.active?.length === 3 ? c : undefined;
  }, 5000, 'three active');
  assert.equal(cj.status?.lastScheduleTime, new Date((first + 2) * MIN).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  assert.deepEqual(cj.status?.active?.map((a) => [a.kind, a.apiVersion, a.name]), js.map((j) => ['Job', 'batch/v1', j.metadata?.name]));
  assert.ok((await eventsOf('every')).includes(`SuccessfulCreate: Created job every-${first}`));
  await cleanup('every');
});

test('Forbid skips a run while one is active; the missed run starts once it finishes', async () => {
  await cronJobs.create(NS, cronJobOf('forbid', { concurrencyPolicy: 'Forbid' }));
  const [j1] = await waitJobs('forbid', 1);
  clock.advance(MIN);
  await env.eventually(async () => (await eventsOf('forbid')).some((e) => e.startsWith('JobAlreadyActive')), 5000, 'JobAlreadyActive');
  assert.equal((await jobsOf('forbid')).length, 1);
  await finish(j1, 'Complete', clock.now() - MIN);
  const js = await waitJobs('forbid', 2);
  assert.equal(js[1].metadata?.name, `forbid-${minuteOf(clock.now())}`);
  const cj = await env.eventually(async () => {
    const c = await cronJobs.get(NS, 'forbid');
    return c.status?.lastSuccessfulTime && c.status.active?.length === 1 ? c : undefined;
  }, 5000, 'lastSuccessfulTime');
  assert.equal(cj.status?.active?.[0].name, js[1].metadata?.name);
  assert.ok((await eventsOf('forbid')).includes(`SawCompletedJob: Saw completed job: ${j1.metadata?.name}, condition: Complete`));
  await cleanup('forbid');
});

test('Replace deletes the running Job and starts the new one', async () => {
  await cronJobs.create(NS, cronJobOf('replace', { concurrencyPolicy: 'Replace' }));
  const [j1] = await waitJobs('replace', 1);
  clock.advance(MIN);
  const js = await env.eventually(async () => {
    const x = await jobsOf('replace');
    return x.length === 1 && x[0].metadata?.name !== j1.metadata?.name ? x : undefined;
  }, 5000, 'replacement');
  assert.equal(js[0].metadata?.name, `replace-${minuteOf(clock.now())}`);
  const cj = await env.eventually(async () => {
    const c = await cronJobs.get(NS, 'replace');
    return c.status?.active?.length === 1 && c.status.active[0].name === js[0].metadata?.name ? c : undefined;
  }, 5000, 'active list replaced');
  assert.ok(cj);
  assert.ok((await eventsOf('replace')).includes(`SuccessfulDelete: Deleted job ${j1.metadata?.name}`));
  await cleanup('replace');
});

test('history limits delete the oldest finished Jobs', async () => {
  await cronJobs.create(NS, cronJobOf('history', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }));
  await waitJobs('history', 1);
  clock.advance(MIN);
  await waitJobs('history', 2);
  clock.advance(MIN);
  await waitJobs('history', 3);
  clock.advance(MIN);
  const js = await waitJobs('history', 4);
  const t = clock.now();
  await finish(js[0], 'Complete', t - 4 * MIN);
  await finish(js[1], 'Complete', t - 3 * MIN);
  await finish(js[2], 'Failed', t - 2 * MIN);
  await finish(js[3], 'Failed', t - MIN);
  const left = await waitJobs('history', 2, 'two jobs kept');
  assert.deepEqual(left.map((j) => j.metadata?.name), [js[1].metadata?.name, js[3].metadata?.name]);
  const cj = await env.eventually(async () => {
    const c = await cronJobs.get(NS, 'history');
    return !c.status?.active?.length ? c : undefined;
  }, 5000, 'active emptied');
  assert.ok(cj.status?.lastSuccessfulTime);
  await cleanup('history');
});

test('suspend stops creation; resuming starts the missed run', async () => {
  await cronJobs.create(NS, cronJobOf('paused', { suspend: true }));
  clock.advance(MIN);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await jobsOf('paused')).length, 0);
  await cronJobs.patch(NS, 'paused', 'merge', { spec: { suspend: false } });
  const [j] = await waitJobs('paused', 1);
  assert.equal(j.metadata?.name, `paused-${minuteOf(clock.now())}`);
  await cleanup('paused');
});

test('startingDeadlineSeconds: a run 30 s late is skipped, the next one on time starts', async () => {
  await cronJobs.create(NS, cronJobOf('deadline', { startingDeadlineSeconds: 10 }));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await jobsOf('deadline')).length, 0);
  clock.advance(30_000 + 200);
  const [j] = await waitJobs('deadline', 1);
  assert.equal(j.metadata?.name, `deadline-${minuteOf(clock.now())}`);
  await cleanup('deadline');
});

test('timeZone is honoured for the schedule and the scheduled-timestamp annotation', async () => {
  await cronJobs.create(NS, cronJobOf('tokyo', { schedule: '0 9 * * *', timeZone: 'Asia/Tokyo' }));
  await new Promise((r) => setTimeout(r, 300));
  const before = (await jobsOf('tokyo')).length;
  const midnightUtc = (Math.floor(clock.now() / 86_400_000) + 1) * 86_400_000;
  clock.advance(midnightUtc - clock.now() + 30_000);
  const js = await waitJobs('tokyo', before + 1);
  const j = js.find((x) => x.metadata?.name === `tokyo-${midnightUtc / MIN}`);
  assert.ok(j, `job for 09:00 Tokyo: ${js.map((x) => x.metadata?.name)}`);
  assert.equal(j.metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION], `${new Date(midnightUtc).toISOString().slice(0, 10)}T09:00:00+09:00`);
  await cleanup('tokyo');
});
