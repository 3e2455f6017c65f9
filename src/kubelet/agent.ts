/**
 * The node agent: node registration/status/lease ({@link NodeStatusManager}) plus the pod loop ({@link Kubelet})
 * over a container runtime (the process runtime on `<dataDir>/runtime` unless one is given). `skiff agent` and the
 * agent inside `skiff server` both start it through {@link startAgent}; `stop(true)` is the graceful node shutdown
 * (pods stopped with their grace periods), `stop()` leaves pods running for the next agent to adopt.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import { rfc3339 } from '../api/time.js';
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
import { existsSync } from 'node:fs';
import { CniPodNetwork, DEFAULT_CNI_BIN_DIR } from './network/pod-network.js';
import { cleanupNodeNetwork, ensureBridge, NodeNetwork } from './network/node-network.js';
import { DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN } from './network/dns-config.js';
import { startNodeProxy, type NodeProxy } from '../proxy/index.js';
import { firstHost, parseCidr } from '../api/cidr.js';

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
  /** Periodic pod resync (upstream kubelet syncFrequency: 1 min, plus up to 50% jitter). */
  resyncMs?: number;
  /** How long a pod sync may run before it is reported (default 20 s, see pod-worker `SLOW_SYNC_MS`). */
  slowSyncMs?: number;
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
  /**
   * Pod network: 'bridge' (CNI bridge + host-local over the node's podCIDR, host-gw routes, masquerade) or 'none'
   * (pods without their own IP, today's behaviour). Default: 'bridge' when root and the CNI plugins are installed.
   */
  podNetwork?: 'bridge' | 'none';
  /** Node bridge of the pod network (default skiff0). */
  bridgeName?: string;
  /** The cluster's pod CIDR (default 10.42.0.0/16): traffic leaving it is masqueraded. */
  clusterCIDR?: string;
  /** Cluster DNS server IP (default 10.43.0.10); '' disables ClusterFirst DNS (pods get the host's resolv.conf). */
  clusterDNS?: string;
  /** Cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** CNI plugin directory (default /usr/lib/cni). */
  cniBinDir?: string;
  /** Cgroup directory of the agent's process runtime (default skiff; tests use their own). */
  cgroupRoot?: string;
  /** How long startup waits for the node's spec.podCIDR before starting pods anyway (default 60 s). */
  podCIDRWaitMs?: number;
  /** `--node-ip`: the InternalIP this node advertises (routes to its pods go via it); default the first IPv4. */
  nodeIP?: string;
  /** false: no iptables service proxy on this node (`--disable-kube-proxy`). */
  kubeProxy?: boolean;
  /** iptables chain prefix of the service proxy (default SKIFF). */
  proxyChainPrefix?: string;
  /** Ingress controller ports (default 80/443, 0 = any free port); false: none (`--disable-ingress`). */
  ingress?: false | { httpPort?: number; httpsPort?: number };
}

/** Options of {@link RunningAgent.stop}. */
export interface AgentStopOptions {
  /**
   * Tests/decommissioning: remove every pod of this node's runtime, then the bridge, host-gw routes, masquerade
   * rules and the network state (see cleanupNodeNetwork).
   */
  cleanupNetwork?: boolean;
}

