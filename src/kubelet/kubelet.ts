/**
 * The kubelet's pod loop: an informer on the pods bound here (`fieldSelector=spec.nodeName=<node>`, as the
 * kubelet's apiserver pod source) feeds one {@link PodWorker} per pod UID; a PLEG-style relist of the runtime every
 * `relistMs` (upstream's GenericPLEG, 1 s) wakes the worker of any pod whose containers changed state. On start,
 * what the runtime still runs is adopted — workers are level-triggered over the runtime's persisted state, so a
 * running container of a pod still bound here is simply seen as running (no restart, restartCount is its attempt)
 * — and sandboxes/containers of pods that are gone are stopped and removed (orphan cleanup).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../client/dynamic.js';
import { EventRecorder } from '../client/events.js';
import { Informer } from '../client/informer.js';
import type { Logger } from '../client/log.js';
import { isNotFound } from '../client/rest.js';
import { CrashBackoff, LABEL_POD_UID, PodWorker, runtimeSig } from './pod-worker.js';
import type { ContainerStatus, PodSandboxStatus, RuntimeService } from './runtime/types.js';
import { trace } from './runtime/process/trace.js';
import type { GpuManager } from './devices/gpu-manager.js';
import type { ClusterDnsSettings } from './network/dns-config.js';
import { prewarmVolumeWriter } from './volume-writer.js';

/** Options of the {@link Kubelet}. */
export interface KubeletOptions {
  client: DynamicClient;
  nodeName: string;
  runtime: RuntimeService;
  /** Root of the kubelet's files: `pods/<uid>` (volumes) and `logs/pods/…`. */
  dataDir: string;
  /** The node's IP (status.hostIP). */
  hostIP: string;
  log: Logger;
  /** CrashLoopBackOff base and cap (upstream 10 s and 5 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Image pull back-off base and cap (upstream 10 s and 5 min). */
  imageBackoffBaseMs?: number;
  imageBackoffMaxMs?: number;
  /** Runtime relist period (upstream PLEG: 1 s). */
  relistMs?: number;
  /**
   * Periodic resync of every pod (upstream kubelet `syncFrequency`, 1 min): each worker syncs again this long (plus
   * up to 50% jitter, upstream's workerResyncIntervalJitterFactor) after its last sync, refreshing configMap, secret,
   * downwardAPI and projected volume contents.
   */
  resyncMs?: number;
  /** A pod sync running longer is reported once (default: pod-worker `SLOW_SYNC_MS`). */
  slowSyncMs?: number;
  /** tmpfs emptyDirs need root. */
  root?: boolean;
  nodeAllocatable?: Record<string, string>;
  /** Whole-GPU allocation; absent on a node without GPUs. */
  gpus?: GpuManager;
  /** Cluster DNS for ClusterFirst pods (`--cluster-dns`/`--cluster-domain`); absent: the host's resolv.conf. */
  dns?: ClusterDnsSettings;
}

/** See the module comment. */
export class Kubelet {
  readonly informer: Informer<Pod>;
  /** Services of every namespace, for the containers' service environment variables (upstream's service lister). */
  readonly services: Informer<Service>;
  private readonly workers = new Map<string, PodWorker>();
  private readonly recorder: EventRecorder;
  private readonly backoff: CrashBackoff;
  private readonly imageBackoff: CrashBackoff;
  private relistTimer?: NodeJS.Timeout;
  private lastSeen = new Map<string, string>();
  private relisting = false;
  private relistAgain = false;
  private relistSoonTimer?: NodeJS.Timeout;
  private unsubExit?: () => void;
  private stopped = false;

  constructor(private readonly o: KubeletOptions) {
    this.informer = new Informer<Pod>(o.client.resource<Pod>('v1', 'Pod'), {
      fieldSelector: `spec.nodeName=${o.nodeName}`,
      logger: o.log,
    });
    this.services = new Informer<Service>(o.client.resource<Service>('v1', 'Service'), { logger: o.log });
    this.recorder = new EventRecorder(o.client, { component: 'kubelet', host: o.nodeName, logger: o.log });
    this.backoff = new CrashBackoff(o.backoffBaseMs ?? 10_000, o.backoffMaxMs ?? 300_000);
    this.imageBackoff = new CrashBackoff(o.imageBackoffBaseMs ?? 10_000, o.imageBackoffMaxMs ?? 300_000);
    mkdirSync(join(o.dataDir, 'pods'), { recursive: true });
    mkdirSync(join(o.dataDir, 'logs', 'pods'), { recursive: true });
  }

  private worker(uid: string): PodWorker {
    let w = this.workers.get(uid);
    if (!w) {
      w = new PodWorker(uid, {
        client: this.o.client,
        services: () => this.services.lister.list(),
        runtime: this.o.runtime,
        nodeName: this.o.nodeName,
        hostIP: this.o.hostIP,
        podsDir: join(this.o.dataDir, 'pods'),
        logsDir: join(this.o.dataDir, 'logs', 'pods'),
        root: this.o.root ?? (typeof process.getuid === 'function' && process.getuid() === 0),
        backoff: this.backoff,
        imageBackoff: this.imageBackoff,
        recorder: this.recorder,
        log: this.o.log,
        nodeAllocatable: this.o.nodeAllocatable,
        gpus: this.o.gpus,
        dns: this.o.dns,
        resyncMs: this.o.resyncMs,
        slowSyncMs: this.o.slowSyncMs,
        onDone: (id) => {
          if (this.workers.get(id) === w) this.workers.delete(id);
        },
      });
      this.workers.set(uid, w);
    }
    return w;
  }

