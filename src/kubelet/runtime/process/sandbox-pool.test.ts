/**
 * The sandbox pool of the process runtime (ProcessRuntimeOptions.sandboxPool): pre-created infra processes whose
 * network is already attached are taken by new pods (same id, IP at once, the pod's hostname set by the container's
 * shim), refilled in the background, skipped for hostPort pods, released on close(), and left-overs of a crashed
 * runtime are released by the next one on the same state dir. Needs root (namespaces) and a C compiler (the native
 * shim is compiled into a temp dir); skips loudly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileNativeShim } from './testing-shim.js';
import { ProcessRuntime } from './process-runtime.js';
import { ANNOTATION_CONTAINER_SLOTS } from '../types.js';
import { isAlive } from './proc.js';
import type { PodNetwork } from '../../network/pod-network.js';

const shim = process.getuid?.() === 0 ? compileNativeShim('sbpool') : undefined;
const work = shim?.work ?? '';
const binary = shim?.binary ?? '';
const skip: string | false = !shim ? 'NEEDS ROOT (pod network namespaces)' : shim.skip ?? false;
if (skip) console.warn(`SKIP (sandbox pool): ${skip}`);

/** A pod network that attaches at once with addresses 10.77.0.N and records every call. */
class FakeNetwork implements PodNetwork {
  n = 1;
  readonly setups: string[] = [];
  readonly teardowns: string[] = [];
  async setup(sandboxId: string): Promise<{ ip: string }> {
    this.setups.push(sandboxId);
    return { ip: `10.77.0.${this.n++}` };
  }
  async teardown(sandboxId: string): Promise<void> {
    this.teardowns.push(sandboxId);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Pool records with an attached network in `stateDir`. */
function pooled(stateDir: string): { id: string; pausePid: number; pauseStart?: string; ip?: string }[] {
  return readdirSync(join(stateDir, 'pool'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(stateDir, 'pool', f), 'utf8')))
    .filter((r) => r.ip);
}
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('process runtime: sandbox pool', { skip }, () => {
  test('pods take pre-created sandboxes (IP at once, own hostname); refill; hostPort pods skip it; close releases', async () => {
    const net = new FakeNetwork();
    const stateDir = join(work, 'state-a');
    const rt = new ProcessRuntime({ stateDir, shim: 'native', shimBinary: binary, network: net, sandboxPool: 2, log: quiet, cgroupRoot: `skiff-sbpool-${randomBytes(3).toString('hex')}` });
    try {
      rt.warmSandboxPool();
      await until('the pool to fill', () => pooled(stateDir).length === 2);
      const { warmShims: warm, pool } = rt as unknown as { warmShims: Map<string, unknown>; pool: unknown[] };
      await until('the pooled sandboxes\' warm shims', () => warm.size === 2 && pool.length === 2);
      const ready = pooled(stateDir);
      const meta = (name: string) => ({ name, namespace: 'default', uid: `uid-${name}`, attempt: 0 });
      const setupsBefore = net.setups.length;
      const sb = await rt.runPodSandbox({ metadata: meta('a'), hostname: 'pod-a', logDirectory: join(work, 'logs-a') });
      assert.ok(ready.some((r) => r.id === sb), 'the sandbox is a pooled one (same id as its CNI attachment)');
      assert.equal(net.setups.slice(setupsBefore).includes(sb), false, 'no CNI ADD on the start path');
      const st = await rt.podSandboxStatus(sb);
      assert.equal(st.state, 'SANDBOX_READY');
      assert.equal(st.network.ip, ready.find((r) => r.id === sb)!.ip);
      const out = join(work, 'hostname-a');
      const id = await rt.createContainer(sb, { metadata: { name: 'c', attempt: 0 }, command: ['/bin/sh', '-c', `cat /proc/sys/kernel/hostname > ${out}; exec sleep 30`], logPath: 'c.log' });
      await rt.startContainer(id);
      await until('the container to write its hostname', () => existsSync(out) && readFileSync(out, 'utf8').length > 0);
      assert.equal(readFileSync(out, 'utf8').trim(), 'pod-a');
      if (rt.capabilities.cgroups) {
        const pid = (await rt.containerStatus(id)).pid;
        assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`/pool${sb.slice(0, 32)}/warm\n`), 'the pooled pod cgroup is the pod\'s, the warm shim\'s container cgroup the container\'s');
      }
      // The first container ran in the warm shim's child; a second one starts the ordinary way (own cgroup).
      const id2 = await rt.createContainer(sb, { metadata: { name: 'd', attempt: 0 }, command: ['/bin/sleep', '30'], logPath: 'd.log' });
      await rt.startContainer(id2);
      assert.equal((await rt.containerStatus(id2)).state, 'CONTAINER_RUNNING');
      if (rt.capabilities.cgroups) {
        const pid2 = (await rt.containerStatus(id2)).pid;
        assert.match(readFileSync(`/proc/${pid2}/cgroup`, 'utf8'), new RegExp(`/pool${sb.slice(0, 32)}/${id2}\n`));
      }
      await until('the pool to refill', () => pooled(stateDir).length === 2);

      // A pod with hostPorts needs portmap with its ports: a fresh sandbox and CNI ADD.
      const sbPort = await rt.runPodSandbox({ metadata: meta('p'), logDirectory: join(work, 'logs-p'), portMappings: [{ protocol: 'TCP', containerPort: 80, hostPort: 18080 }] });
      assert.equal(pooled(stateDir).length, 2);
      assert.ok(net.setups.includes(sbPort));
      await rt.podSandboxStatus(sbPort);

      // Removing a pooled pod's sandbox tears its network down like any other.
      await rt.removePodSandbox(sb);
      assert.ok(net.teardowns.includes(sb));
      await rt.removePodSandbox(sbPort);
    } finally {
      const left = pooled(stateDir);
      await rt.purge();
      await rt.close();
      for (const r of left) {
        assert.ok(net.teardowns.includes(r.id), 'close releases the pooled networks');
        assert.equal(isAlive(r.pausePid, r.pauseStart), false, 'close kills the pooled infra processes');
      }
      assert.equal(readdirSync(join(stateDir, 'pool')).length, 0);
    }
  });

