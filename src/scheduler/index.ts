/**
 * Entry point of Skiff's scheduler: {@link startScheduler} connects a {@link Scheduler} to the apiserver — node and
 * pod informers feed its cache and queue, bindings go through `POST pods/NAME/binding`, the `PodScheduled` condition
 * through the pods status subresource, events through an aggregating recorder as `default-scheduler` — and, unless
 * disabled, runs it only while holding the Lease `kube-system/skiff-scheduler`, like kube-scheduler's
 * `--leader-elect`. `skiff server` and `skiff scheduler` call it.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Namespace, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { selectorFromSet } from '../api/labels.js';
import { POD_GROUP_LABEL, type PodGroup } from './plugins/coscheduling/index.js';
import { realClock, type Clock } from '../client/clock.js';
import { DynamicClient, type ResourceClient } from '../client/dynamic.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import { LeaderElector } from '../client/leader-election.js';
import { defaultLogger, type Logger } from '../client/log.js';
import type { InformerFactory } from '../controllers/informer-factory.js';
import { ActionType, type ClusterApi, type PluginConfig } from './framework/interface.js';
import { defaultProfile } from './plugins/registry.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';
import { rfc3339 } from '../api/time.js';

export { Scheduler, fitErrorMessage, numFeasibleNodesToFind, type SchedulerOptions } from './scheduler.js';
export { defaultProfile, inTreeRegistry, DEFAULT_SCHEDULER_NAME } from './plugins/registry.js';

/** Lease the scheduler's replicas compete for. */
export const SCHEDULER_LEASE = { namespace: 'kube-system', name: 'skiff-scheduler' };

