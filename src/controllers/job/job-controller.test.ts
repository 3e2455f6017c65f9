import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job, JobSpec } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { createJobController, isJobFinished } from './job-controller.js';
import { exitCodeFromCommand, startFakeKubelet, type FakeKubelet, type PodBehaviour } from './testing.js';

const NS = 'default';
let env: ControllerTestEnv;
let kubelet: FakeKubelet;
let jobs: ResourceClient<Job>;
let pods: ResourceClient<Pod>;
/** Per-Job behaviour of the fake kubelet: gets the Pod and how many Pods of that Job it has seen before. */
const behaviours = new Map<string, (pod: Pod, nth: number) => PodBehaviour>();
const seen = new Map<string, number>();
const nthOf = new Map<string, number>();

before(async () => {
  env = await startControllerTestEnv();
  jobs = env.client.resource<Job>('batch/v1', 'Job');
  pods = env.client.resource<Pod>('v1', 'Pod');
  kubelet = startFakeKubelet(env.client, {
    namespace: NS,
    behaviour: (pod) => {
      const job = pod.metadata?.labels?.['batch.kubernetes.io/job-name'] ?? '';
      const uid = pod.metadata!.uid!;
      if (!nthOf.has(uid)) {
        nthOf.set(uid, seen.get(job) ?? 0);
        seen.set(job, (seen.get(job) ?? 0) + 1);
      }
      const b = behaviours.get(job);
      return b ? b(pod, nthOf.get(uid)!) : exitCodeFromCommand(pod);
    },
  });
  await env.run([createJobController({ backoffBaseMs: 20, backoffMaxMs: 100 })]);
});

after(async () => {
  await kubelet.stop();
  await env.close();
});

function jobOf(name: string, spec: Partial<JobSpec>, containerName = 'main'): Job {
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name, namespace: NS },
    spec: {
      ...spec,
      template: { spec: { ...(spec.template?.spec ?? {}), restartPolicy: 'Never', containers: [{ name: containerName, image: 'busybox' }] } },
    } as JobSpec,
  };
}

const condition = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type && c.status === 'True');

async function waitFinished(name: string, timeoutMs = 12_000): Promise<Job> {
  return env.eventually(async () => {
    const j = await jobs.get(NS, name);
    return isJobFinished(j) ? j : undefined;
  }, timeoutMs, `job ${name} to finish`);
}

