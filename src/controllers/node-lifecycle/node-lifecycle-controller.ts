/**
 * The node lifecycle controller (upstream `pkg/controller/nodelifecycle`) and its NoExecute taint manager
 * (upstream `pkg/controller/tainteviction`, part of this controller before 1.29).
 *
 * Health: a node is alive while its kubelet renews its Lease in `kube-node-lease` or posts a new Ready heartbeat.
 * As upstream, the controller does not trust those timestamps (clocks differ): it remembers, on its own clock, when
 * it last *saw* either change (`probeTimestamp`). Once that is older than `nodeMonitorGracePeriodMs`, the node's
 * Ready, MemoryPressure, DiskPressure and PIDPressure conditions become Unknown (`NodeStatusUnknown`, "Kubelet
 * stopped posting node status."), a `NodeNotReady` event is recorded and the node's pods are marked not Ready
 * (upstream `MarkPodsNotReady`).
 *
 * Taints: Ready=False → `node.kubernetes.io/not-ready`, Ready=Unknown → `node.kubernetes.io/unreachable`, both
 * NoExecute and NoSchedule; pressure conditions and `spec.unschedulable` → their NoSchedule taints; all removed
 * when the condition clears. Upstream's per-zone eviction rate limiting (`--node-eviction-rate`, zone states) is not
 * implemented: taints are applied at once.
 *
 * Eviction: a pod on a node with NoExecute taints it does not tolerate is deleted at once; if it tolerates them, it
 * is deleted after the smallest `tolerationSeconds` of the tolerations used, counted from when the controller first
 * saw the pod under those taints (as upstream's timed queue); tolerations without seconds keep it forever. Pods
 * with no not-ready/unreachable toleration at all get `defaultNotReadyTolerationSeconds` for those two taints,
 * standing in for the apiserver's DefaultTolerationSeconds admission (see `effectiveTolerations`). Before deleting,
 * the pod gets the `DisruptionTarget` condition (reason `DeletionByTaintManager`) and a `TaintManagerEviction` event.
 */
