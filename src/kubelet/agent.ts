/**
 * The node agent: node registration/status/lease ({@link NodeStatusManager}) plus the pod loop ({@link Kubelet})
 * over a container runtime (the process runtime on `<dataDir>/runtime` unless one is given). `skiff agent` and the
 * agent inside `skiff server` both start it through {@link startAgent}; `stop(true)` is the graceful node shutdown
 * (pods stopped with their grace periods), `stop()` leaves pods running for the next agent to adopt.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Taint } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../client/dynamic.js';
import { defaultLogger, type Logger } from '../client/log.js';
import { Kubelet } from './kubelet.js';
import { NodeStatusManager } from './node-status.js';
import { startStreamingServer, type StreamingServer } from './server/streaming-server.js';
import { runtimeStreamingBackend } from './streaming-backend.js';
import { selfSignedCertificate } from '../apiserver/auth/pki.js';
import { ProcessRuntime } from './runtime/process/process-runtime.js';
import type { RuntimeService } from './runtime/types.js';
import { GpuManager } from './devices/gpu-manager.js';

/** Options of {@link startAgent}. */
export interface AgentOptions {
  client: DynamicClient;
  /** Node name; default the host name (lower-cased, as kubelet does). */
  nodeName?: string;
  /** Agent state: `runtime/` (process runtime state), `pods/`, `logs/pods/`. */
  dataDir: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  fakeGpus?: number;
  runtime?: RuntimeService;
  log?: Logger;
  /** Port of the streaming server, advertised in the Node's daemonEndpoints. */
  kubeletPort?: number;
  /** CrashLoopBackOff base/cap (tests shorten them). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  imageBackoffBaseMs?: number;
  relistMs?: number;
  statusIntervalMs?: number;
  leaseIntervalMs?: number;
  /** Install a SIGTERM handler that drains the node and then exits (the standalone `skiff agent`). */
  handleSignals?: boolean;
  /** false: no streaming server (logs/exec/port-forward unavailable). */
  streaming?: boolean;
  /** Serving certificate for the streaming server; self-signed when absent. */
  servingCert?: { cert: string; key: string };
  /** The cluster CA: callers of the streaming server must present a client certificate it signed. */
  clientCa?: string;
}

/** A running agent. */
export interface RunningAgent {
  nodeName: string;
  runtime: RuntimeService;
  kubelet: Kubelet;
  node: NodeStatusManager;
  /** The GPU allocator when the node has GPUs (real or `fakeGpus`). */
  gpus?: GpuManager;
  /** Stops the agent; with `drain`, pods are stopped gracefully first (node shutdown). */
  stop(drain?: boolean): Promise<void>;
}

/** Parses `k=v:Effect,…` (the `--register-with-taints` / `--node-taints` syntax). */
export function parseTaints(s: string | undefined): Taint[] {
  if (!s) return [];
  return s.split(',').filter(Boolean).map((t) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t.trim());
    if (!m) throw new Error(`invalid taint ${JSON.stringify(t)}: want key[=value]:NoSchedule|PreferNoSchedule|NoExecute`);
    return { key: m[1]!, ...(m[2] ? { value: m[2] } : {}), effect: m[3]! };
  });
}

/** Parses `k=v,…` node labels. */
export function parseLabels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (s ?? '').split(',').filter(Boolean)) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`invalid label ${JSON.stringify(kv)}: want key=value`);
    out[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  return out;
}

/** Starts the node agent (see the module comment). */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const nodeName = (o.nodeName ?? hostname()).toLowerCase();
  const log = o.log ?? defaultLogger('kubelet');
  const runtime = o.runtime ?? new ProcessRuntime({ stateDir: join(o.dataDir, 'runtime') });
  // The streaming server (logs, exec, attach, port-forward) the apiserver proxies to: HTTPS on the kubelet port
  // (10250, or a free port when that is taken, e.g. several agents on one machine); advertised in the Node status.
  let streaming: StreamingServer | undefined;
  if (o.streaming !== false) {
    let own: { cert: string; key: string };
    if (o.servingCert) own = o.servingCert;
    else {
      const c = await selfSignedCertificate();
      own = { cert: c.certPem, key: c.keyPem };
    }
    // Only the apiserver may use it: a client certificate signed by the cluster CA is required, as upstream's
    // --client-ca-file does. Listens on all interfaces, like the kubelet's 10250.
    const tls: { cert: string; key: string; clientCa?: string } = { cert: own.cert, key: own.key, ...(o.clientCa ? { clientCa: o.clientCa } : {}) };
    try {
      streaming = await startStreamingServer({ runtime, backend: runtimeStreamingBackend(runtime), tls, host: '0.0.0.0', port: o.kubeletPort ?? 10250 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      streaming = await startStreamingServer({ runtime, backend: runtimeStreamingBackend(runtime), tls, host: '0.0.0.0', port: 0 });
      log.warn({ port: streaming.port }, 'kubelet port in use; serving logs/exec/port-forward on a free port');
    }
  }
  const node = new NodeStatusManager({
    client: o.client,
    nodeName,
    dataDir: o.dataDir,
    labels: o.labels,
    taints: o.taints,
    fakeGpus: o.fakeGpus,
    kubeletPort: streaming?.port ?? o.kubeletPort,
    statusIntervalMs: o.statusIntervalMs,
    leaseIntervalMs: o.leaseIntervalMs,
    log,
  });
  await node.start();
  const gpus = node.gpus.length ? new GpuManager({ devices: node.gpus, dataDir: o.dataDir, log }) : undefined;
  const kubelet = new Kubelet({
    client: o.client,
    nodeName,
    runtime,
    dataDir: o.dataDir,
    hostIP: node.ip,
    log,
    backoffBaseMs: o.backoffBaseMs,
    backoffMaxMs: o.backoffMaxMs,
    imageBackoffBaseMs: o.imageBackoffBaseMs,
    relistMs: o.relistMs,
    nodeAllocatable: node.status().allocatable as Record<string, string>,
    gpus,
  });
  await kubelet.start();
  let stopping: Promise<void> | undefined;
  const onSigterm = () => {
    log.info({ node: nodeName }, 'SIGTERM: draining the node');
    void agent.stop(true).finally(() => process.exit(0));
  };
  const agent: RunningAgent = {
    nodeName,
    runtime,
    kubelet,
    node,
    gpus,
    stop(drain = false) {
      stopping ??= (async () => {
        if (o.handleSignals) process.off('SIGTERM', onSigterm);
        node.stop();
        await kubelet.stop(drain);
        await streaming?.close();
        if (!o.runtime) await runtime.close();
      })();
      return stopping;
    },
  };
  if (o.handleSignals) process.on('SIGTERM', onSigterm);
  return agent;
}
