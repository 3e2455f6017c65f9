/**
 * Two `skiff controller-manager` processes against one `skiff server`: only the Lease holder acts; kill -9 it and
 * the standby takes over within the lease duration.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import { cleanup, NO_KUBECTL, SKIFF_BIN, startServer, TestServer } from './harness.js';

let s: TestServer;
const procs: ChildProcess[] = [];
before(async () => { s = await startServer({ extraArgs: ['--disable-controller-manager'] }); });
after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await cleanup(s);
});

function startManager(): Promise<{ proc: ChildProcess; identity: string }> {
  const proc = spawn(process.execPath, [SKIFF_BIN, 'controller-manager', '--kubeconfig', s.kubeconfig, '--lease-duration', '3', '--controllers', 'serviceaccount'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKIFF_LOG_LEVEL: 'warn' },
  });
  procs.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /identity (\S+)\)/.exec(out);
      if (m) resolve({ proc, identity: m[1] });
    });
    proc.on('exit', (c) => reject(new Error(`controller-manager exited ${c}: ${out}`)));
  });
}

async function holder(): Promise<string> {
  const r = await s.kubectl(['get', 'lease', '-n', 'kube-system', 'skiff-controller-manager', '-o', 'jsonpath={.spec.holderIdentity}']);
  return r.code === 0 ? r.stdout.trim() : '';
}

async function eventually<T>(fn: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('only the leader acts; kill -9 the leader and the standby takes over within the lease duration', { skip: NO_KUBECTL }, async () => {
  const a = await startManager();
  const b = await startManager();
  const first = await eventually(async () => { const h = await holder(); return h && [a.identity, b.identity].includes(h) ? h : false; }, 10_000, 'a leader');
  await s.k(['create', 'namespace', 'led-1']);
  await eventually(async () => (await s.kubectl(['get', 'sa', 'default', '-n', 'led-1'])).code === 0, 10_000, 'default SA from the leader');

  const leader = first === a.identity ? a : b;
  const standby = first === a.identity ? b : a;
  leader.proc.kill('SIGKILL');
  const killedAt = Date.now();
  await eventually(async () => (await holder()) === standby.identity, 12_000, 'standby to take the lease');
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs < 3000 + 3000, `takeover took ${tookMs} ms (lease 3 s)`);
  await s.k(['create', 'namespace', 'led-2']);
  await eventually(async () => (await s.kubectl(['get', 'sa', 'default', '-n', 'led-2'])).code === 0, 10_000, 'default SA from the new leader');
});
