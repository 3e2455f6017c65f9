/**
 * Test environment for the kubelet: the controller test env's in-process apiserver plus a real agent (process
 * runtime on a temp state dir, its own cgroup root, short back-offs and a fast relist), so tests run real pods.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../controllers/testing.js';
import { definition as serviceAccountController } from '../controllers/serviceaccount/index.js';
import { definition as rootCACertPublisher } from '../controllers/rootcacertpublisher/index.js';
import type { Logger } from '../client/log.js';
import { isNotFound } from '../client/rest.js';
import { startAgent, type AgentOptions, type RunningAgent } from './agent.js';
import { unmountUnder } from './volumes.js';
import { ProcessRuntime } from './runtime/process/process-runtime.js';

/** A kubelet test environment. */
export interface KubeletTestEnv {
  env: ControllerTestEnv;
  agent: RunningAgent;
  runtime: ProcessRuntime;
  dataDir: string;
  nodeName: string;
  /** Starts a new agent on the same state (after `agent.stop()`), as a restarted kubelet. */
  restartAgent(): Promise<RunningAgent>;
  /** Creates a pod bound to the test node. */
  createPod(pod: Pod): Promise<Pod>;
  getPod(name: string, ns?: string): Promise<Pod>;
  /** Waits until the pod is gone from the API (404), e.g. after its deletion and the agent's teardown. */
  waitPodGone(name: string, timeoutMs?: number, ns?: string): Promise<void>;
  close(): Promise<void>;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Starts the environment; `agentOpts` override the test defaults. */
export async function startKubeletTestEnv(agentOpts: Partial<AgentOptions> = {}): Promise<KubeletTestEnv> {
  const env = await startControllerTestEnv();
  // As in a cluster: every namespace has the `default` ServiceAccount and `kube-root-ca.crt`, which the
  // ServiceAccount admission plugin's kube-api-access volume needs before a pod can start.
  await env.run([serviceAccountController, rootCACertPublisher]);
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
  const cgroupRoot = `skiff-kt-${process.pid}-${randomBytes(3).toString('hex')}`;
  const newRuntime = () => new ProcessRuntime({ stateDir: join(dataDir, 'runtime'), cgroupRoot });
  let runtime = newRuntime();
  const nodeName = 'node-1';
  const start = (rt: ProcessRuntime) =>
    startAgent({
      client: env.client,
      nodeName,
      dataDir,
      runtime: rt,
      log: process.env.SKIFF_TEST_VERBOSE ? undefined : quiet,
      backoffBaseMs: 300,
      backoffMaxMs: 2000,
      imageBackoffBaseMs: 300,
      relistMs: 100,
      ...agentOpts,
    });
  const t: KubeletTestEnv = {
    env,
    agent: await start(runtime),
    runtime,
    dataDir,
    nodeName,
    async restartAgent() {
      await runtime.close();
      runtime = newRuntime();
      t.runtime = runtime;
      t.agent = await start(runtime);
      return t.agent;
    },
    createPod(pod) {
      pod.spec!.nodeName ??= nodeName;
      return env.client.resource<Pod>('v1', 'Pod').create(pod.metadata?.namespace ?? 'default', pod);
    },
    getPod(name, ns = 'default') {
      return env.client.resource<Pod>('v1', 'Pod').get(ns, name);
    },
    async waitPodGone(name, timeoutMs = 10_000, ns = 'default') {
      await env.eventually(async () => {
        try {
          await t.getPod(name, ns);
          return false;
        } catch (e) {
          if (isNotFound(e)) return true;
          throw e; // not yet: eventually names the last error if it times out
        }
      }, timeoutMs, `${name} deleted`);
    },
    async close() {
      await t.agent.stop();
      await runtime.purge();
      await runtime.close();
      await env.close();
      unmountUnder(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}