  test('a warm shim enforces the limits of the container that takes it (OOMKilled, exit code 137)', async (t) => {
    const net = new FakeNetwork();
    const stateDir = join(work, 'state-oom');
    const rt = new ProcessRuntime({ stateDir, shim: 'native', shimBinary: binary, network: net, sandboxPool: 1, log: quiet, cgroupRoot: `skiff-sbpool-${randomBytes(3).toString('hex')}` });
    try {
      if (!rt.capabilities.cgroups || !rt.capabilities.cgroupControllers.includes('memory')) return t.skip('NEEDS a memory cgroup');
      rt.warmSandboxPool();
      const { warmShims: warm, pool } = rt as unknown as { warmShims: Map<string, unknown>; pool: unknown[] };
      await until('a warm shim', () => warm.size === 1 && pool.length === 1);
      const sb = await rt.runPodSandbox({ metadata: { name: 'hog', namespace: 'default', uid: 'uid-hog', attempt: 0 }, logDirectory: join(work, 'logs-hog') });
      const id = await rt.createContainer(sb, {
        metadata: { name: 'hog', attempt: 0 },
        command: ['/bin/sh', '-c', 'head -c 400000000 /dev/zero | tail'],
        logPath: 'hog.log',
        linux: { resources: { memoryLimitInBytes: 32 * 1024 * 1024 } },
      });
      assert.equal(warm.size, 0, 'the container took the warm shim');
      await rt.startContainer(id);
      let st = await rt.containerStatus(id);
      for (let i = 0; i < 1000 && st.state !== 'CONTAINER_EXITED'; i++) {
        await sleep(20);
        st = await rt.containerStatus(id);
      }
      assert.equal(st.reason, 'OOMKilled');
      assert.equal(st.exitCode, 137);
    } finally {
      await rt.purge();
      await rt.close();
    }
  });

