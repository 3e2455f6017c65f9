import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import { isNotFound } from '../../client/rest.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition as gc } from '../garbage-collector/index.js';
import { definition, needsCleanup, timeLeft } from './index.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function job(opts: { ttl?: number; cond?: 'Complete' | 'Failed' | 'Suspended'; status?: 'True' | 'False'; at?: string; deleting?: boolean }): Job {
  return {
    metadata: { name: 'j', namespace: 'default', deletionTimestamp: opts.deleting ? '2025-01-01T00:00:00Z' : undefined },
    spec: { ttlSecondsAfterFinished: opts.ttl, template: {} },
    status: opts.cond ? { conditions: [{ type: opts.cond, status: opts.status ?? 'True', lastTransitionTime: opts.at ?? '2025-01-01T00:00:00Z' }] } : {},
  };
}

describe('ttl-after-finished: timeLeft', () => {
  const cases: Array<{ name: string; job: Job; now: number; want: number | undefined | 'throws' }> = [
    { name: 'no TTL', job: job({ cond: 'Complete' }), now: T0, want: undefined },
    { name: 'not finished', job: job({ ttl: 10 }), now: T0, want: undefined },
    { name: 'condition not True', job: job({ ttl: 10, cond: 'Complete', status: 'False' }), now: T0, want: undefined },
    { name: 'other condition', job: job({ ttl: 10, cond: 'Suspended' }), now: T0, want: undefined },
    { name: 'being deleted', job: job({ ttl: 0, cond: 'Complete', deleting: true }), now: T0, want: undefined },
    { name: 'complete, 10 s TTL, 4 s later', job: job({ ttl: 10, cond: 'Complete' }), now: T0 + 4000, want: 6000 },
    { name: 'failed, expired', job: job({ ttl: 10, cond: 'Failed' }), now: T0 + 12_000, want: -2000 },
    { name: 'TTL 0 expires at once', job: job({ ttl: 0, cond: 'Complete' }), now: T0, want: 0 },
    { name: 'finished in the future (clock skew) waits', job: job({ ttl: 1, cond: 'Complete', at: '2025-01-01T00:01:00Z' }), now: T0, want: 61_000 },
    { name: 'finished without a time is an error', job: job({ ttl: 1, cond: 'Complete', at: '' }), now: T0, want: 'throws' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.want === 'throws') assert.throws(() => timeLeft(c.job, c.now), /unable to find the time/);
      else assert.equal(timeLeft(c.job, c.now), c.want);
    });
  }
  test('needsCleanup', () => {
    assert.equal(needsCleanup(job({ ttl: 5, cond: 'Failed' })), true);
    assert.equal(needsCleanup(job({ cond: 'Failed' })), false);
  });
});

describe('ttl-after-finished against an apiserver', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTestEnv();
    env.server.core.opts.garbageCollectorEnabled = () => true;
    await env.run([definition, gc]);
  });
  after(async () => { await env.close(); });

  const jobs = () => env.client.resource<Job>('batch/v1', 'Job');
  const spec = (ttl?: number) => ({
    ttlSecondsAfterFinished: ttl,
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
  });
  async function finish(name: string, type: 'Complete' | 'Failed'): Promise<void> {
    const j = await jobs().get('default', name);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const conditions = type === 'Complete'
      ? [{ type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now }, { type: 'Complete', status: 'True', lastTransitionTime: now }]
      : [{ type: 'FailureTarget', status: 'True', lastTransitionTime: now }, { type: 'Failed', status: 'True', lastTransitionTime: now }];
    await jobs().updateStatus('default', { ...j, status: { ...j.status, startTime: now, completionTime: type === 'Complete' ? now : undefined, succeeded: type === 'Complete' ? 1 : 0, failed: type === 'Failed' ? 1 : 0, conditions } });
  }
  async function gone(name: string): Promise<boolean> {
    try {
      await jobs().get('default', name);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  }

  test('a finished Job with ttlSecondsAfterFinished: 1 is deleted about a second later', async () => {
    await jobs().create('default', { metadata: { name: 'short' }, spec: spec(1) });
    await jobs().create('default', { metadata: { name: 'no-ttl' }, spec: spec() });
    await jobs().create('default', { metadata: { name: 'running' }, spec: spec(0) });
    await finish('short', 'Complete');
    await finish('no-ttl', 'Complete');
    const t0 = Date.now();
    await env.eventually(() => gone('short'), 5_000, 'job deleted');
    assert.ok(Date.now() - t0 < 3_000);
    await jobs().get('default', 'no-ttl');
    await jobs().get('default', 'running');
  });

  test('a raised TTL is re-checked before deleting', async () => {
    await jobs().create('default', { metadata: { name: 'extended' }, spec: spec(1) });
    await finish('extended', 'Failed');
    await jobs().patch('default', 'extended', 'merge', { spec: { ttlSecondsAfterFinished: 3600 } });
    await new Promise((r) => setTimeout(r, 2_200));
    await jobs().get('default', 'extended');
  });
});
