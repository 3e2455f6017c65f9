/**
 * `skiff agent --server URL --token T` joins a cluster: the token pins the server's CA (a wrong hash is refused),
 * the node registers and turns Ready, and pods scheduled to it run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, NO_KUBECTL, SKIFF_BIN, startServer, TestServer } from './harness.js';

let s: TestServer;
const procs: ChildProcess[] = [];
const dirs: string[] = [];
before(async () => { s = await startServer(); });
after(async () => {
  for (const p of procs) if (p.exitCode === null) { p.kill('SIGKILL'); }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await cleanup(s);
});

function agent(token: string, name: string): { proc: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-agent-'));
  dirs.push(dir);
  const proc = spawn(process.execPath, [SKIFF_BIN, 'agent', '--server', s.url, '--token', token, '--node-name', name, '--data-dir', dir, '--node-labels', 'skiff.dev/pool=workers', '--pod-network=none'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKIFF_LOG_LEVEL: 'warn' } });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  return { proc, done: new Promise((r) => proc.on('exit', (code) => r({ code, out }))) };
}

test('an agent joins with the token; a token with the wrong CA hash is refused', { skip: NO_KUBECTL }, async () => {
  const token = readFileSync(join(s.dataDir, 'tls', 'node-token'), 'utf8').trim();
  assert.match(token, /^SKIFF10[0-9a-f]{64}::[0-9a-f]+$/);
  // Change the hash's first digit to a DIFFERENT one (a fixed '0' left the token intact whenever the hash began with
  // '0', and the "evil" agent then joined and never exited).
  const wrong = token[7] === '0' ? '1' : '0';
  assert.notEqual(wrong, token[7]);
  const bad = agent(`SKIFF10${wrong}${token.slice(8)}`, 'evil');
  const r = await bad.done;
  assert.equal(r.code, 1);
  assert.match(r.out, /does not match the token's hash/);

  const good = agent(token, 'worker-1');
  const end = Date.now() + 20_000;
  let ready = '';
  while (Date.now() < end) {
    const g = await s.kubectl(['get', 'node', 'worker-1', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    ready = g.stdout.trim();
    if (ready === 'True') break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(ready, 'True', 'node worker-1 Ready');
  assert.equal((await s.k(['get', 'node', 'worker-1', '-o', 'jsonpath={.metadata.labels.skiff\\.dev/pool}'])).trim(), 'workers');
  // A pod scheduled onto it runs to completion.
  await s.k(['run', 'on-worker', '--image=busybox', '--restart=Never', '--command', '--', 'sh', '-c', 'exit 0']);
  let phase = '';
  while (Date.now() < end + 20_000) {
    phase = (await s.k(['get', 'pod', 'on-worker', '-o', 'jsonpath={.status.phase}'])).trim();
    if (phase === 'Succeeded') break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(phase, 'Succeeded');
  assert.equal((await s.k(['get', 'pod', 'on-worker', '-o', 'jsonpath={.spec.nodeName}'])).trim(), 'worker-1');
  // SIGTERM drains the node; never wait on it unboundedly (the after hook kills what is left).
  good.proc.kill('SIGTERM');
  const exited = await Promise.race([good.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
  if (!exited) good.proc.kill('SIGKILL');
});
