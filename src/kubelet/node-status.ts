/**
 * Node registration, status and heartbeat — the kubelet's `kubelet_node_status.go` and `nodelease` controller:
 * the agent creates its Node (labels, taints, capacity/allocatable, addresses, nodeInfo), keeps its conditions'
 * heartbeat fresh every `statusIntervalMs` (and at once when something changed), and renews the Lease
 * `kube-node-lease/<node>` every `leaseIntervalMs`, which is what the node-lifecycle controller watches.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { Node, NodeCondition, NodeStatus, Taint } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../client/dynamic.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/rest.js';
import type { Logger } from '../client/log.js';
import type { Lease } from '../client/leader-election.js';
import { microTime, rfc3339 } from '../api/time.js';

/** The kubelet version reported in nodeInfo (`kubectl get nodes` VERSION column). */
export const KUBELET_VERSION = 'v1.32.0-skiff';
/** The runtime in nodeInfo.containerRuntimeVersion (`<name>://<version>` as CRI runtimes report it). */
export const CONTAINER_RUNTIME_VERSION = 'skiff-process://0.1';
/** Pods per node, the kubelet's default `--max-pods`. */
export const MAX_PODS = 110;
/** Memory kept back from allocatable (kubelet's default `--eviction-hard memory.available<100Mi`). */
export const MEMORY_RESERVE_BYTES = 100 * 1024 * 1024;
/** The extended resource of NVIDIA's device plugin. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** A GPU the node advertises. */
export interface GpuDevice {
  index: number;
  uuid: string;
}

/**
 * Detects NVIDIA GPUs the way the device plugin enumerates them (`nvidia-smi --query-gpu=index,uuid`); `fake` > 0
 * returns that many fake devices instead (tests and demos). No nvidia-smi, or a failing one, means no GPUs.
 */
export function detectGpus(fake = 0): GpuDevice[] {
  if (fake > 0) return Array.from({ length: fake }, (_, i) => ({ index: i, uuid: `GPU-fake-${i}` }));
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index,uuid', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .map((l) => l.split(',').map((s) => s.trim()))
      .filter((p) => p.length >= 2 && /^\d+$/.test(p[0]!))
      .map(([i, u]) => ({ index: Number(i), uuid: u! }));
  } catch {
    return [];
  }
}

/** The first non-internal IPv4 address (what kubelet picks as InternalIP without `--node-ip`), else 127.0.0.1. */
export function nodeIP(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  }
  return '127.0.0.1';
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const rel = readTrim('/etc/os-release');
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(rel);
  return m?.[1] ?? `${os.type()} ${os.release()}`;
}

