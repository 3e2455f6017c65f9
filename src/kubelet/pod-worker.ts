/**
 * One pod worker per pod (the kubelet's `podWorkers` + `SyncPod`/`computePodActions`/`killPod`): syncs are
 * serialized per pod and level-triggered — each reads the newest pod from the API cache and the runtime's containers
 * (labelled with the pod UID and container name; `metadata.attempt` is the restart count) and converges:
 * sandbox → volumes → init containers in order (sidecars, restartPolicy Always, left running and started before the
 * next) → containers; restarts follow restartPolicy with CrashLoopBackOff (base doubling to max, reset once a
 * container ran for 2×max, upstream's flowcontrol.Backoff); images the runtime cannot resolve give ErrImagePull then
 * ImagePullBackOff; pods marked for deletion are killed (preStop, SIGTERM, grace, SIGKILL) and then deleted with
 * grace 0 — the kubelet's confirmation, as upstream. Status is written only on change.
 */
import http from 'node:http';
import { join } from 'node:path';
import type { Container, LifecycleHandler, Pod, PodStatus, Service } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../client/dynamic.js';
import type { EventRecorder } from '../client/events.js';
import type { Logger } from '../client/log.js';
import { isConflict, isNotFound } from '../client/rest.js';
import { parseQuantity, quantityToNumber } from '../api/quantity.js';
import { buildEnv, ContainerConfigError, expand, ObjectSource, serviceEnv, type DownwardContext } from './env.js';
import { ProbeWorker, type ProbeTarget } from './probes.js';
import { ANNOTATION_CONTAINER_SLOTS, ImagePullError, type ContainerConfig, type ContainerStatus, type LinuxContainerResources, type RuntimeService } from './runtime/types.js';
import { computePodStatus, isSidecar, podQOS, type ContainerView } from './status.js';
import { PodVolumes, VolumeSetupError } from './volumes.js';
import { trace } from './runtime/process/trace.js';
import { ADMISSION_ERROR_REASON, DeviceAdmissionError, type GpuManager } from './devices/gpu-manager.js';
import { DEFAULT_CLUSTER_DOMAIN, podDnsConfig, type ClusterDnsSettings } from './network/dns-config.js';
import { sameJson } from '../util/same-json.js';

/** Labels the kubelet puts on sandboxes and containers (the names dockershim/CRI kubelets use). */
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';

/**
 * What the PLEG relist compares between two listings of one pod: the ids and states of its containers, then of its
 * sandboxes, each in the runtime's listing order (createdAt).
 */
export function runtimeSig(containers: readonly { id: string; state: string }[], sandboxes: readonly { id: string; state: string }[]): string {
  let sig = '';
  for (const c of containers) sig += `${c.id.slice(0, 8)}:${c.state};`;
  for (const s of sandboxes) sig += `${s.id.slice(0, 8)}:${s.state};`;
  return sig;
}

/** Restart back-off per key (upstream flowcontrol.Backoff as the kubelet uses it). */
export class CrashBackoff {
  private readonly entries = new Map<string, { delay: number; lastUpdate: number }>();
  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {}

  /** Remaining back-off (ms) for a container that finished at `eventMs`, or 0 when it may restart now. */
  remaining(key: string, eventMs: number, now = Date.now()): number {
    const e = this.entries.get(key);
    if (!e || eventMs - e.lastUpdate > 2 * this.maxMs) return 0;
    return Math.max(0, e.delay - (now - eventMs));
  }

  /** Current delay of `key` (for messages). */
  delay(key: string): number {
    return this.entries.get(key)?.delay ?? this.baseMs;
  }

  /** Records a (re)start: the next back-off doubles, or starts at base after a long quiet period. */
  next(key: string, now = Date.now()): void {
    const e = this.entries.get(key);
    if (!e || now - e.lastUpdate > 2 * this.maxMs) this.entries.set(key, { delay: this.baseMs, lastUpdate: now });
    else this.entries.set(key, { delay: Math.min(e.delay * 2, this.maxMs), lastUpdate: now });
  }