/** Options of {@link startScheduler}. */
export interface StartSchedulerOptions {
  client: DynamicClient;
  /** Share informers with other components in the process (skiff server); otherwise the scheduler makes its own. */
  informers?: InformerFactory;
  /** false: schedule at once (tests, single process). Otherwise options of the Lease election. */
  leaderElection?: false | { identity?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Per-plugin overrides of the default profile (args, weights), e.g. MostAllocated for GPU bin-packing. */
  plugins?: PluginConfig[];
  percentageOfNodesToScore?: number;
  clock?: Clock;
  logger?: Logger;
  /** Passed through to the {@link Scheduler} (backoffs, rng, registry…). */
  scheduler?: Partial<Omit<SchedulerOptions, 'cluster'>>;
  /** Called when leadership is lost (kube-scheduler exits then; the caller decides). */
  onLeadershipLost?: () => void;
}

/** A running scheduler. */
export interface RunningScheduler {
  /** The scheduler while leading (undefined while waiting for the Lease). */
  readonly scheduler: Scheduler | undefined;
  stop(): Promise<void>;
}

/** The {@link ClusterApi} over the apiserver. */
export function apiClusterApi(client: DynamicClient, recorder: EventRecorder): ClusterApi {
  const pods: ResourceClient<Pod> = client.resource<Pod>('v1', 'Pod');
  return {
    async bind(pod, nodeName) {
      const m = pod.metadata!;
      await pods.createSubresource(m.namespace, m.name!, 'binding', {
        apiVersion: 'v1', kind: 'Binding',
        metadata: { name: m.name, namespace: m.namespace, uid: m.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      }, { discardResult: true });
    },
    async updatePodStatus(pod, condition, nominatedNodeName) {
      const m = pod.metadata!;
      const status: Record<string, unknown> = {
        conditions: [{ ...condition, lastProbeTime: null, lastTransitionTime: rfc3339() }],
      };
      if (nominatedNodeName !== undefined) status.nominatedNodeName = nominatedNodeName || null;
      await pods.patch(m.namespace, m.name!, 'strategic', { status }, { subresource: 'status' });
    },
    event(pod, type, reason, message) {
      recorder.event({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata }, type, reason, message);
    },
    async deletePod(pod, reason) {
      const m = pod.metadata!;
      if (reason === 'PreemptionByScheduler') {
        // Upstream preemption marks the victim first, so controllers and `kubectl describe` see why it goes.
        const cond = {
          type: 'DisruptionTarget', status: 'True', reason, message: `${pod.spec?.schedulerName || 'default-scheduler'}: preempting to accommodate a higher priority pod`,
          lastTransitionTime: rfc3339(),
        };
        await pods.patch(m.namespace, m.name!, 'strategic', { status: { conditions: [cond] } }, { subresource: 'status' });
      }
      await pods.delete(m.namespace, m.name!, { preconditions: { uid: m.uid } });
    },
  };
}

/**
 * Starts the scheduler (see the module comment). Resolves once started — with leader election that is before the
 * Lease is won; `scheduler` is set while leading.
 */
export function startScheduler(opts: StartSchedulerOptions): RunningScheduler {
  const log = opts.logger ?? defaultLogger('scheduler');
  const clock = opts.clock ?? realClock;
  let current: { scheduler: Scheduler; stop(): Promise<void> } | undefined;

  const run = () => {
    // One Scheduled event per bound pod, as kube-scheduler writes them (it used to drop ~90 % of them at 2,000 pods/s:
    // eight writes in flight on the scheduler's own client, queued behind the bindings, and a small queue). Events
    // get a client of their own, as kube-scheduler's event clientset (own connection, slots and rate limiter), and
    // are background work: while pods wait to be scheduled or bound they are written one at a time, as
    // kube-scheduler's event broadcaster writes them (one goroutine records to the sink, event after event), so in
    // a burst the apiserver's capacity goes to the bindings — the scheduler's output — and the events wait in the
    // recorder's queue of up to 10,000 (upstream's holds 1,000 and drops beyond); once the scheduler is idle, four
    // at a time (fewer round trips for the backlog). Measured on 2 cores, basic 5000/10000, all 10,000 events
    // written: 64 in flight 1,425–1,477 pods/s, 8 in flight 1,657–1,897, 4 in flight 1,602–1,734, 1 in flight
    // 1,894–2,186 (interleaved runs); with one in flight the CPU per pod up to the last binding is the same as with
    // no events at all.
    const eventClient = new DynamicClient(opts.client.rest.sibling());
    const recorder: EventRecorder = new EventRecorder(eventClient, {
      component: 'default-scheduler', clock, logger: log, maxInFlight: 4, maxQueue: 10_000,
      // `scheduler` is set below, before the first event can be recorded.
      busy: (): boolean => scheduler.queue.hasWork(),
    });
    // DefaultPreemption reads PodDisruptionBudgets from a shared informer (upstream's PDB lister).
    const pdbInf: Informer<PodDisruptionBudget> = opts.informers
      ? opts.informers.for<PodDisruptionBudget>('policy/v1', 'PodDisruptionBudget')
      : new Informer<PodDisruptionBudget>(opts.client.resource<PodDisruptionBudget>('policy/v1', 'PodDisruptionBudget'), { logger: log, clock });
    const preemption: PluginConfig = { name: 'DefaultPreemption', args: { listPDBs: () => pdbInf.lister.list() } };
    // Coscheduling reads PodGroups and the pods of a group from informers (podInf is created below).
    const pgInf: Informer<PodGroup> = opts.informers
      ? opts.informers.for<PodGroup>('scheduling.x-k8s.io/v1alpha1', 'PodGroup')
      : new Informer<PodGroup>(opts.client.resource<PodGroup>('scheduling.x-k8s.io/v1alpha1', 'PodGroup'), { logger: log, clock });
    const gang: PluginConfig = {
      name: 'Coscheduling',
      args: {
        getPodGroup: (ns: string, name: string) => pgInf.lister.get(ns, name),
        listPDBs: () => pdbInf.lister.list(),
        listGroupPods: (ns: string, name: string) => podInf.lister.list(ns, selectorFromSet({ [POD_GROUP_LABEL]: name })),
      },
    };
    // InterPodAffinity resolves namespaceSelector terms against Namespace labels (upstream's namespace lister).
    const nsInf: Informer<Namespace> = opts.informers
      ? opts.informers.for<Namespace>('v1', 'Namespace')
      : new Informer<Namespace>(opts.client.resource<Namespace>('v1', 'Namespace'), { logger: log, clock });
    const userIpa = opts.plugins?.find((p) => p.name === 'InterPodAffinity');
    const ipa: PluginConfig = { ...userIpa, name: 'InterPodAffinity', args: { ...(userIpa?.args as object | undefined), namespaceLister: nsInf.lister } };
    const scheduler = new Scheduler({
      cluster: apiClusterApi(opts.client, recorder),
      profile: defaultProfile({ plugins: [preemption, gang, ...(opts.plugins ?? []).filter((p) => p.name !== 'InterPodAffinity'), ipa], percentageOfNodesToScore: opts.percentageOfNodesToScore }),
      clock,
      logger: log,
      ...opts.scheduler,
    });
    const own = !opts.informers;
    const nodeInf: Informer<Node> = opts.informers ? opts.informers.for<Node>('v1', 'Node') : new Informer<Node>(opts.client.resource<Node>('v1', 'Node'), { logger: log, clock });
    const podInf: Informer<Pod> = opts.informers ? opts.informers.for<Pod>('v1', 'Pod') : new Informer<Pod>(opts.client.resource<Pod>('v1', 'Pod'), { logger: log, clock });
    const offs = [
      nodeInf.addEventHandler({
        onAdd: (n) => scheduler.onNodeAdd(n),
        onUpdate: (o, n) => scheduler.onNodeUpdate(o, n),
        onDelete: (n) => scheduler.onNodeDelete(n),
      }),
      podInf.addEventHandler({
        onAdd: (p) => scheduler.onPodAdd(p),
        onUpdate: (o, p) => scheduler.onPodUpdate(o, p),
        onDelete: (p) => scheduler.onPodDelete(p),
      }),
      // A namespace's labels decide which pods namespaceSelector terms match: pods rejected by InterPodAffinity retry.
      nsInf.addEventHandler({
        onAdd: (n) => scheduler.queue.moveAllToActiveOrBackoffQueue({ resource: 'Namespace', actionType: ActionType.Add, label: 'NamespaceAdd' }, undefined, n),
        onUpdate: (o, n) => scheduler.queue.moveAllToActiveOrBackoffQueue({ resource: 'Namespace', actionType: ActionType.Update, label: 'NamespaceUpdate' }, o, n),
      }),
      pgInf.addEventHandler({
        onAdd: (g) => scheduler.queue.moveAllToActiveOrBackoffQueue({ resource: 'PodGroup', actionType: ActionType.Add, label: 'PodGroupAdd' }, undefined, g),
        onUpdate: (o, g) => scheduler.queue.moveAllToActiveOrBackoffQueue({ resource: 'PodGroup', actionType: ActionType.Update, label: 'PodGroupUpdate' }, o, g),
      }),
    ];
    let stopped = false;
    if (own) {
      nodeInf.start();
      podInf.start();
      pdbInf.start();
      pgInf.start();
      nsInf.start();
    } else {
      opts.informers!.start();
    }
    // Schedule only once both caches are synced, so the first pods see every node and every bound pod.
    void Promise.all([nodeInf.waitForSync(), podInf.waitForSync()]).then(([a, b]) => {
      if (stopped || !a || !b) return;
      log.info({}, 'scheduler caches synced; scheduling');
      scheduler.start();
    });
    current = {
      scheduler,
      async stop() {
        stopped = true;
        for (const off of offs) off();
        await scheduler.stop();
        if (own) await Promise.all([nodeInf.stop(), podInf.stop(), pdbInf.stop(), pgInf.stop(), nsInf.stop()]);
        await recorder.close();
        eventClient.close();
      },
    };
  };

  if (opts.leaderElection === false) {
    run();
    return {
      get scheduler() { return current?.scheduler; },
      async stop() { await current?.stop(); },
    };
  }
  const le = opts.leaderElection ?? {};
  const identity = le.identity ?? `${hostname()}_${randomUUID()}`;
  const elector = new LeaderElector(opts.client, {
    ...SCHEDULER_LEASE,
    identity,
    leaseDurationMs: le.leaseDurationMs,
    renewDeadlineMs: le.renewDeadlineMs,
    retryPeriodMs: le.retryPeriodMs,
    releaseOnCancel: true,
    clock,
    logger: log,
    callbacks: {
      onStartedLeading: () => run(),
      onStoppedLeading: () => {
        const c = current;
        current = undefined;
        void c?.stop();
        opts.onLeadershipLost?.();
      },
    },
  });
  void elector.run();
  log.info({ identity }, 'scheduler waiting for leadership');
  return {
    get scheduler() { return current?.scheduler; },
    async stop() {
      const c = current;
      await elector.stop();
      await c?.stop();
    },
  };
}
