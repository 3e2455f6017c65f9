/**
 * Test helpers for the scheduler (Nomad's `scheduler/testing.go` Harness): tiny builders for nodes and pods, and a
 * {@link FakeCluster} that records bindings, status writes and events in memory and feeds the resulting pod updates
 * back to the scheduler — so scheduler behaviour is tested without an apiserver, deterministically.
 */

import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import type { ClusterApi, PodScheduledCondition } from './framework/interface.js';
import { NodeInfo, PodInfo } from './framework/node-info.js';
import type { Scheduler } from './scheduler.js';

let uidSeq = 0;

/** Options of {@link makeNode}. */
export interface NodeSpec {
  cpu?: string;
  memory?: string;
  pods?: number;
  ephemeral?: string;
  /** Extended resources, e.g. `{ 'nvidia.com/gpu': '4' }`. */
  extended?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

/** A Node with allocatable = capacity as given (defaults: 4 cpu, 32Gi, 110 pods). */
export function makeNode(name: string, s: NodeSpec = {}): Node {
  const res: Record<string, string> = { cpu: s.cpu ?? '4', memory: s.memory ?? '32Gi', pods: String(s.pods ?? 110), ...(s.ephemeral ? { 'ephemeral-storage': s.ephemeral } : {}), ...(s.extended ?? {}) };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, uid: `node-${name}`, labels: { 'kubernetes.io/hostname': name, ...(s.labels ?? {}) }, resourceVersion: '1' },
    spec: { ...(s.taints ? { taints: s.taints } : {}), ...(s.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity: res, allocatable: res },
  };
}

/** Options of {@link makePod}. */
export interface PodSpecLite {
  namespace?: string;
  /** Requests of the single container. */
  requests?: Record<string, string>;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: NonNullable<Pod['spec']>['affinity'];
  priority?: number;
  schedulerName?: string;
  initContainers?: NonNullable<Pod['spec']>['initContainers'];
  overhead?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A pending pod with one container. */
export function makePod(name: string, s: PodSpecLite = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: s.namespace ?? 'default', uid: `uid-${name}-${++uidSeq}`, labels: s.labels, resourceVersion: '1' },
    spec: {
      containers: [{ name: 'c', image: 'busybox', ...(s.requests ? { resources: { requests: s.requests } } : {}) }],
      ...(s.initContainers ? { initContainers: s.initContainers } : {}),
      ...(s.nodeName ? { nodeName: s.nodeName } : {}),
      ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
      ...(s.tolerations ? { tolerations: s.tolerations } : {}),
      ...(s.affinity ? { affinity: s.affinity } : {}),
      ...(s.priority !== undefined ? { priority: s.priority } : {}),
      ...(s.overhead ? { overhead: s.overhead } : {}),
      schedulerName: s.schedulerName ?? 'default-scheduler',
    },
    status: { phase: 'Pending' },
  };
}

/** A NodeInfo for `node` holding `pods` (plugin tests). */
export function nodeInfo(node: Node, ...pods: Pod[]): NodeInfo {
  const ni = new NodeInfo(node);
  for (const p of pods) ni.addPod(new PodInfo(p));
  return ni;
}

/**
 * An in-memory {@link ClusterApi}. Bindings succeed unless `failBind` says otherwise; a successful binding is fed back
 * to the attached scheduler as the pod update an informer would deliver (unless `confirmBindings` is false).
 */
export class FakeCluster implements ClusterApi {
  readonly bindings = new Map<string, string>();
  readonly events: Array<{ pod: string; type: string; reason: string; message: string }> = [];
  readonly conditions = new Map<string, PodScheduledCondition>();
  readonly deleted: string[] = [];
  failBind?: (pod: Pod, node: string) => Error | undefined;
  confirmBindings = true;
  scheduler?: Scheduler;

  async bind(pod: Pod, nodeName: string): Promise<void> {
    await Promise.resolve();
    const err = this.failBind?.(pod, nodeName);
    if (err) throw err;
    const key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
    this.bindings.set(key, nodeName);
    if (this.confirmBindings && this.scheduler) {
      const old: Pod = { ...pod, spec: { ...pod.spec!, nodeName: undefined } };
      this.scheduler.onPodUpdate(old, { ...pod, metadata: { ...pod.metadata, resourceVersion: String(Number(pod.metadata?.resourceVersion ?? 1) + 1) }, spec: { ...pod.spec!, nodeName } });
    }
  }

  async updatePodStatus(pod: Pod, condition: PodScheduledCondition): Promise<void> {
    this.conditions.set(`${pod.metadata!.namespace}/${pod.metadata!.name}`, condition);
  }

  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`, type, reason, message });
  }

  async deletePod(pod: Pod): Promise<void> {
    this.deleted.push(`${pod.metadata!.namespace}/${pod.metadata!.name}`);
  }
}

/** A deterministic random source (mulberry32) for tie-breaking in tests. */
export function seededRng(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
