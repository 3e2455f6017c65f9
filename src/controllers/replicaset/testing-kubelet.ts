/**
 * A stand-in kubelet for controller tests and end-to-end runs without a node agent: it watches pods and, after a
 * short delay, marks each one Running with Ready/ContainersReady True and ready container statuses — what a real
 * kubelet reports once containers start and pass readiness. Optionally it first binds the pod to a node through
 * `pods/binding` (as the scheduler would); bound pods are deleted gracefully by the apiserver, so it also confirms
 * their deletion with a grace-period-0 delete, as a kubelet does once containers stopped. Pods for which `ready`
 * returns false are left Pending (to model a rollout that never becomes available).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { controllerFor, type Controller } from '../../client/controller.js';
import type { DynamicClient } from '../../client/dynamic.js';
import { Informer } from '../../client/informer.js';
import type { Logger } from '../../client/log.js';
import { isNotFound } from '../../client/rest.js';

/** Options of {@link startTestingKubelet}. */
export interface TestingKubeletOptions {
  /** How long after first seeing a pod it becomes Running+Ready (default 20 ms). */
  delayMs?: number;
  /** Bind unscheduled pods to this node name first (no scheduler runs in tests). */
  bindTo?: string;
  /** Which pods may become ready (default: all). */
  ready?: (pod: Pod) => boolean;
  logger?: Logger;
}

/** A running testing kubelet. */
export interface TestingKubelet {
  stop(): Promise<void>;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Starts the testing kubelet on its own pod informer; see the module comment. */
export async function startTestingKubelet(client: DynamicClient, opts: TestingKubeletOptions = {}): Promise<TestingKubelet> {
  const pods = client.resource<Pod>('v1', 'Pod');
  const logger = opts.logger ?? quiet;
  const inf = new Informer<Pod>(pods, { logger });
  const firstSeen = new Map<string, number>();
  const delay = opts.delayMs ?? 20;
  const ctrl: Controller = controllerFor(inf, { name: 'testing-kubelet', workers: 4, logger }).complete({
    async reconcile(req) {
      const key = `${req.namespace}/${req.name}`;
      const pod = inf.lister.get(req.namespace, req.name);
      if (!pod) {
        firstSeen.delete(key);
        return;
      }
      if (pod.metadata?.deletionTimestamp) {
        if (pod.spec?.nodeName) {
          try {
            await pods.delete(req.namespace, req.name, { gracePeriodSeconds: 0 });
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        return;
      }
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready || (opts.ready && !opts.ready(pod))) return;
      const now = Date.now();
      const seen = firstSeen.get(key) ?? now;
      firstSeen.set(key, seen);
      if (now - seen < delay) return { requeueAfter: delay - (now - seen) };
      if (opts.bindTo && !pod.spec?.nodeName) {
        await pods.createSubresource(req.namespace, req.name, 'binding', {
          apiVersion: 'v1', kind: 'Binding', metadata: { name: req.name }, target: { apiVersion: 'v1', kind: 'Node', name: opts.bindTo },
        });
        return;
      }
      const t = rfc3339(now);
      const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
      const status: Pod['status'] = {
        phase: 'Running',
        conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')] as never,
        hostIP: '10.0.0.1',
        podIP: `10.42.0.${1 + Math.floor(Math.random() * 250)}`,
        startTime: pod.status?.startTime ?? t,
        containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
          name: c.name, image: c.image ?? '', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } },
        })),
      };
      await pods.updateStatus(req.namespace, { ...pod, status });
    },
  });
  await ctrl.start();
  return {
    async stop() {
      await ctrl.stop();
      await inf.stop();
    },
  };
}