/** A running agent. */
export interface RunningAgent {
  nodeName: string;
  runtime: RuntimeService;
  kubelet: Kubelet;
  node: NodeStatusManager;
  /** The GPU allocator when the node has GPUs (real or `fakeGpus`). */
  gpus?: GpuManager;
  /** The node's pod network ('none' when pods have no own IP). */
  network: { mode: 'bridge' | 'none'; bridgeName?: string; podCIDR?: string };
  /** Stops the agent; with `drain`, pods are stopped gracefully first (node shutdown). */
  stop(drain?: boolean, opts?: AgentStopOptions): Promise<void>;
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
  // The pod network (CNI bridge) is attached by the process runtime; it needs root and the CNI plugins.
  const cniBinDir = o.cniBinDir ?? DEFAULT_CNI_BIN_DIR;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // A runtime given by the caller (tests, a CRI runtime) attaches pods itself: no bridge unless asked for.
  let netMode: 'bridge' | 'none' = o.podNetwork ?? (o.runtime ? 'none' : isRoot && existsSync(join(cniBinDir, 'bridge')) ? 'bridge' : 'none');
  if (netMode === 'bridge' && o.runtime) {
    log.warn({}, 'pod network: a runtime was given; it must attach pods itself (no CNI bridge from the agent)');
    netMode = 'none';
  }
  if (netMode === 'bridge' && (!isRoot || !existsSync(join(cniBinDir, 'bridge')))) {
    throw new Error(`--pod-network=bridge needs root and the CNI plugins in ${cniBinDir} (apt-get install containernetworking-plugins)`);
  }
  if (netMode === 'none' && !o.podNetwork && !o.runtime) {
    log.warn({ cniBinDir, root: isRoot }, 'POD NETWORK DISABLED: not root or no CNI plugins; pods have no IP of their own (only hostNetwork-style access, port-forward)');
  }
  const bridgeName = o.bridgeName ?? 'skiff0';
  const clusterCIDR = o.clusterCIDR ?? '10.42.0.0/16';
  const netDir = join(o.dataDir, 'network');
  const podNet = netMode === 'bridge' ? new CniPodNetwork({ dataDir: netDir, bridgeName, pluginDirs: [cniBinDir], log }) : undefined;
  // With the bridge network, a few pod sandboxes (infra process + CNI ADD done) are kept ready so a pod start skips
  // both (ProcessRuntimeOptions.sandboxPool; $SKIFF_SANDBOX_POOL overrides, 0 turns it off).
  const sandboxPool = podNet ? Number(process.env.SKIFF_SANDBOX_POOL ?? 4) || 0 : 0;
  const runtime = o.runtime ?? new ProcessRuntime({ stateDir: join(o.dataDir, 'runtime'), ...(o.cgroupRoot ? { cgroupRoot: o.cgroupRoot } : {}), ...(podNet ? { network: podNet } : {}), sandboxPool, log });
  // CNI plugins are exec'd through the runtime's native launcher: no fork of this large process per pod start.
  if (podNet && runtime instanceof ProcessRuntime) podNet.cni.runner = (argv, env, input, timeoutMs) => runtime.execHelper(argv, env, input, timeoutMs);
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
    ...(o.nodeIP ? { nodeIP: o.nodeIP } : {}),
    log,
  });
  // NetworkUnavailable=False once the pod network is ready (upstream's route controller sets it); carried in every
  // status write, which replaces the conditions list.
  let netCondition: NodeCondition | undefined;
  const baseStatus = node.status.bind(node);
  node.status = () => {
    const st = baseStatus();
    return netCondition ? { ...st, conditions: [...(st.conditions ?? []).filter((c) => c.type !== 'NetworkUnavailable'), netCondition] } : st;
  };
  await node.start();
  let nodeNet: NodeNetwork | undefined;
  if (podNet) {
    let marked = false;
    const markReady = () => {
      if (marked) return;
      marked = true;
      const now = rfc3339();
      netCondition = { type: 'NetworkUnavailable', status: 'False', reason: 'RouteCreated', message: 'Skiff bridge network is up', lastHeartbeatTime: now, lastTransitionTime: now };
      node.updateStatus().catch((err) => {
        marked = false;
        log.error({ err: String(err) }, 'cannot set NetworkUnavailable=False on the node');
      });
    };
    nodeNet = new NodeNetwork({
      client: o.client, nodeName, nodeIP: node.ip, bridgeName, clusterCIDR, dataDir: netDir, log,
      onPodCIDR: (cidr) => {
        podNet.setPodCIDR(cidr);
        if (runtime instanceof ProcessRuntime) runtime.warmSandboxPool();
        if (nodeNet) markReady();
      },
    });
    await nodeNet.start();
    const waitMs = o.podCIDRWaitMs ?? 60_000;
    const cidr = await nodeNet.waitForPodCIDR(waitMs);
    if (cidr) {
      log.info({ podCIDR: cidr, bridge: bridgeName, clusterCIDR }, 'pod network ready');
      markReady();
      if (runtime instanceof ProcessRuntime) runtime.warmSandboxPool();
    } else {
      log.error({ waitedMs: waitMs, clusterCIDR }, 'node has no spec.podCIDR yet (is the nodeipam controller running with this --cluster-cidr?); pods cannot start until it is assigned');
    }
  }
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
    resyncMs: o.resyncMs,
    slowSyncMs: o.slowSyncMs,
    nodeAllocatable: node.status().allocatable as Record<string, string>,
    gpus,
    // Cluster DNS for ClusterFirst pods: only with the pod network (the DNS server listens on the bridge gateway).
    ...(podNet && o.clusterDNS !== '' ? { dns: { clusterDNS: [o.clusterDNS ?? DEFAULT_CLUSTER_DNS], clusterDomain: o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN } } : {}),
  });
  await kubelet.start();
  // Service proxy, cluster DNS and ingress ride on the pod network: without it pods have no IPs to route to.
  let proxy: NodeProxy | undefined;
  if (podNet && nodeNet?.podCIDR) {
    // The bridge's own address, the pods' gateway (CNI bridge `isGateway`): the pod CIDR's first host.
    const podCidr = parseCidr(nodeNet.podCIDR);
    const gateway = firstHost(podCidr);
    await ensureBridge(bridgeName, `${gateway}/${podCidr.prefix}`);
    proxy = await startNodeProxy({
      client: o.client,
      nodeName,
      nodeIPs: [node.ip],
      clusterCIDR,
      clusterDomain: o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
      kubeProxy: o.kubeProxy === false ? false : { chainPrefix: o.proxyChainPrefix },
      dns: o.clusterDNS === '' ? false : { host: gateway },
      ingress: o.ingress === false ? false : { httpPort: o.ingress?.httpPort ?? 80, httpsPort: o.ingress?.httpsPort ?? 443 },
      log,
    });
  } else if (podNet) {
    log.error({}, 'no podCIDR: kube-proxy, cluster DNS and the ingress controller are not started');
  }
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
    network: { mode: netMode, ...(podNet ? { bridgeName } : {}), get podCIDR() { return nodeNet?.podCIDR; } },
    stop(drain = false, opts: AgentStopOptions = {}) {
      stopping ??= (async () => {
        if (o.handleSignals) process.off('SIGTERM', onSigterm);
        node.stop();
        await kubelet.stop(drain);
        await proxy?.stop({ cleanup: opts.cleanupNetwork });
        await nodeNet?.stop();
        if (opts.cleanupNetwork && !o.runtime) await (runtime as ProcessRuntime).purge();
        await streaming?.close();
        if (!o.runtime) await runtime.close();
        if (opts.cleanupNetwork && podNet) await cleanupNodeNetwork({ bridgeName, dataDir: netDir, clusterCIDR, log });
      })();
      return stopping;
    },
  };
  if (o.handleSignals) process.on('SIGTERM', onSigterm);
  return agent;
}