  test('a pod announcing more containers gets a warm shim for each (init containers), none beyond; stop releases', async () => {
    const net = new FakeNetwork();
    const stateDir = join(work, 'state-slots');
    const rt = new ProcessRuntime({ stateDir, shim: 'native', shimBinary: binary, network: net, sandboxPool: 1, log: quiet, cgroupRoot: `skiff-sbpool-${randomBytes(3).toString('hex')}` });
    try {
      rt.warmSandboxPool();
      const { warmShims: warm, pool } = rt as unknown as { warmShims: Map<string, { launched: { pid: number } }>; pool: unknown[] };
      await until('a warm shim', () => warm.size === 1 && pool.length === 1);
      const sb = await rt.runPodSandbox({
        metadata: { name: 'slots', namespace: 'default', uid: 'uid-slots', attempt: 0 },
        hostname: 'pod-slots',
        logDirectory: join(work, 'logs-slots'),
        annotations: { [ANNOTATION_CONTAINER_SLOTS]: '3' },
      });
      // Two init containers, one after the other, then the app container: each takes a warm shim.
      for (const [i, name] of ['init-1', 'init-2', 'app'].entries()) {
        if (i > 0) await until(`the warm shim for ${name}`, () => warm.has(sb));
        const out = join(work, `hostname-${name}`);
        const id = await rt.createContainer(sb, {
          metadata: { name, attempt: 0 },
          // The container records its own cgroup (read from outside, a quickly exiting process may already be a
          // zombie, which the kernel has moved to the root cgroup).
          command: ['/bin/sh', '-c', `cat /proc/self/cgroup > ${out}.cg; cat /proc/sys/kernel/hostname > ${out}; ${name === 'app' ? 'exec sleep 30' : 'exit 3'}`],
          logPath: `${name}.log`,
        });
        assert.equal(warm.has(sb), false, `${name} took the warm shim`);
        await rt.startContainer(id);
        const st = await rt.containerStatus(id);
        if (name !== 'app') {
          let s2 = st;
          for (let k = 0; k < 500 && s2.state !== 'CONTAINER_EXITED'; k++) {
            await sleep(20);
            s2 = await rt.containerStatus(id);
          }
          assert.equal(s2.exitCode, 3);
        }
        await until(`${name} to write its hostname`, () => existsSync(out) && readFileSync(out, 'utf8').length > 0);
        assert.equal(readFileSync(out, 'utf8').trim(), 'pod-slots');
        if (rt.capabilities.cgroups) assert.match(readFileSync(`${out}.cg`, 'utf8'), new RegExp(`/pool${sb.slice(0, 32)}/warm${i ? '\\d+' : ''}\n`));
      }
      await sleep(200);
      assert.equal(warm.has(sb), false, 'no warm shim beyond the announced containers');

      // Unused warm shims go with the sandbox.
      await until('a pooled sandbox with its warm shim', () => warm.size === 1 && pool.length === 1);
      const sb2 = await rt.runPodSandbox({ metadata: { name: 'more', namespace: 'default', uid: 'uid-more', attempt: 0 }, logDirectory: join(work, 'logs-more'), annotations: { [ANNOTATION_CONTAINER_SLOTS]: '5' } });
      const id = await rt.createContainer(sb2, { metadata: { name: 'c', attempt: 0 }, command: ['/bin/sleep', '30'], logPath: 'c.log' });
      await rt.startContainer(id);
      await until('the next warm shim', () => warm.has(sb2));
      const spare = warm.get(sb2)!.launched.pid;
      await rt.removePodSandbox(sb2);
      assert.equal(warm.has(sb2), false);
      await until('the unused warm shim to exit', () => !isAlive(spare));
      await rt.removePodSandbox(sb);
    } finally {
      await rt.purge();
      await rt.close();
    }
  });

  test('a new runtime releases the pool a killed one left behind', async () => {
    const stateDir = join(work, 'state-b');
    const netA = new FakeNetwork();
    const cgroupRoot = `skiff-sbpool-${randomBytes(3).toString('hex')}`;
    const a = new ProcessRuntime({ stateDir, shim: 'native', shimBinary: binary, network: netA, sandboxPool: 2, log: quiet, cgroupRoot });
    a.warmSandboxPool();
    const inMemory = a as unknown as { pool: unknown[]; poolFill?: Promise<void> };
    await until('the pool to fill', () => pooled(stateDir).length === 2 && inMemory.pool.length === 2 && !inMemory.poolFill);
    const left = pooled(stateDir);
    // "kill -9": the process forgets its pool without releasing it (its launcher goes; the infra processes stay).
    Object.assign(a, { pool: [] });
    await a.close();
    assert.ok(left.every((r) => isAlive(r.pausePid, r.pauseStart)));
    const netB = new FakeNetwork();
    const b = new ProcessRuntime({ stateDir, shim: 'native', shimBinary: binary, network: netB, log: quiet, cgroupRoot });
    try {
      await until('the orphans to be released', () => readdirSync(join(stateDir, 'pool')).length === 0);
      for (const r of left) {
        assert.ok(netB.teardowns.includes(r.id));
        assert.equal(isAlive(r.pausePid, r.pauseStart), false);
      }
    } finally {
      await b.purge(); // removes its cgroup root too
      await b.close();
    }
  });
});
