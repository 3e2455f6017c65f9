/**
 * The pod network attaches in the background of runPodSandbox (process runtime, native shim): containers are
 * created and their shims prepared meanwhile, but no container process runs before the network is up; the pod IP
 * comes with podSandboxStatus (which waits for it); a failed setup fails the start and leaves the sandbox not ready.
 * Needs root (network namespaces) and a C compiler (the native shim is compiled into a temp dir); skips loudly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileNativeShim } from './testing-shim.js';
import { ProcessRuntime } from './process-runtime.js';
import { StartError } from '../types.js';
import type { PodNetwork } from '../../network/pod-network.js';

const shim = process.getuid?.() === 0 ? compileNativeShim('netoverlap') : undefined;
const work = shim?.work ?? '';
const binary = shim?.binary ?? '';
const skip: string | false = !shim ? 'NEEDS ROOT (pod network namespaces)' : shim.skip ?? false;
if (skip) console.warn(`SKIP (network overlap): ${skip}`);

/** A pod network whose setups the test settles by hand. */
class ManualNetwork implements PodNetwork {
  readonly setups = new Map<string, { resolve: (ip: string) => void; reject: (e: Error) => void }>();
  readonly teardowns: string[] = [];
  setup(sandboxId: string): Promise<{ ip: string }> {
    return new Promise((resolve, reject) => this.setups.set(sandboxId, { resolve: (ip) => resolve({ ip }), reject }));
  }
  async teardown(sandboxId: string): Promise<void> {
    this.teardowns.push(sandboxId);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('process runtime: pod network in the background', { skip }, () => {
  test('containers prepare while the network attaches and exec only once it is up; failures fail the start', async () => {
    const net = new ManualNetwork();
    const rt = new ProcessRuntime({ stateDir: join(work, 'state'), shim: 'native', shimBinary: binary, network: net, cgroupRoot: `skiff-netov-${randomBytes(3).toString('hex')}` });
    try {
      const meta = (name: string) => ({ name, namespace: 'default', uid: `uid-${name}`, attempt: 0 });
      const sb = await rt.runPodSandbox({ metadata: meta('a'), logDirectory: join(work, 'logs-a') });
      assert.ok(net.setups.has(sb), 'runPodSandbox returned with the setup still running');
      const marker = join(work, 'started-a');
      const id = await rt.createContainer(sb, { metadata: { name: 'c', attempt: 0 }, command: ['/bin/sh', '-c', `touch ${marker}; exec sleep 30`], logPath: 'c.log' });
      const started = rt.startContainer(id);
      const status = rt.podSandboxStatus(sb);
      await sleep(300);
      assert.equal(existsSync(marker), false, 'the container must not run before its network is up');
      net.setups.get(sb)!.resolve('10.9.8.7');
      await started;
      assert.equal((await status).network.ip, '10.9.8.7');
      assert.equal((await rt.containerStatus(id)).state, 'CONTAINER_RUNNING');
      for (let i = 0; i < 100 && !existsSync(marker); i++) await sleep(20);
      assert.ok(existsSync(marker));

      const sb2 = await rt.runPodSandbox({ metadata: meta('b'), logDirectory: join(work, 'logs-b') });
      const id2 = await rt.createContainer(sb2, { metadata: { name: 'c', attempt: 0 }, command: ['/bin/sh', '-c', 'exec sleep 30'], logPath: 'c.log' });
      const started2 = rt.startContainer(id2);
      net.setups.get(sb2)!.reject(new Error('no more addresses'));
      await assert.rejects(started2, (e: Error) => e instanceof StartError && /pod network setup failed: no more addresses/.test(e.message));
      const st2 = await rt.containerStatus(id2);
      assert.equal(st2.state, 'CONTAINER_EXITED');
      assert.equal(st2.reason, 'StartError');
      assert.equal((await rt.podSandboxStatus(sb2)).state, 'SANDBOX_NOTREADY');
      await rt.stopPodSandbox(sb2);
      assert.ok(net.teardowns.includes(sb2), 'a failed setup is still torn down (its address released)');
    } finally {
      await rt.purge();
      await rt.close();
    }
  });
});
