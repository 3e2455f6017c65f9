import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RUNTIME_TESTS, runRuntimeConformance } from '../conformance.js';
import { ProcessRuntime } from './process-runtime.js';

// One cgroup root per test file run, removed after each test, so a run leaves the host's cgroups as it found them.
const cgroupRoot = `skiff-test-${process.pid}-${randomBytes(3).toString('hex')}`;
const probe = new ProcessRuntime({ stateDir: `/tmp/skiff-probe-${process.pid}`, cgroupRoot });
const caps = probe.capabilities;
await probe.close();
(await import('node:fs')).rmSync(`/tmp/skiff-probe-${process.pid}`, { recursive: true, force: true });

const skip: { reason: string; tests: string[] }[] = [];
if (!caps.namespaces) {
  skip.push({ reason: `NEEDS ROOT + unshare/nsenter (pod namespaces): ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.sharedNetwork] });
}
if (!caps.mounts) skip.push({ reason: `NEEDS ROOT (mount namespaces): ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.mounts] });
if (!caps.cgroups || !caps.cgroupControllers.includes('memory')) {
  skip.push({ reason: `NEEDS ROOT + a memory cgroup: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.oom] });
}
if (!caps.cgroups || !caps.cgroupControllers.includes('pids')) {
  skip.push({ reason: `NEEDS ROOT + the pids cgroup controller: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.pids] });
}
if (!caps.runAsUser) skip.push({ reason: `NEEDS ROOT + setpriv: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.runAsUser] });
for (const s of skip) console.warn(`SKIP (process runtime): ${s.tests.join(', ')}: ${s.reason}`);

runRuntimeConformance({
  name: `process (${caps.root ? 'root' : 'non-root'}${caps.cgroups ? `, cgroup v${caps.cgroupVersion}` : ''})`,
  newRuntime: async (stateDir) => new ProcessRuntime({ stateDir, cgroupRoot }),
  cleanup: async (rt) => (rt as ProcessRuntime).purge(),
  skip,
});

// The fallback path, exercised even as root: host namespaces, no cgroups, mounts as symlinks.
describe('process runtime, isolation none', () => {
  test('mounts appear as symlinks under $SKIFF_ROOTFS and the pod uses the host network', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = mkdtempSync('/tmp/skiff-none-');
    const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), isolation: 'none', cgroupRoot });
    try {
      mkdirSync(join(dir, 'h'));
      writeFileSync(join(dir, 'h', 'f'), 'data\n');
      const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'd', uid: 'u1' }, logDirectory: join(dir, 'logs') });
      assert.equal((await rt.podSandboxStatus(sb)).namespaces.network, 'NODE');
      const id = await rt.createContainer(sb, {
        metadata: { name: 'c' },
        command: ['/bin/sh', '-c', 'cat "$SKIFF_ROOTFS/data/f"'],
        mounts: [{ hostPath: join(dir, 'h'), containerPath: '/data' }],
        logPath: 'c/0.log',
      });
      await rt.startContainer(id);
      for (let i = 0; i < 200 && (await rt.containerStatus(id)).state !== 'CONTAINER_EXITED'; i++) await new Promise((r) => setTimeout(r, 20));
      const st = await rt.containerStatus(id);
      assert.equal(st.exitCode, 0);
      assert.match(readFileSync(st.logPath, 'utf8'), /stdout F data/);
      await rt.removePodSandbox(sb);
    } finally {
      await rt.purge();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing executable is a StartError with exit code 128', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = mkdtempSync('/tmp/skiff-none-');
    const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), isolation: 'none' });
    try {
      const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'd', uid: 'u2' } });
      const id = await rt.createContainer(sb, { metadata: { name: 'c' }, command: ['/no/such/binary'] });
      await assert.rejects(rt.startContainer(id), /executable file not found/);
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'CONTAINER_EXITED');
      assert.equal(st.reason, 'StartError');
      assert.equal(st.exitCode, 128);
    } finally {
      await rt.purge();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('process runtime, agent crash', () => {
  test('kill -9 of the agent leaves sandbox and container running; a new runtime adopts them', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const dir = mkdtempSync('/tmp/skiff-crash-');
    const stateDir = join(dir, 'state');
    const trigger = join(dir, 'trigger');
    const mod = new URL('./process-runtime.js', import.meta.url).href;
    // A throwaway "agent": starts a pod, prints the ids, then dies by SIGKILL without any cleanup.
    const agent = `
      const { ProcessRuntime } = await import(${JSON.stringify(mod)});
      const rt = new ProcessRuntime({ stateDir: ${JSON.stringify(stateDir)}, cgroupRoot: ${JSON.stringify(cgroupRoot)} });
      const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'd', uid: 'crash' }, logDirectory: ${JSON.stringify(join(dir, 'logs'))} });
      const id = await rt.createContainer(sb, { metadata: { name: 'c' }, logPath: 'c/0.log',
        command: ['/bin/sh', '-c', 'echo up; while [ ! -e ${trigger} ]; do sleep 0.05; done; echo bye; exit 9'] });
      await rt.startContainer(id);
      const st = await rt.containerStatus(id);
      console.log(JSON.stringify({ sb, id, pid: st.pid }));
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), '--input-type=module', '-e', agent], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const signal = await new Promise((r) => child.on('exit', (_c, s) => r(s)));
    assert.equal(signal, 'SIGKILL');
    const { sb, id, pid } = JSON.parse(out.trim()) as { sb: string; id: string; pid: number };
    const rt = new ProcessRuntime({ stateDir, cgroupRoot });
    try {
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'CONTAINER_RUNNING');
      assert.equal(st.pid, pid);
      assert.equal((await rt.podSandboxStatus(sb)).state, 'SANDBOX_READY');
      writeFileSync(trigger, '');
      for (let i = 0; i < 250 && (await rt.containerStatus(id)).state === 'CONTAINER_RUNNING'; i++) await new Promise((r) => setTimeout(r, 20));
      const done = await rt.containerStatus(id);
      assert.equal(done.state, 'CONTAINER_EXITED');
      assert.equal(done.exitCode, 9);
      const { readFileSync } = await import('node:fs');
      assert.match(readFileSync(done.logPath, 'utf8'), /stdout F up\n.*stdout F bye\n/s);
    } finally {
      await rt.purge();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