  /** Forgets every key with this prefix (pod removed). */
  forget(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

/** What a pod worker needs from its kubelet. */
export interface PodWorkerDeps {
  client: DynamicClient;
  /** The Services the kubelet sees (its Service informer), for the service environment variables. */
  services?: () => Service[];
  runtime: RuntimeService;
  nodeName: string;
  hostIP: string;
  /** `<dataDir>/pods`: per-pod directories (volumes). */
  podsDir: string;
  /** `<dataDir>/logs/pods`: per-pod log directories (kubelet's /var/log/pods). */
  logsDir: string;
  /** Whether tmpfs mounts are possible. */
  root: boolean;
  backoff: CrashBackoff;
  imageBackoff: CrashBackoff;
  recorder: EventRecorder;
  log: Logger;
  nodeAllocatable?: Record<string, string>;
  /** Whole-GPU allocation (admission, env, release); absent: GPU requests are ignored. */
  gpus?: GpuManager;
  /** Cluster DNS (`--cluster-dns`/`--cluster-domain`); absent: ClusterFirst pods get the host's resolv.conf. */
  dns?: ClusterDnsSettings;
  /** Periodic resync (upstream syncFrequency; default {@link DEFAULT_RESYNC_MS}), jittered by up to 50% per pod. */
  resyncMs?: number;
  /** A sync running longer is reported once (default {@link SLOW_SYNC_MS}). */
  slowSyncMs?: number;
  /** Called once the worker has finished with a pod (removed from the node). */
  onDone(uid: string): void;
}

const CPU_PERIOD = 100_000;

/** Upstream kubelet's default `syncFrequency`: every pod is synced again a minute (plus jitter) after its last sync. */
export const DEFAULT_RESYNC_MS = 60_000;
/** Upstream's workerResyncIntervalJitterFactor: the period is stretched by a random 0–50%. */
const RESYNC_JITTER = 0.5;
/**
 * A sync still running after this long is reported once (a warning with the step it reached): a sync that never
 * ends keeps the worker's later kicks (probe results, pod updates) waiting behind it, so the pod's status would go
 * stale without a trace. Terminations with a long grace period legitimately run longer.
 */
export const SLOW_SYNC_MS = 20_000;

/** CRI resources from a container's requests/limits (kubelet's generateLinuxContainerResources). */
export function linuxResources(c: Container): LinuxContainerResources {
  const q = (v: unknown) => quantityToNumber(parseQuantity(String(v)));
  const lim = (c.resources?.limits ?? {}) as Record<string, unknown>;
  const req = (c.resources?.requests ?? {}) as Record<string, unknown>;
  const out: LinuxContainerResources = {};
  const cpuReq = req.cpu ?? lim.cpu;
  out.cpuShares = cpuReq !== undefined ? Math.max(2, Math.floor((q(cpuReq) * 1024))) : 2;
  if (lim.cpu !== undefined) {
    out.cpuPeriod = CPU_PERIOD;
    out.cpuQuota = Math.max(1000, Math.floor(q(lim.cpu) * CPU_PERIOD));
  }
  if (lim.memory !== undefined) out.memoryLimitInBytes = Math.floor(q(lim.memory));
  return out;
}

interface Instance {
  probes: ProbeWorker[];
  readiness?: ProbeWorker;
  startup?: ProbeWorker;
  /** Killed by the kubelet because of a failed liveness/startup probe. */
  unhealthy?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The worker of one pod (see the module comment). */
export class PodWorker {
  private pod?: Pod;
  private gone = false;
  private running = false;
  private pending = false;
  private timer?: NodeJS.Timeout;
  private done = false;
  private readonly waiting = new Map<string, { reason: string; message?: string }>();
  private readonly instances = new Map<string, Instance>();
  private volumes?: PodVolumes;
  private volumesAt = 0;
  private terminating?: Promise<void>;
  private podIP = '';
  private sandboxId?: string;
  private hostNetworkSandbox = false;
  /** A new sandbox whose status (pod IP: the network attaches in the background) has not been read yet. */
  private sandboxPending = false;
  /** When the latest sync began (performance.now()): it lists the containers and checks the sandbox after that. */
  private syncStartedAt = -1;
  /** {@link runtimeSig} of the runtime state a completed sync converged on, and when it was listed (performance.now()). */
  private observedSig?: string;
  private observedAt = -1;
  /** The latest relist listing (performance.now()) that saw a change while a sync ran; -1: none. */
  private relistedDuringSync = -1;
  /** The pod's containers as the latest listing returned them (runtime order), and when that listing began. */
  private listed: ContainerStatus[] = [];
  private listedAt = -1;
  /** Status writes in flight, and the resourceVersions the informer delivered meanwhile. */
  private statusWrites = 0;
  private seenDuringWrite: number[] = [];
  /** Periodic resync: timer (re-armed after every sync) and whether the next sync is one. */
  private resyncTimer?: NodeJS.Timeout;
  private resyncDue = false;
  private readonly resyncMs: number;
  private readonly resyncAfterMs: number;

  constructor(
    readonly uid: string,
    private readonly d: PodWorkerDeps,
  ) {
    this.resyncMs = d.resyncMs ?? DEFAULT_RESYNC_MS;
    // Jittered once per pod (upstream jitters each requeue): spreads the resyncs of pods started together.
    this.resyncAfterMs = Math.round(this.resyncMs * (1 + Math.random() * RESYNC_JITTER));
  }

  /** The newest known state of the pod from the API (undefined: it is gone from the API). */
  update(pod: Pod | undefined): void {
    if (pod) {
      const cur = Number(this.pod?.metadata?.resourceVersion ?? 0);
      const nv = Number(pod.metadata?.resourceVersion ?? 0);
      // The informer's copy of our own status write (its answer is already this.pod): nothing changed, no sync —
      // upstream's pod config does not sync on status-only updates either. (The pod informer has no resync, so
      // any other update carries a new resourceVersion.)
      if (this.pod && nv === cur && nv > 0 && !this.gone) return;
      if (!this.pod || !(nv < cur)) this.pod = pod;
      // The watch often delivers our own status write before its answer: decide once the answer is in.
      if (this.statusWrites > 0 && !this.gone) {
        this.seenDuringWrite.push(nv);
        return;
      }
    } else this.gone = true;
    this.kick();
  }

  /**
   * The runtime relist (PLEG) that began at `listedAt` (performance.now()) saw this pod's containers or sandboxes
   * change to `sig` ({@link runtimeSig}): wakes the worker unless it already saw that.
   */
  relisted(listedAt: number, sig?: string): void {
    // A sync that began after the relist's listing sees at least as much; one that ended seeing this very state
    // (its own start of a container, say) has nothing left to do about it; a sync in progress decides when it ends.
    if (this.syncStartedAt >= listedAt || (sig !== undefined && sig === this.observedSig)) return;
    if (this.running && !this.done) {
      this.relistedDuringSync = Math.max(this.relistedDuringSync, listedAt);
      return;
    }
    this.kick();
  }

  /** Requests a sync (coalesced; serialized per pod). */
  kick(delayMs = 0): void {
    if (this.done) return;
    if (delayMs > 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, delayMs);
      this.timer.unref();
      return;
    }
    this.pending = true;
    if (this.running) return;
    this.running = true;
    void (async () => {
      while (this.pending && !this.done) {
        this.pending = false;
        this.syncStartedAt = performance.now();
        // A pod that has not started yet has priority over the runtime's background work (pool refills, other pods'
        // cleanup) for the length of this sync (see RuntimeService.holdBackground).
        const pod = this.pod;
        const starting = !this.gone && !!pod && !pod.metadata?.deletionTimestamp && (pod.status?.phase ?? 'Pending') === 'Pending';
        const release = starting ? this.d.runtime.holdBackground?.() : undefined;
        const slowMs = this.d.slowSyncMs ?? SLOW_SYNC_MS;
        const slow = setTimeout(() => {
          this.d.log.warn({ pod: this.name(), stage: this.stage, seconds: slowMs / 1000 }, 'pod sync still running');
        }, slowMs);
        slow.unref();
        try {
          await this.sync();
        } catch (e) {
          this.d.log.warn({ pod: this.name(), err: String(e) }, 'pod sync failed; retrying');
          this.kick(1000);
        } finally {
          clearTimeout(slow);
          release?.();
        }
        // Relists during the sync: another sync only if the state this one ended on was listed before them.
        if (this.relistedDuringSync > this.observedAt) this.pending = true;
        this.relistedDuringSync = -1;
      }
      this.running = false;
      this.scheduleResync();
    })();
  }

  /**
   * Arms (or pushes back) the periodic resync after a sync, as upstream's pod workers requeue every pod
   * `syncFrequency` after its sync: volume contents (configMap, secret, downwardAPI, projected token) are refreshed
   * then. Pods that are gone, being deleted or finished are not resynced.
   */
  private scheduleResync(): void {
    const pod = this.pod;
    const phase = pod?.status?.phase;
    if (this.done || this.gone || !pod || pod.metadata?.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed') {
      this.stopResync();
      return;
    }
    if (this.resyncTimer) {
      this.resyncTimer.refresh();
      return;
    }
    this.resyncTimer = setTimeout(() => {
      this.resyncDue = true;
      this.kick();
    }, this.resyncAfterMs);
    this.resyncTimer.unref();
  }

  private stopResync(): void {
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
  }

  private name(): string {
    return `${this.pod?.metadata?.namespace}/${this.pod?.metadata?.name}`;
  }

  private podDir(): string {
    return join(this.d.podsDir, this.uid);
  }

  private logDir(pod: Pod): string {
    return join(this.d.logsDir, `${pod.metadata!.namespace}_${pod.metadata!.name}_${this.uid}`);
  }

  private async containersByName(): Promise<Map<string, ContainerStatus[]>> {
    const at = performance.now();
    const all = await this.d.runtime.listContainers({ labelSelector: { [LABEL_POD_UID]: this.uid } });
    this.listed = all;
    this.listedAt = at;
    const m = new Map<string, ContainerStatus[]>();
    for (const c of all) {
      const n = c.labels[LABEL_CONTAINER_NAME] ?? c.metadata.name;
      if (!m.has(n)) m.set(n, []);
      m.get(n)!.push(c);
    }
    for (const list of m.values()) list.sort((a, b) => (a.metadata.attempt ?? 0) - (b.metadata.attempt ?? 0) || a.createdAt - b.createdAt);
    return m;
  }

  /** The step the running sync last reached (for {@link SLOW_SYNC_MS}'s warning), also recorded by `trace`. */
  private stage = '';

  private step(key: string, event: string): void {
    this.stage = event;
    trace(key, event);
  }

  private async sync(): Promise<void> {
    const pod = this.pod;
    this.step(pod?.metadata?.name ?? this.uid, 'sync');
    if (this.gone) {
      if (pod) await this.terminate(pod, 1);
      await this.cleanup();
      return;
    }
    if (!pod) return;
    if (pod.metadata?.deletionTimestamp) {
      this.terminating ??= this.terminateForDeletion(pod);
      await this.terminating;
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Terminal pods never run again (upstream); make sure nothing is left running, then give devices back.
      await this.stopAll(pod, 0, false);
      this.d.gpus?.release(this.uid);
      // A pod rejected at admission keeps the status the rejection wrote (it never had containers).
      if (pod.status?.reason === ADMISSION_ERROR_REASON) return;
      await this.writeStatus(pod, await this.containersByName(), true);
      return;
    }
    if (!(await this.admit(pod))) return;
    let byName = await this.containersByName();
    this.step(pod.metadata!.name!, 'listed');
    // Volumes (API reads, token requests, files) are set up while the sandbox starts, unless the downward API wants
    // the pod IP; the pod IP itself is read once the containers started, so the network setup overlaps with them.
    const needsIP = JSON.stringify(pod.spec ?? {}).includes('status.podIP');
    const src = new ObjectSource(this.d.client, pod.metadata!.namespace!);
    // Volume contents are refreshed on the periodic resync (and by any sync once a period has passed).
    const resync = this.resyncDue;
    this.resyncDue = false;
    if (resync) trace(pod.metadata!.name!, 'resync');
    const volumesDue = !this.volumes || resync || Date.now() - this.volumesAt >= this.resyncMs;
    this.volumes ??= new PodVolumes(this.podDir(), this.d.client, this.d.root);
    const setupVolumes = (c: DownwardContext) => this.volumes!.setup(pod, c, src).then(() => undefined, (e: unknown) => ({ e }));
    let volumeSetup = volumesDue && !needsIP ? setupVolumes(this.downward()) : undefined;
    try {
      await this.ensureSandbox(pod);
    } catch (e) {
      await volumeSetup; // not left running behind the retry
      throw e;
    }
    this.step(pod.metadata!.name!, 'sandbox');
    if (this.sandboxPending && needsIP) await this.settleSandbox();
    const ctx = this.downward();
    if (volumesDue) {
      volumeSetup ??= setupVolumes(ctx);
      const failed = await volumeSetup;
      try {
        if (failed) throw failed.e;
        this.volumesAt = Date.now();
      } catch (e) {
        if (!(e instanceof ContainerConfigError)) throw e;
        // A volume that cannot be set up yet keeps the pod ContainerCreating with a FailedMount event (upstream's
        // volume manager); other configuration errors are CreateContainerConfigError.
        const mount = e instanceof VolumeSetupError;
        if (mount) this.d.recorder.event(pod, 'Warning', 'FailedMount', e.eventMessage);
        // Upstream creates the sandbox only once the volumes are mounted; here it was made meanwhile (for speed), so
        // a pod that never ran a container gives it back: no pod IP (nor address, veth, infra process) while it waits.
        if (this.sandboxId && byName.size === 0) await this.dropSandbox();
        for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
          if (!byName.get(c.name)?.length) this.waiting.set(c.name, mount ? { reason: 'ContainerCreating' } : { reason: 'CreateContainerConfigError', message: e.message });
        }
        await this.writeStatus(pod, byName, false);
        this.kick(2000);
        return;
      }
    }
    this.step(pod.metadata!.name!, 'volumes');
    const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
    let changed = false;
    let initDone = true;
    let initFailed = false;
    for (const c of pod.spec?.initContainers ?? []) {
      const list = byName.get(c.name) ?? [];
      const cur = list[list.length - 1];
      if (isSidecar(c)) {
        if (cur?.state === 'CONTAINER_RUNNING') {
          if (!this.isStarted(cur)) {
            initDone = false;
            break;
          }
          continue;
        }
        changed = (await this.maybeStart(pod, c, cur, true, src, ctx, list.length)) || changed;
        initDone = false;
        break;
      }
      if (cur?.state === 'CONTAINER_EXITED' && cur.exitCode === 0) continue;
      initDone = false;
      if (cur?.state === 'CONTAINER_RUNNING') break;
      if (cur?.state === 'CONTAINER_EXITED') {
        if (restartPolicy === 'Never') {
          initFailed = true;
          break;
        }
        changed = (await this.maybeStart(pod, c, cur, true, src, ctx, list.length)) || changed;
        break;
      }
      changed = (await this.maybeStart(pod, c, cur, true, src, ctx, list.length)) || changed;
      break;
    }
    if (initDone) {
      for (const c of pod.spec?.containers ?? []) {
        const list = byName.get(c.name) ?? [];
        const cur = list[list.length - 1];
        if (cur?.state === 'CONTAINER_RUNNING' || cur?.state === 'CONTAINER_CREATED') continue;
        if (cur?.state === 'CONTAINER_EXITED') {
          const restart = restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && cur.exitCode !== 0);
          if (!restart) continue;
        }
        changed = (await this.maybeStart(pod, c, cur, false, src, ctx, list.length)) || changed;
      }
    }
    this.step(pod.metadata!.name!, 'containers');
    if (changed) byName = await this.containersByName();
    // Completion: with nothing left to run, sidecars are stopped (upstream kills them once regular containers end).
    let terminal = initFailed;
    if (initDone && restartPolicy !== 'Always') {
      terminal = (pod.spec?.containers ?? []).every((c) => {
        const list = byName.get(c.name) ?? [];
        const cur = list[list.length - 1];
        return cur?.state === 'CONTAINER_EXITED' && (restartPolicy === 'Never' || cur.exitCode === 0);
      });
    }
    if (terminal) {
      await this.stopAll(pod, pod.spec?.terminationGracePeriodSeconds ?? 30, false);
      this.d.gpus?.release(this.uid);
      byName = await this.containersByName();
    }
    await this.writeStatus(pod, byName, terminal);
    if (terminal && this.sandboxId) await this.d.runtime.stopPodSandbox(this.sandboxId);
    else if (!changed || (initDone && (pod.spec?.containers ?? []).every((c) => {
      const st = byName.get(c.name)?.at(-1)?.state;
      return st === 'CONTAINER_RUNNING' || st === 'CONTAINER_CREATED';
    }))) {
      // The sync converged on its last listing (it changed nothing, or started every container and all of them are
      // still up: another sync would do nothing), so the relist need not wake it for that state. Remembered only
      // when the sandbox is the ready one this sync checked: a sandbox found dead here must still wake the worker.
      const containers = this.listed;
      const containersAt = this.listedAt;
      this.stage = 'converged';
      const sbs = await this.d.runtime.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: this.uid } });
      if (sbs.every((sb) => sb.id === this.sandboxId && sb.state === 'SANDBOX_READY')) {
        this.observedSig = runtimeSig(containers, sbs);
        this.observedAt = containersAt; // the sandboxes were listed after the containers
      }
    }
  }

  /**
   * Device admission (upstream kubelet canAdmitPod → device manager Allocate). A pod whose devices cannot be
   * allocated is rejected as upstream's rejectPod does: a Warning event and status phase Failed with the reason
   * and "Pod was rejected: <message>"; its containers never start.
   */
  private async admit(pod: Pod): Promise<boolean> {
    if (!this.d.gpus) return true;
    try {
      this.d.gpus.admit(pod);
      return true;
    } catch (e) {
      if (!(e instanceof DeviceAdmissionError)) throw e;
      this.d.recorder.event(pod, 'Warning', e.reason, e.message);
      const updated = await this.d.client.resource<Pod>('v1', 'Pod').patch(pod.metadata!.namespace, pod.metadata!.name!, 'merge', {
        status: { phase: 'Failed', reason: e.reason, message: `Pod was rejected: ${e.message}`, qosClass: podQOS(pod) },
      }, { subresource: 'status' });
      this.update0(updated);
      return false;
    }
  }

  private downward(): DownwardContext {
    return { nodeName: this.d.nodeName, podIP: this.podIP, hostIP: this.d.hostIP, nodeAllocatable: this.d.nodeAllocatable };
  }

  private async ensureSandbox(pod: Pod): Promise<void> {
    if (this.sandboxId) {
      try {
        const st = await this.d.runtime.podSandboxStatus(this.sandboxId);
        if (st.state === 'SANDBOX_READY') return;
      } catch {
        /* gone */
      }
    }
    const list = await this.d.runtime.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: this.uid } });
    const ready = list.filter((s) => s.state === 'SANDBOX_READY').pop();
    if (ready) {
      this.sandboxId = ready.id;
      this.hostNetworkSandbox = ready.namespaces.network === 'NODE';
      this.podIP = this.hostNetworkSandbox ? this.d.hostIP : ready.network.ip;
      // A listing does not wait for a network setup still in flight: read the status (with the IP) once it is done.
      this.sandboxPending = !this.podIP;
      return;
    }
    // A dead sandbox means every container restarts in a new one (upstream: sandbox changed → kill pod, recreate).
    for (const s of list) await this.d.runtime.removePodSandbox(s.id);
    const labels = { [LABEL_POD_UID]: this.uid, [LABEL_POD_NAME]: pod.metadata!.name!, [LABEL_POD_NAMESPACE]: pod.metadata!.namespace! };
    // hostPorts of pods on the pod network (the CNI portmap plugin publishes them), as kubelet's sandbox config.
    const portMappings = pod.spec?.hostNetwork ? [] : (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? [])
      .filter((p) => p.hostPort)
      .map((p) => ({ protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP', containerPort: p.containerPort, hostPort: p.hostPort, ...(p.hostIP ? { hostIp: p.hostIP } : {}) })));
    const id = await this.d.runtime.runPodSandbox({
      metadata: { name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, uid: this.uid, attempt: list.length },
      hostname: pod.spec?.hostname ?? pod.metadata!.name!,
      logDirectory: this.logDir(pod),
      dnsConfig: podDnsConfig(pod, this.d.dns ?? { clusterDNS: [], clusterDomain: DEFAULT_CLUSTER_DOMAIN }),
      ...(portMappings.length ? { portMappings } : {}),
      labels,
      // How many containers the pod will start, so a pooled sandbox can keep a warm shim ready for each next one.
      annotations: { [ANNOTATION_CONTAINER_SLOTS]: String((pod.spec?.initContainers?.length ?? 0) + (pod.spec?.containers?.length ?? 0)) },
      linux: { namespaceOptions: { network: pod.spec?.hostNetwork ? 'NODE' : 'POD', ipc: pod.spec?.hostIPC ? 'NODE' : 'POD' } },
    });
    this.sandboxId = id;
    this.sandboxPending = true;
    this.hostNetworkSandbox = !!pod.spec?.hostNetwork;
    this.podIP = this.hostNetworkSandbox ? this.d.hostIP : '';
  }

  /** Removes the pod's sandbox (network torn down) and forgets it; the next sync creates a new one. */
  private async dropSandbox(): Promise<void> {
    const id = this.sandboxId!;
    this.sandboxId = undefined;
    this.sandboxPending = false;
    this.podIP = this.hostNetworkSandbox ? this.d.hostIP : '';
    await this.d.runtime.removePodSandbox(id);
  }

  /** Reads a new sandbox's status (waits for its network): pod IP and whether it shares the node's network. */
  private async settleSandbox(ctx?: DownwardContext): Promise<void> {
    if (!this.sandboxPending || !this.sandboxId) return;
    const st = await this.d.runtime.podSandboxStatus(this.sandboxId);
    this.sandboxPending = false;
    this.hostNetworkSandbox = st.namespaces.network === 'NODE';
    // hostNetwork pods report the node IP (kubelet uses the node's address, not the runtime's guess).
    this.podIP = this.hostNetworkSandbox ? this.d.hostIP : st.network.ip;
    if (ctx) ctx.podIP = this.podIP;
  }

  private isStarted(cur: ContainerStatus): boolean {
    const inst = this.instances.get(cur.id);
    return !inst?.startup || inst.startup.result;
  }

  /**
   * Starts container `c` unless back-off forbids it now; returns whether it started one. `cur` is its newest
   * instance (exited, or undefined for the first start); `instances` how many the runtime holds of it.
   */
  private async maybeStart(pod: Pod, c: Container, cur: ContainerStatus | undefined, init: boolean, src: ObjectSource, ctx: DownwardContext, instances = Infinity): Promise<boolean> {
    const key = `${this.uid}/${c.name}`;
    const podRef = `${pod.metadata!.name}_${pod.metadata!.namespace}(${this.uid})`;
    if (cur?.state === 'CONTAINER_EXITED') {
      const finished = Math.floor((cur.finishedAt || cur.createdAt) / 1e6);
      const wait = this.d.backoff.remaining(key, finished);
      if (wait > 0) {
        const delay = this.d.backoff.delay(key);
        const msg = `back-off ${fmtDuration(delay)} restarting failed container=${c.name} pod=${podRef}`;
        if (this.waiting.get(c.name)?.reason !== 'CrashLoopBackOff') {
          this.d.recorder.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podRef}`);
        }
        this.waiting.set(c.name, { reason: 'CrashLoopBackOff', message: msg });
        this.kick(wait + 5);
        return false;
      }
    }
    const imgKey = `${key}/image`;
    const prevWait = this.waiting.get(c.name);
    if (prevWait && (prevWait.reason === 'ErrImagePull' || prevWait.reason === 'ImagePullBackOff')) {
      const left = this.d.imageBackoff.remaining(imgKey, this.imageFailedAt.get(c.name) ?? 0);
      if (left > 0) {
        this.waiting.set(c.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` });
        this.kick(left + 5);
        return false;
      }
    }
    const attempt = cur ? (cur.metadata.attempt ?? 0) + 1 : 0;
    let id: string;
    try {
      // Device env first: as upstream, the container's own env comes after it and wins on a clash.
      const envs = [...(this.d.gpus?.envFor(this.uid, c.name) ?? []), ...(await buildEnv(pod, c, ctx, src, this.d.services ? serviceEnv(this.d.services(), pod.metadata!.namespace!, pod.spec?.enableServiceLinks ?? true) : undefined))];
      const lookup = (n: string) => envs.find((e) => e.key === n)?.value;
      const config: ContainerConfig = {
        metadata: { name: c.name, attempt },
        image: c.image,
        ...(c.command?.length ? { command: c.command.map((s) => expand(s, lookup)) } : {}),
        ...(c.args?.length ? { args: c.args.map((s) => expand(s, lookup)) } : {}),
        ...(c.workingDir ? { workingDir: c.workingDir } : {}),
        envs,
        mounts: this.volumes!.mountsFor(c),
        logPath: `${c.name}/${attempt}.log`,
        stdin: !!c.stdin,
        stdinOnce: !!c.stdinOnce,
        tty: !!c.tty,
        labels: { [LABEL_POD_UID]: this.uid, [LABEL_POD_NAME]: pod.metadata!.name!, [LABEL_POD_NAMESPACE]: pod.metadata!.namespace!, [LABEL_CONTAINER_NAME]: c.name },
        annotations: { 'io.kubernetes.container.restartCount': String(attempt) },
        linux: {
          resources: linuxResources(c),
          securityContext: {
            ...((c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser) !== undefined
              ? { runAsUser: c.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser }
              : {}),
            ...((c.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup) !== undefined
              ? { runAsGroup: c.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup }
              : {}),
          },
        },
      };
      this.step(pod.metadata!.name!, 'env');
      id = await this.d.runtime.createContainer(this.sandboxId!, config);
      this.step(pod.metadata!.name!, 'created');
    } catch (e) {
      if (e instanceof ImagePullError) {
        this.d.imageBackoff.next(imgKey);
        this.imageFailedAt.set(c.name, Date.now());
        this.waiting.set(c.name, { reason: 'ErrImagePull', message: e.message });
        this.d.recorder.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${e.message}`);
        this.kick(this.d.imageBackoff.delay(imgKey) + 5);
        return false;
      }
      if (e instanceof ContainerConfigError) {
        this.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
        this.d.recorder.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
        this.kick(2000);
        return false;
      }
      throw e;
    }
    this.waiting.delete(c.name);
    this.imageFailedAt.delete(c.name);
    this.d.backoff.next(key);
    if (!c.command?.length) this.d.recorder.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
    this.d.recorder.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await this.d.runtime.startContainer(id);
    } catch (e) {
      this.d.recorder.event(pod, 'Warning', 'Failed', `Error: ${e instanceof Error ? e.message : String(e)}`);
      await this.pruneOld(c.name);
      return true;
    }
    this.d.recorder.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    this.stage = `started ${c.name}`;
    await this.settleSandbox(ctx); // probes and hooks need the pod IP
    this.startProbes(pod, c, id);
    this.stage = `probing ${c.name}`;
    if (c.lifecycle?.postStart) {
      const err = await this.runHook(c.lifecycle.postStart, id, c, 30);
      if (err) {
        this.d.recorder.event(pod, 'Warning', 'FailedPostStartHook', `PostStartHook failed: ${err}`);
        await this.d.runtime.stopContainer(id, pod.spec?.terminationGracePeriodSeconds ?? 30);
      }
    }
    // With the new one at most two instances: nothing to prune (saves a runtime listing per pod start).
    if (instances >= 2) await this.pruneOld(c.name);
    return true;
  }

  private readonly imageFailedAt = new Map<string, number>();

  /** Keeps the newest two instances of a container (current + previous, for `logs --previous`). */
  private async pruneOld(name: string): Promise<void> {
    const list = (await this.containersByName()).get(name) ?? [];
    for (const old of list.slice(0, Math.max(0, list.length - 2))) {
      this.stopProbes(old.id);
      await this.d.runtime.removeContainer(old.id);
    }
  }

  private startProbes(pod: Pod, c: Container, id: string): void {
    const target: ProbeTarget = {
      runtime: this.d.runtime,
      containerId: id,
      sandboxId: this.sandboxId!,
      podIP: this.podIP,
      hostNetwork: this.hostNetworkSandbox,
      container: c,
    };
    const inst: Instance = { probes: [] };
    this.instances.set(id, inst);
    const started = () => !inst.startup || inst.startup.result;
    const onChange = (w: ProbeWorker) => {
      if (!w.result && (w.kind === 'liveness' || w.kind === 'startup')) void this.killUnhealthy(pod, c, id, w);
      this.kick();
    };
    const onFailure = (w: ProbeWorker, msg: string) => {
      const kind = w.kind[0]!.toUpperCase() + w.kind.slice(1);
      this.d.recorder.event(pod, 'Warning', 'Unhealthy', `${kind} probe failed: ${msg}`);
    };
    if (c.startupProbe) {
      inst.startup = new ProbeWorker('startup', c.startupProbe, target, onChange, () => true, onFailure);
      inst.probes.push(inst.startup);
    }
    if (c.readinessProbe) {
      inst.readiness = new ProbeWorker('readiness', c.readinessProbe, target, onChange, started, onFailure);
      inst.probes.push(inst.readiness);
    }
    if (c.livenessProbe) inst.probes.push(new ProbeWorker('liveness', c.livenessProbe, target, onChange, started, onFailure));
  }

  private stopProbes(id: string): void {
    for (const p of this.instances.get(id)?.probes ?? []) p.stop();
    this.instances.delete(id);
  }

  private async killUnhealthy(pod: Pod, c: Container, id: string, w: ProbeWorker): Promise<void> {
    const inst = this.instances.get(id);
    if (!inst || inst.unhealthy) return;
    inst.unhealthy = true;
    for (const p of inst.probes) p.stop();
    const kind = w.kind === 'liveness' ? 'liveness' : 'startup';
    this.d.recorder.event(pod, 'Normal', 'Killing', `Container ${c.name} failed ${kind} probe, will be restarted`);
    const grace = w.probe.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    try {
      if (c.lifecycle?.preStop) await this.runHook(c.lifecycle.preStop, id, c, grace);
      await this.d.runtime.stopContainer(id, grace);
    } catch (e) {
      this.d.log.warn({ pod: this.name(), container: c.name, err: String(e) }, 'killing an unhealthy container failed');
    }
    this.kick();
  }

  /** Runs a lifecycle hook; returns an error message or undefined. */
  private async runHook(h: LifecycleHandler, id: string, c: Container, timeoutS: number): Promise<string | undefined> {
    try {
      if (h.exec) {
        const r = await this.d.runtime.execSync(id, h.exec.command ?? [], timeoutS);
        return r.exitCode === 0 ? undefined : `command '${(h.exec.command ?? []).join(' ')}' exited with ${r.exitCode}: ${r.stderr.toString()}${r.stdout.toString()}`;
      }
      if (h.httpGet) {
        const port = typeof h.httpGet.port === 'number' ? h.httpGet.port : Number(h.httpGet.port) || c.ports?.find((p) => p.name === h.httpGet!.port)?.containerPort || 80;
        const sock = h.httpGet.host || this.podIP || this.hostNetworkSandbox ? undefined : await this.d.runtime.portForward(this.sandboxId!, port);
        const host = h.httpGet.host || this.podIP || '127.0.0.1';
        return await new Promise<string | undefined>((resolve) => {
          const req = http.request(
            { host, port, path: h.httpGet!.path || '/', method: 'GET', ...(sock ? { createConnection: () => sock as never } : { agent: false }) },
            (res) => {
              res.resume();
              const code = res.statusCode ?? 0;
              resolve(code >= 200 && code < 400 ? undefined : `HTTP lifecycle hook (${h.httpGet!.path}) for Container "${c.name}" failed - error: status ${code}`);
            },
          );
          req.setTimeout(timeoutS * 1000, () => req.destroy(new Error('timeout')));
          req.on('error', (e) => resolve(e.message));
          req.end();
        });
      }
      if (h.sleep) {
        await sleep(Math.min(h.sleep.seconds, timeoutS) * 1000);
        return undefined;
      }
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * Stops the pod's running containers (upstream killPodWithSyncResult): regular containers in parallel, each after
   * its preStop hook, with the grace period less the hook's time (at least 2 s when there was a hook); then sidecars
   * in reverse order.
   */
  private async stopAll(pod: Pod, graceS: number, runHooks: boolean): Promise<void> {
    const byName = await this.containersByName();
    const specs = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c]));
    const regular = new Set((pod.spec?.containers ?? []).map((c) => c.name));
    const kill = async (name: string) => {
      for (const cs of byName.get(name) ?? []) {
        this.stopProbes(cs.id);
        if (cs.state !== 'CONTAINER_RUNNING') continue;
        const spec = specs.get(name);
        let grace = graceS;
        const t0 = Date.now();
        if (runHooks && spec?.lifecycle?.preStop && grace > 0) {
          const err = await this.runHook(spec.lifecycle.preStop, cs.id, spec, grace);
          if (err) this.d.recorder.event(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${err}`);
          grace = Math.max(2, grace - Math.round((Date.now() - t0) / 1000));
        }
        if (runHooks) this.d.recorder.event(pod, 'Normal', 'Killing', `Stopping container ${name}`);
        await this.d.runtime.stopContainer(cs.id, grace);
      }
    };
    await Promise.all([...byName.keys()].filter((n) => regular.has(n) || !specs.has(n)).map(kill));
    const sidecars = (pod.spec?.initContainers ?? []).map((c) => c.name).reverse();
    for (const n of sidecars) await kill(n);
  }

  private async terminate(pod: Pod, graceS: number): Promise<void> {
    await this.stopAll(pod, graceS, true);
    const sbs = await this.d.runtime.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: this.uid } });
    for (const s of sbs) await this.d.runtime.stopPodSandbox(s.id);
  }

  private async terminateForDeletion(pod: Pod): Promise<void> {
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.terminate(pod, grace);
    // The final status (containers terminated), then the kubelet's confirmation of the deletion.
    try {
      await this.writeStatus(this.pod ?? pod, await this.containersByName(), true, false);
    } catch (e) {
      if (!isNotFound(e)) this.d.log.warn({ pod: this.name(), err: String(e) }, 'final status write failed');
    }
    try {
      await this.d.client.resource<Pod>('v1', 'Pod').delete(pod.metadata!.namespace, pod.metadata!.name!, {
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (e) {
      // NotFound: already gone; Conflict: a newer pod took the name (the uid precondition failed).
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
    await this.cleanup();
  }

  /** Removes sandboxes, containers, volumes and back-off state; the worker ends. */
  private async cleanup(): Promise<void> {
    for (const id of [...this.instances.keys()]) this.stopProbes(id);
    // Everything here runs after the pod left the API (or stopped): low-priority work that yields to pods being
    // started (RuntimeService.inBackground). A crash meanwhile leaves it to the orphan cleanup of the next start.
    const remove = async () => {
      const sbs = await this.d.runtime.listPodSandbox({ labelSelector: { [LABEL_POD_UID]: this.uid } });
      for (const s of sbs) {
        await this.d.runtime.backgroundIdle?.();
        await this.d.runtime.removePodSandbox(s.id);
      }
      for (const c of await this.d.runtime.listContainers({ labelSelector: { [LABEL_POD_UID]: this.uid } })) await this.d.runtime.removeContainer(c.id);
      await this.d.runtime.backgroundIdle?.();
      await (this.volumes ?? new PodVolumes(this.podDir(), this.d.client, this.d.root)).teardown();
    };
    if (this.d.runtime.inBackground) await this.d.runtime.inBackground(`cleanup of pod ${this.uid}`, remove);
    else await remove();
    this.d.gpus?.release(this.uid);
    this.d.backoff.forget(`${this.uid}/`);
    this.d.imageBackoff.forget(`${this.uid}/`);
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopResync();
    this.d.onDone(this.uid);
  }

  /** Stops the worker without touching its containers (kubelet shutdown; they keep running and get adopted). */
  detach(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopResync();
    for (const id of [...this.instances.keys()]) this.stopProbes(id);
  }

  /** Stops the pod's containers with their grace period and marks the pod Failed (node drain on shutdown). */
  async drain(): Promise<void> {
    const pod = this.pod;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopResync();
    if (!pod) return;
    await this.terminate(pod, pod.spec?.terminationGracePeriodSeconds ?? 30);
    this.d.gpus?.release(this.uid);
  }

  private views(pod: Pod, byName: Map<string, ContainerStatus[]>, specs: Container[]): ContainerView[] {
    return specs.map((c) => {
      const list = byName.get(c.name) ?? [];
      const cur = list[list.length - 1];
      const prev = list.length > 1 ? list[list.length - 2] : undefined;
      const running = cur?.state === 'CONTAINER_RUNNING';
      // Containers found running without probe workers were adopted after a kubelet restart: probe them again.
      if (cur && running && !this.instances.has(cur.id) && !pod.metadata?.deletionTimestamp) this.startProbes(pod, c, cur.id);
      const inst = cur ? this.instances.get(cur.id) : undefined;
      const started = running && (!inst?.startup || inst.startup.result);
      const ready = started && (!inst?.readiness || inst.readiness.result);
      // A waiting reason only overrides a container that is not running.
      const waiting = running ? undefined : this.waiting.get(c.name);
      return {
        name: c.name,
        current: cur,
        previous: prev,
        restartCount: cur ? (cur.metadata.attempt ?? 0) : 0,
        waiting,
        ready,
        started,
      };
    });
  }

  private async writeStatus(pod: Pod, byName: Map<string, ContainerStatus[]>, terminal: boolean, sandboxReady = !terminal): Promise<void> {
    await this.settleSandbox().catch(() => {}); // a sandbox removed meanwhile: the next sync replaces it
    const status = computePodStatus(pod, {
      sandboxReady: sandboxReady && !!this.sandboxId,
      podIP: this.podIP,
      hostIP: this.d.hostIP,
      init: this.views(pod, byName, pod.spec?.initContainers ?? []),
      containers: this.views(pod, byName, pod.spec?.containers ?? []),
      terminal,
    });
    // Written only on change: the pod's status as the API has it already says this.
    if (sameJson(status, pod.status ?? {})) return;
    const body: Record<string, unknown> = { ...status };
    for (const k of Object.keys(pod.status ?? {})) if (!(k in body)) body[k] = null;
    this.step(pod.metadata!.name!, `patch ${status.phase}`);
    let updated: Pod | undefined;
    this.statusWrites++;
    try {
      updated = await this.d.client.resource<Pod>('v1', 'Pod').patch(pod.metadata!.namespace, pod.metadata!.name!, 'merge', { status: body }, { subresource: 'status' });
    } finally {
      this.statusWrites--;
      if (updated) this.update0(updated);
      // Updates that arrived meanwhile need a sync unless they were this write coming back.
      const own = Number(updated?.metadata?.resourceVersion ?? -1);
      const other = this.seenDuringWrite.some((rv) => rv !== own);
      if (this.statusWrites === 0) this.seenDuringWrite = [];
      if (other) this.kick();
    }
    this.step(pod.metadata!.name!, `patched ${status.phase}`);
  }

  /** Takes the answer of our own write as the newest pod (the informer may lag behind it). */
  private update0(pod: Pod): void {
    const cur = Number(this.pod?.metadata?.resourceVersion ?? 0);
    if (Number(pod.metadata?.resourceVersion ?? 0) > cur) this.pod = pod;
  }

  /** The last status this worker computed (tests and drain). */
  get status(): PodStatus | undefined {
    return this.pod?.status;
  }
}

function fmtDuration(ms: number): string {
  // Go's time.Duration String for whole values: 10s, 1m20s, 5m0s; sub-second as ms.
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${s % 60}s`;
}