import type { Node, NodeCondition, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { controllerFor, type ReconcileRequest } from '../../client/controller.js';
import { isNotFound } from '../../client/rest.js';
import type { ControllerDefinition, ControllerContext, Runnable } from '../types.js';
import { desiredTaints, effectiveTolerations, noExecuteDecision, reconcileTaints } from './taints.js';
import { rfc3339 } from '../../api/time.js';

/** Namespace of the kubelets' heartbeat Leases (`v1.NamespaceNodeLease`). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const POD_NODE_INDEX = 'node-lifecycle/spec.nodeName';
const UNKNOWN_REASON = 'NodeStatusUnknown';
const UNKNOWN_MESSAGE = 'Kubelet stopped posting node status.';
const NEVER_REASON = 'NodeStatusNeverUpdated';
const NEVER_MESSAGE = 'Kubelet never posted node status.';
/** Conditions set to Unknown with Ready (upstream `remainingNodeConditionTypes`). */
const OTHER_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure'];


/** What the controller remembers per node (upstream `nodeHealthData`). */
interface NodeHealth {
  probeTimestamp: number;
  heartbeat?: string;
  leaseRenew?: string;
  readyStatus?: string;
}

/**
 * The conditions an unresponsive node should show (upstream `tryUpdateNodeHealth`'s grace-period branch), or
 * undefined when they already do.
 */
export function unknownConditions(conditions: readonly NodeCondition[] | undefined, nowIso: string, creationIso?: string): NodeCondition[] | undefined {
  const out = (conditions ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of ['Ready', ...OTHER_CONDITIONS]) {
    const c = out.find((x) => x.type === type);
    if (!c) {
      out.push({ type, status: 'Unknown', reason: NEVER_REASON, message: NEVER_MESSAGE, lastHeartbeatTime: creationIso ?? nowIso, lastTransitionTime: nowIso });
      changed = true;
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = UNKNOWN_REASON;
      c.message = UNKNOWN_MESSAGE;
      c.lastTransitionTime = nowIso;
      changed = true;
    }
  }
  return changed ? out : undefined;
}

function podsOnNode(pods: { lister: { byIndex(n: string, v: string): Pod[] } }, node: string): Pod[] {
  return pods.lister.byIndex(POD_NODE_INDEX, node);
}

/** See the module comment. */
export function setupNodeLifecycleController(ctx: ControllerContext): Runnable {
  const nodes = ctx.informers.for<Node>('v1', 'Node');
  const leases = ctx.informers.for<Lease>('coordination.k8s.io/v1', 'Lease');
  const pods = ctx.informers.for<Pod>('v1', 'Pod');
  try {
    pods.addIndexer(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  } catch {
    // Already added by an earlier setup on this shared informer: the same function, so nothing to do.
  }
  const nodeClient = ctx.client.resource<Node>('v1', 'Node');
  const podClient = ctx.client.resource<Pod>('v1', 'Pod');
  const recorder = ctx.recorder('node-controller');
  const taintRecorder = ctx.recorder('taint-eviction-controller');
  const clock = ctx.clock;
  const grace = ctx.config.nodeMonitorGracePeriodMs;
  const health = new Map<string, NodeHealth>();
  /** Nodes whose pods still have to be marked not Ready after a Ready→not-Ready transition. */
  const markPending = new Set<string>();
  /** Pods scheduled for taint eviction: key → when first seen under the taints (upstream's timed worker queue). */
  const scheduled = new Map<string, number>();
  const nodeRef = (n: Node) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.metadata?.name, uid: n.metadata?.uid } });
  const podRef = (p: Pod) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace, uid: p.metadata?.uid } });

  async function markPodsNotReady(nodeName: string): Promise<void> {
    for (const pod of podsOnNode(pods, nodeName)) {
      const conds = pod.status?.conditions ?? [];
      const ready = conds.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      const next: Pod = {
        ...pod,
        status: { ...pod.status, conditions: conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: rfc3339(clock.now()) } : c)) },
      };
      try {
        await podClient.updateStatus(pod.metadata!.namespace, next);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      recorder.event(podRef(pod), 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }

  const lifecycle = controllerFor(nodes, { name: 'node-lifecycle', workers: ctx.config.workers, logger: ctx.logger('node-lifecycle-controller'), clock })
    .watches(leases, (l) => (l.metadata?.namespace === NODE_LEASE_NAMESPACE && l.metadata.name ? [{ name: l.metadata.name }] : []))
    .complete({
      async reconcile({ name }) {
        let node = nodes.lister.get(undefined, name);
        if (!node) {
          health.delete(name);
          markPending.delete(name);
          return;
        }
        const now = clock.now();
        const lease = leases.lister.get(NODE_LEASE_NAMESPACE, name);
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
        let h = health.get(name);
        if (!h) {
          h = { probeTimestamp: now, heartbeat: ready?.lastHeartbeatTime, leaseRenew: lease?.spec?.renewTime, readyStatus: ready?.status };
          health.set(name, h);
          recorder.event(nodeRef(node), 'Normal', 'RegisteredNode', `Node ${name} event: Registered Node ${name} in Controller`);
        } else {
          if (ready?.lastHeartbeatTime !== h.heartbeat) {
            h.heartbeat = ready?.lastHeartbeatTime;
            h.probeTimestamp = now;
          }
          if (lease?.spec?.renewTime !== h.leaseRenew) {
            h.leaseRenew = lease?.spec?.renewTime;
            h.probeTimestamp = now;
          }
        }

        const expired = now - h.probeTimestamp > grace;
        if (expired) {
          const conds = unknownConditions(node.status?.conditions, rfc3339(now), node.metadata?.creationTimestamp);
          if (conds) node = await nodeClient.updateStatus(undefined, { ...node, status: { ...node.status, conditions: conds } });
        }
        const conditions = node.status?.conditions ?? [];
        const readyStatus = conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown';

        // Ready True → not True: event and MarkPodsNotReady (retried until it succeeds or the node recovers).
        if (h.readyStatus === 'True' && readyStatus !== 'True') {
          recorder.event(nodeRef(node), 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
          markPending.add(name);
        }
        h.readyStatus = readyStatus;
        if (readyStatus === 'True') markPending.delete(name);

        const taints = reconcileTaints(node.spec?.taints, desiredTaints(conditions, node.spec?.unschedulable === true), rfc3339(now));
        if (taints) await nodeClient.update(undefined, { ...node, spec: { ...node.spec, taints } });

        if (markPending.has(name)) {
          await markPodsNotReady(name);
          markPending.delete(name);
        }
        // Look again exactly when the grace period would run out (upstream polls every nodeMonitorPeriod).
        return { requeueAfter: expired ? Math.max(grace, 1000) : Math.max(1, h.probeTimestamp + grace - now + 1) };
      },
    });

  const evictor = controllerFor(pods, { name: 'taint-eviction', workers: ctx.config.workers, logger: ctx.logger('taint-eviction-controller'), clock })
    .watches(nodes, (n): ReconcileRequest[] => podsOnNode(pods, n.metadata!.name!).map((p) => ({ namespace: p.metadata!.namespace, name: p.metadata!.name! })))
    .complete({
      async reconcile({ namespace, name }) {
        const key = `${namespace}/${name}`;
        const pod = pods.lister.get(namespace, name);
        const node = pod?.spec?.nodeName ? nodes.lister.get(undefined, pod.spec.nodeName) : undefined;
        const taints = (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
        const cancel = () => {
          if (scheduled.delete(key) && pod) taintRecorder.event(podRef(pod), 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
        };
        if (!pod || pod.metadata?.deletionTimestamp) {
          scheduled.delete(key);
          return;
        }
        if (taints.length === 0) return cancel();
        const decision = noExecuteDecision(taints, effectiveTolerations(pod.spec?.tolerations, ctx.config.defaultNotReadyTolerationSeconds));
        if (!decision.evictNow && decision.minSeconds === undefined) return cancel();
        const now = clock.now();
        if (!decision.evictNow) {
          let start = scheduled.get(key);
          if (start === undefined) scheduled.set(key, (start = now));
          const deadline = start + decision.minSeconds! * 1000;
          if (now < deadline) return { requeueAfter: deadline - now };
        }
        taintRecorder.event(podRef(pod), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
        const conds = (pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
        conds.push({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: rfc3339(now) });
        try {
          await podClient.updateStatus(namespace, { ...pod, status: { ...pod.status, conditions: conds } });
          await podClient.delete(namespace, name, { preconditions: { uid: pod.metadata?.uid } });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        scheduled.delete(key);
      },
    });

  return {
    async start() {
      await lifecycle.start();
      await evictor.start();
    },
    async stop() {
      await evictor.stop();
      await lifecycle.stop();
    },
  };
}

/** The node lifecycle controller's registration (kube-controller-manager's `node-lifecycle`, with taint eviction). */
export const nodeLifecycleControllerDefinition: ControllerDefinition = { name: 'node-lifecycle', setup: setupNodeLifecycleController };
