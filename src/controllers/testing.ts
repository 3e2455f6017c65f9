/**
 * Test environment for controllers: a real `skiff server` apiserver in this process on the memory store (HTTPS on
 * a free port, temp data dir), a client from its kubeconfig, and a ControllerManager running the given controllers
 * without leader election. Tests play the kubelet by writing pod status through the API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../server/server.js';
import { DynamicClient } from '../client/dynamic.js';
import { loadKubeconfig } from '../client/config.js';
import type { Logger } from '../client/log.js';
import { ControllerManager } from './manager.js';
import type { ControllerDefinition, ControllerManagerConfig } from './types.js';

export interface ControllerTestEnv {
  server: RunningServer;
  client: DynamicClient;
  manager?: ControllerManager;
  /** Starts the manager with these controllers (no leader election). */
  run(controllers: ControllerDefinition[], config?: Partial<ControllerManagerConfig>): Promise<ControllerManager>;
  /** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
  eventually<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export async function startControllerTestEnv(opts: { verbose?: boolean } = {}): Promise<ControllerTestEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-ctrl-'));
  const server = await startServer({ dataDir, datastore: 'memory://', httpsPort: 0, logLevel: 'error', disableControllerManager: true, disableScheduler: true, disableAgent: true });
  const client = new DynamicClient(loadKubeconfig(server.kubeconfigPath), { rateLimit: false });
  const env: ControllerTestEnv = {
    server,
    client,
    async run(controllers, config) {
      env.manager = new ControllerManager({ client, controllers, leaderElection: false, config, logger: opts.verbose ? undefined : () => quiet });
      env.manager.start();
      return env.manager;
    },
    async eventually(fn, timeoutMs = 10_000, what = 'condition') {
      const deadline = Date.now() + timeoutMs;
      let lastErr: unknown;
      for (;;) {
        try {
          const v = await fn();
          if (v) return v as never;
        } catch (e) {
          lastErr = e;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await env.manager?.stop();
      client.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}