  /** Starts the pod informer, cleans up orphans once synced, and begins relisting the runtime. */
  async start(): Promise<void> {
    this.informer.addEventHandler({
      onAdd: (p) => {
        trace(p.metadata!.name!, 'kubelet-add');
        this.worker(p.metadata!.uid!).update(p);
      },
      onUpdate: (_o, p) => {
        trace(p.metadata!.name!, `kubelet-update ${p.metadata!.resourceVersion}`);
        this.worker(p.metadata!.uid!).update(p);
      },
      onDelete: (p) => this.workers.get(p.metadata!.uid!)?.update(undefined),
    });
    prewarmVolumeWriter(); // boots while the informers sync
    this.informer.start();
    this.services.start();
    // Upstream kubelet waits for its service lister before starting pods (service env vars must be complete).
    await Promise.all([this.informer.waitForSync(), this.services.waitForSync()]);
    await this.relist();
    // A container exit wakes the relist at once (as upstream's evented PLEG) instead of waiting for the next tick:
    // an init container's successor, a restart or a Completed status follow in milliseconds, not up to a second.
    this.unsubExit = this.o.runtime.onContainerExit?.(() => this.relistSoon());
    const tick = () => {
      if (this.stopped) return;
      this.relistTimer = setTimeout(() => {
        this.relist()
          .catch((e) => this.o.log.warn({ err: String(e) }, 'runtime relist failed'))
          .finally(tick);
      }, this.o.relistMs ?? 1000);
      this.relistTimer.unref();
    };
    tick();
  }

  /** A relist in a few milliseconds, coalescing bursts of exits; one running now is followed by another. */
  private relistSoon(): void {
    if (this.stopped || this.relistSoonTimer) return;
    this.relistSoonTimer = setTimeout(() => {
      this.relistSoonTimer = undefined;
      if (this.relisting) {
        this.relistAgain = true;
        return;
      }
      this.relist().catch((e) => this.o.log.warn({ err: String(e) }, 'runtime relist failed'));
    }, 2);
    this.relistSoonTimer.unref();
  }

  private knownUids(): Set<string> {
    return new Set(this.informer.lister.list().map((p) => p.metadata!.uid!));
  }

  /**
   * PLEG relist: wakes workers whose pods' containers changed, and removes sandboxes/containers whose pod is no
   * longer bound here (after an agent restart, or a pod force-deleted while the agent was down).
   */
  async relist(): Promise<void> {
    if (this.relisting) return;
    this.relisting = true;
    try {
      const known = this.knownUids();
      const containers = await this.o.runtime.listContainers();
      const sandboxes = await this.o.runtime.listPodSandbox();
      // After both listings: a worker listing from then on sees at least what they saw.
      const listedAt = performance.now();
      const byUid = new Map<string, { c: ContainerStatus[]; s: PodSandboxStatus[] }>();
      const of = (uid: string) => {
        let e = byUid.get(uid);
        if (!e) byUid.set(uid, (e = { c: [], s: [] }));
        return e;
      };
      for (const c of containers) if (c.labels[LABEL_POD_UID]) of(c.labels[LABEL_POD_UID]).c.push(c);
      for (const sb of sandboxes) if (sb.labels[LABEL_POD_UID]) of(sb.labels[LABEL_POD_UID]).s.push(sb);
      const sig = new Map<string, string>();
      for (const [uid, e] of byUid) sig.set(uid, runtimeSig(e.c, e.s));
      for (const [uid, v] of sig) {
        if (this.lastSeen.get(uid) !== v) this.workers.get(uid)?.relisted(listedAt, v);
        if (!known.has(uid) && !this.workers.has(uid)) {
          this.o.log.info({ uid }, 'removing containers of a pod no longer bound to this node');
          for (const s of sandboxes.filter((x) => x.labels[LABEL_POD_UID] === uid)) await this.o.runtime.removePodSandbox(s.id);
          for (const c of containers.filter((x) => x.labels[LABEL_POD_UID] === uid)) await this.o.runtime.removeContainer(c.id);
        }
      }
      this.lastSeen = sig;
      // Devices of pods neither bound here nor still handled by a worker go back (upstream UpdateAllocatedDevices).
      this.o.gpus?.retain((uid) => known.has(uid) || this.workers.has(uid));
    } finally {
      this.relisting = false;
      if (this.relistAgain) {
        this.relistAgain = false;
        this.relistSoon();
      }
    }
  }

  /**
   * Stops the loop. Without `drain`, containers keep running (a restarted agent adopts them); with `drain`, every
   * pod is stopped with its grace period and marked Failed as upstream's graceful node shutdown does.
   */
  async stop(drain = false): Promise<void> {
    this.stopped = true;
    if (this.relistTimer) clearTimeout(this.relistTimer);
    if (this.relistSoonTimer) clearTimeout(this.relistSoonTimer);
    this.unsubExit?.();
    await Promise.all([this.informer.stop(), this.services.stop()]);
    const workers = [...this.workers.values()];
    if (drain) {
      await Promise.all(workers.map((w) => w.drain().catch((e) => this.o.log.warn({ err: String(e) }, 'drain failed'))));
      await Promise.all(
        this.informer.lister.list().map(async (p) => {
          if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return;
          try {
            await this.o.client.resource<Pod>('v1', 'Pod').patch(p.metadata!.namespace, p.metadata!.name!, 'merge', {
              status: { phase: 'Failed', reason: 'Terminated', message: 'Pod was terminated in response to imminent node shutdown.' },
            }, { subresource: 'status' });
          } catch (e) {
            if (!isNotFound(e)) this.o.log.warn({ err: String(e) }, 'marking a drained pod failed');
          }
        }),
      );
    } else for (const w of workers) w.detach();
    this.workers.clear();
    await this.recorder.close();
  }
}