async function podsOf(name: string): Promise<Pod[]> {
  return (await pods.list(NS, { labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
}

async function eventsOf(name: string): Promise<string[]> {
  const evs = await env.client.resource<{ reason: string; message: string; involvedObject: { name: string; kind: string } }>('v1', 'Event').list(NS);
  return evs.items.filter((e) => e.involvedObject.kind === 'Job' && e.involvedObject.name === name).map((e) => `${e.reason}: ${e.message}`);
}

interface Case {
  name: string;
  spec: Partial<JobSpec>;
  behaviour?: (pod: Pod, nth: number) => PodBehaviour;
  check(job: Job, jobPods: Pod[]): Promise<void> | void;
}

const cases: Case[] = [
  {
    name: 'nonindexed-3x2',
    spec: { completions: 3, parallelism: 2 },
    async check(j, ps) {
      assert.ok(condition(j, 'Complete'), 'Complete condition');
      assert.equal(condition(j, 'Complete')!.reason, 'CompletionsReached');
      assert.ok(condition(j, 'SuccessCriteriaMet'), 'SuccessCriteriaMet first, as 1.32 delays terminal conditions');
      assert.equal(j.status?.succeeded, 3);
      assert.equal(j.status?.active, 0);
      assert.ok(j.status?.completionTime && j.status.startTime);
      assert.deepEqual(j.status?.uncountedTerminatedPods ?? {}, {});
      assert.equal(ps.length, 3);
      for (const p of ps) {
        assert.ok(!(p.metadata?.finalizers ?? []).includes('batch.kubernetes.io/job-tracking'), 'finalizer removed once counted');
        assert.equal(p.metadata?.labels?.['batch.kubernetes.io/controller-uid'], j.metadata?.uid);
        assert.equal(p.metadata?.labels?.['controller-uid'], j.metadata?.uid);
        assert.equal(p.metadata?.labels?.['job-name'], 'nonindexed-3x2');
        const ref = p.metadata?.ownerReferences?.[0];
        assert.deepEqual([ref?.kind, ref?.controller, ref?.blockOwnerDeletion, ref?.uid], ['Job', true, true, j.metadata?.uid]);
        assert.match(p.metadata!.name!, /^nonindexed-3x2-[a-z0-9]{5}$/);
      }
      const evs = await env.eventually(async () => {
        const e = await eventsOf('nonindexed-3x2');
        return e.some((x) => x.startsWith('Completed: Job completed')) ? e : undefined;
      }, 5000, 'Completed event');
      assert.equal(evs.filter((e) => e.startsWith('SuccessfulCreate: Created pod: nonindexed-3x2-')).length >= 1, true);
    },
  },
  {
    name: 'indexed-3',
    spec: { completions: 3, parallelism: 3, completionMode: 'Indexed', template: { spec: { subdomain: 'svc' } } as JobSpec['template'] },
    check(j, ps) {
      assert.ok(condition(j, 'Complete'));
      assert.equal(j.status?.completedIndexes, '0-2');
      assert.equal(j.status?.succeeded, 3);
      const indexes = ps.map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']).sort();
      assert.deepEqual(indexes, ['0', '1', '2']);
      for (const p of ps) {
        const ix = p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'];
        assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], ix);
        assert.equal(p.spec?.hostname, `indexed-3-${ix}`);
        assert.equal(p.spec?.subdomain, 'svc');
        assert.match(p.metadata!.name!, new RegExp(`^indexed-3-${ix}-[a-z0-9]{5}$`));
        const env = p.spec!.containers[0].env?.find((e) => e.name === 'JOB_COMPLETION_INDEX');
        assert.equal(env?.valueFrom?.fieldRef?.fieldPath, "metadata.annotations['batch.kubernetes.io/job-completion-index']");
      }
    },
  },
  {
    name: 'backoff-limit',
    spec: { completions: 1, backoffLimit: 2 },
    behaviour: () => ({ exitCode: 1 }),
    async check(j, ps) {
      const failed = condition(j, 'Failed');
      assert.equal(failed?.reason, 'BackoffLimitExceeded');
      assert.equal(failed?.message, 'Job has reached the specified backoff limit');
      assert.equal(condition(j, 'FailureTarget')?.reason, 'BackoffLimitExceeded');
      assert.equal(j.status?.failed, 3);
      assert.equal(j.status?.succeeded ?? 0, 0);
      assert.equal(ps.length, 3);
      await env.eventually(async () => (await eventsOf('backoff-limit')).includes('BackoffLimitExceeded: Job has reached the specified backoff limit'), 5000, 'event');
    },
  },
  {
    name: 'pfp-failjob',
    spec: { completions: 2, parallelism: 1, backoffLimit: 6, podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] } },
    behaviour: (_p, nth) => ({ exitCode: nth === 0 ? 3 : 42 }),
    check(j) {
      const failed = condition(j, 'Failed');
      assert.equal(failed?.reason, 'PodFailurePolicy');
      assert.match(failed!.message!, /^Container main for pod default\/pfp-failjob-[a-z0-9]{5} failed with exit code 42 matching FailJob rule at index 0$/);
      assert.equal(j.status?.failed, 2, 'the exit-3 failure counted, then the exit-42 one');
    },
  },
  {
    name: 'pfp-ignore-disruption',
    spec: { completions: 1, backoffLimit: 0, podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] } },
    behaviour: (_p, nth) => (nth < 2 ? { exitCode: 1, conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }] } : { exitCode: 0 }),
    check(j, ps) {
      assert.ok(condition(j, 'Complete'), 'ignored failures do not count against backoffLimit 0');
      assert.equal(j.status?.failed ?? 0, 0);
      assert.equal(j.status?.succeeded, 1);
      assert.equal(ps.length, 3);
    },
  },
  {
    name: 'deadline',
    spec: { completions: 1, activeDeadlineSeconds: 1 },
    behaviour: () => ({ hold: true }),
    async check(j) {
      assert.equal(condition(j, 'Failed')?.reason, 'DeadlineExceeded');
      assert.equal(condition(j, 'Failed')?.message, 'Job was active longer than specified deadline');
      assert.equal(j.status?.active, 0);
      assert.equal(j.status?.failed, 1, 'the killed Pod counts as failed');
      await env.eventually(async () => (await podsOf('deadline')).length === 0, 5000, 'pods gone');
    },
  },
  {
    name: 'per-index',
    spec: { completions: 3, parallelism: 3, completionMode: 'Indexed', backoffLimitPerIndex: 1 },
    behaviour: (p) => ({ exitCode: p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '1' ? 1 : 0 }),
    check(j, ps) {
      assert.equal(condition(j, 'Failed')?.reason, 'FailedIndexes');
      assert.equal(condition(j, 'Failed')?.message, 'Job has failed indexes');
      assert.equal(j.status?.failedIndexes, '1');
      assert.equal(j.status?.completedIndexes, '0,2');
      assert.equal(j.status?.failed, 2);
      const idx1 = ps.filter((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '1');
      assert.deepEqual(idx1.map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count']).sort(), ['0', '1']);
    },
  },
  {
    name: 'max-failed-indexes',
    spec: { completions: 4, parallelism: 1, completionMode: 'Indexed', backoffLimitPerIndex: 0, maxFailedIndexes: 0 },
    behaviour: () => ({ exitCode: 1 }),
    check(j) {
      assert.equal(condition(j, 'Failed')?.reason, 'MaxFailedIndexesExceeded');
      assert.equal(j.status?.failedIndexes, '0');
    },
  },
  {
    name: 'success-policy',
    spec: {
      completions: 3, parallelism: 3, completionMode: 'Indexed',
      successPolicy: { rules: [{ succeededIndexes: '0', succeededCount: 1 }] },
    },
    behaviour: (p) => (p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === '0' ? { exitCode: 0 } : { hold: true }),
    check(j) {
      assert.equal(condition(j, 'SuccessCriteriaMet')?.reason, 'SuccessPolicy');
      assert.equal(condition(j, 'Complete')?.message, 'Matched rules at index 0');
      assert.equal(j.status?.completedIndexes, '0');
      assert.equal(j.status?.active, 0);
    },
  },
];

describe('job controller', { concurrency: true }, () => {
  for (const c of cases) {
    test(c.name, async () => {
      if (c.behaviour) behaviours.set(c.name, c.behaviour);
      await jobs.create(NS, jobOf(c.name, c.spec));
      const j = await waitFinished(c.name);
      await c.check(j, await podsOf(c.name));
    });
  }

  test('suspend deletes active pods; resume restarts them and resets startTime', async () => {
    let hold = true;
    behaviours.set('suspended', () => (hold ? { hold: true } : { exitCode: 0 }));
    await jobs.create(NS, jobOf('suspended', { completions: 2, parallelism: 2 }));
    await env.eventually(async () => (await jobs.get(NS, 'suspended')).status?.ready === 2, 8000, 'two ready pods');
    const started = (await jobs.get(NS, 'suspended')).status!.startTime!;
    await jobs.patch(NS, 'suspended', 'merge', { spec: { suspend: true } });
    const susp = await env.eventually(async () => {
      const j = await jobs.get(NS, 'suspended');
      return condition(j, 'Suspended') && j.status?.active === 0 ? j : undefined;
    }, 8000, 'suspended');
    assert.equal(condition(susp, 'Suspended')?.reason, 'JobSuspended');
    await env.eventually(async () => (await podsOf('suspended')).length === 0, 5000, 'pods deleted');
    assert.equal(susp.status?.failed ?? 0, 0, 'pods deleted by suspension are not failures');
    await new Promise((r) => setTimeout(r, 1100));
    hold = false;
    await jobs.patch(NS, 'suspended', 'merge', { spec: { suspend: false } });
    const done = await waitFinished('suspended');
    assert.ok(condition(done, 'Complete'));
    const sc = done.status?.conditions?.find((c) => c.type === 'Suspended');
    assert.deepEqual([sc?.status, sc?.reason], ['False', 'JobResumed']);
    assert.notEqual(done.status?.startTime, started, 'startTime reset on resume');
    const evs = await env.eventually(async () => {
      const e = await eventsOf('suspended');
      return e.includes('Resumed: Job resumed') ? e : undefined;
    }, 5000, 'Resumed event');
    assert.ok(evs.includes('Suspended: Job suspended'));
    assert.ok(evs.some((e) => e.startsWith('SuccessfulDelete: Deleted pod: suspended-')));
  });

  test('a Job created suspended creates no pods until resumed', async () => {
    await jobs.create(NS, jobOf('created-suspended', { completions: 1, suspend: true }));
    const j = await env.eventually(async () => {
      const x = await jobs.get(NS, 'created-suspended');
      return condition(x, 'Suspended') ? x : undefined;
    }, 8000, 'Suspended condition');
    assert.equal(j.status?.startTime, undefined);
    assert.equal((await podsOf('created-suspended')).length, 0);
    await jobs.patch(NS, 'created-suspended', 'merge', { spec: { suspend: false } });
    assert.ok(condition(await waitFinished('created-suspended'), 'Complete'));
  });

  test('a running pod deleted by a user counts as failed and is replaced', async () => {
    let first = true;
    behaviours.set('deleted-pod', () => (first ? { hold: true } : { exitCode: 0 }));
    await jobs.create(NS, jobOf('deleted-pod', { completions: 1 }));
    const p = await env.eventually(async () => (await podsOf('deleted-pod')).find((x) => x.status?.phase === 'Running'), 8000, 'running pod');
    first = false;
    await pods.delete(NS, p.metadata!.name!);
    const j = await waitFinished('deleted-pod');
    assert.ok(condition(j, 'Complete'));
    assert.equal(j.status?.failed, 1);
    assert.equal(j.status?.succeeded, 1);
  });
});