/** Go's GOARCH names, which the kubernetes.io/arch label uses. */
export function goArch(): string {
  const a = os.arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

/** Options of the node status manager. */
export interface NodeStatusOptions {
  client: DynamicClient;
  nodeName: string;
  /** Directory whose filesystem is the node's ephemeral-storage. */
  dataDir: string;
  /** Extra labels, e.g. a node-pool label. */
  labels?: Record<string, string>;
  taints?: Taint[];
  /** Fake GPUs advertised instead of detecting real ones. */
  fakeGpus?: number;
  /** Port of the kubelet's streaming server (daemonEndpoints.kubeletEndpoint.Port). */
  kubeletPort?: number;
  statusIntervalMs?: number;
  leaseIntervalMs?: number;
  /** `--node-ip`: the node's InternalIP (default: the first non-internal IPv4 address). */
  nodeIP?: string;
  log: Logger;
}

function nowRFC3339(): string {
  return rfc3339();
}

/** Registers the Node, updates its status periodically and renews its Lease (see the module comment). */
export class NodeStatusManager {
  readonly gpus: GpuDevice[];
  readonly ip: string;
  private timers: NodeJS.Timeout[] = [];
  private lastConditions = new Map<string, NodeCondition>();
  private stopped = false;
  private updating?: Promise<void>;

  constructor(private readonly o: NodeStatusOptions) {
    this.gpus = detectGpus(o.fakeGpus ?? 0);
    this.ip = o.nodeIP ?? nodeIP();
  }

  private capacity(): { capacity: Record<string, string>; allocatable: Record<string, string> } {
    const cpu = String(os.cpus().length || 1);
    const mem = os.totalmem();
    let storage = 0;
    try {
      const s = statfsSync(this.o.dataDir);
      storage = Number(s.blocks) * Number(s.bsize);
    } catch {
      /* unknown filesystem: report 0 */
    }
    const capacity: Record<string, string> = {
      cpu,
      memory: `${Math.floor(mem / 1024)}Ki`,
      'ephemeral-storage': `${Math.floor(storage / 1024)}Ki`,
      pods: String(MAX_PODS),
    };
    if (this.gpus.length) capacity[GPU_RESOURCE] = String(this.gpus.length);
    const allocatable = {
      ...capacity,
      memory: `${Math.floor(Math.max(0, mem - MEMORY_RESERVE_BYTES) / 1024)}Ki`,
      // kubelet's default eviction threshold nodefs.available<10%
      'ephemeral-storage': String(Math.floor(storage * 0.9)),
    };
    return { capacity, allocatable };
  }

  private conditions(): NodeCondition[] {
    const now = nowRFC3339();
    const free = os.freemem();
    let diskFree = 1;
    try {
      const s = statfsSync(this.o.dataDir);
      diskFree = Number(s.bavail) / Math.max(1, Number(s.blocks));
    } catch {
      /* unknown */
    }
    const want: Array<[string, boolean, string, string]> = [
      free < MEMORY_RESERVE_BYTES
        ? ['MemoryPressure', true, 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available']
        : ['MemoryPressure', false, 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
      diskFree < 0.1
        ? ['DiskPressure', true, 'KubeletHasDiskPressure', 'kubelet has disk pressure']
        : ['DiskPressure', false, 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
      ['PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
      ['Ready', true, 'KubeletReady', 'kubelet is posting ready status'],
    ];
    return want.map(([type, status, reason, message]) => {
      const s = status ? 'True' : 'False';
      const prev = this.lastConditions.get(type);
      const c: NodeCondition = {
        type,
        status: s,
        lastHeartbeatTime: now,
        lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime! : now,
        reason,
        message,
      };
      this.lastConditions.set(type, c);
      return c;
    });
  }

  /** The full NodeStatus as this node sees itself now. */
  status(): NodeStatus {
    const { capacity, allocatable } = this.capacity();
    return {
      capacity,
      allocatable,
      conditions: this.conditions(),
      addresses: [
        { type: 'InternalIP', address: this.ip },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort ?? 10250 } },
      nodeInfo: {
        machineID: readTrim('/etc/machine-id'),
        systemUUID: readTrim('/sys/class/dmi/id/product_uuid') || readTrim('/etc/machine-id'),
        bootID: readTrim('/proc/sys/kernel/random/boot_id'),
        kernelVersion: os.release(),
        osImage: osImage(),
        containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: os.platform(),
        architecture: goArch(),
      },
    };
  }

  private labels(): Record<string, string> {
    return {
      'kubernetes.io/hostname': this.o.nodeName,
      'kubernetes.io/os': os.platform(),
      'kubernetes.io/arch': goArch(),
      'beta.kubernetes.io/os': os.platform(),
      'beta.kubernetes.io/arch': goArch(),
      ...(this.o.labels ?? {}),
    };
  }

  /**
   * Creates the Node, or (when it exists, e.g. after an agent restart) merges our labels and taints into it, as
   * kubelet's registerWithAPIServer/reconcile does; then writes the status.
   */
  async register(): Promise<void> {
    const nodes = this.o.client.resource<Node>('v1', 'Node');
    const body: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.o.nodeName, labels: this.labels() },
      spec: this.o.taints?.length ? { taints: this.o.taints } : {},
    };
    try {
      await nodes.create(undefined, body);
      this.o.log.info({ node: this.o.nodeName }, 'registered node');
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const cur = await nodes.get(undefined, this.o.nodeName);
      const taints = [...(cur.spec?.taints ?? [])];
      for (const t of this.o.taints ?? []) {
        if (!taints.some((x) => x.key === t.key && x.effect === t.effect)) taints.push(t);
      }
      await nodes.patch(undefined, this.o.nodeName, 'merge', { metadata: { labels: this.labels() }, spec: { taints } });
    }
    await this.updateStatus();
  }

  /** Writes the node status now (coalesced with a write in flight). */
  updateStatus(): Promise<void> {
    this.updating ??= (async () => {
      try {
        await this.o.client.resource<Node>('v1', 'Node').patch(undefined, this.o.nodeName, 'merge', { status: this.status() }, { subresource: 'status' });
      } finally {
        this.updating = undefined;
      }
    })();
    return this.updating;
  }

  /** Creates or renews the node Lease (holderIdentity = node, 40 s duration, renewTime a MicroTime). */
  async renewLease(): Promise<void> {
    const leases = this.o.client.resource<Lease>('coordination.k8s.io/v1', 'Lease');
    const renewTime = microTime();
    const spec = { holderIdentity: this.o.nodeName, leaseDurationSeconds: 40, renewTime };
    try {
      const cur = await leases.get('kube-node-lease', this.o.nodeName);
      await leases.update('kube-node-lease', { ...cur, spec: { ...cur.spec, ...spec } });
    } catch (e) {
      if (isNotFound(e)) {
        try {
          await leases.create('kube-node-lease', {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.o.nodeName, namespace: 'kube-node-lease' },
            spec,
          } as Lease);
        } catch (e2) {
          if (!isAlreadyExists(e2)) throw e2;
        }
      } else if (!isConflict(e)) throw e;
    }
  }

  /** Registers, then keeps status and lease fresh until {@link stop}. */
  async start(): Promise<void> {
    await this.register();
    await this.renewLease().catch((e) => this.o.log.warn({ err: String(e) }, 'lease renewal failed'));
    const every = (ms: number, fn: () => Promise<void>, what: string) => {
      const t = setInterval(() => {
        if (!this.stopped) fn().catch((e) => this.o.log.warn({ err: String(e) }, `${what} failed`));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.leaseIntervalMs ?? 10_000, () => this.renewLease(), 'lease renewal');
    every(this.o.statusIntervalMs ?? 10_000, () => this.updateStatus(), 'node status update');
  }

  /** Stops the timers (the Node object stays, as when a kubelet stops). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
