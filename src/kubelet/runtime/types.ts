/**
 * The container runtime contract of Skiff's node agent, shaped after the CRI `RuntimeService` and `ImageService`
 * (k8s.io/cri-api runtime/v1 api.proto) so the kubelet's pod workers can drive either the built-in process runtime
 * (`process/`, the Nomad exec-driver model) or a CRI runtime such as containerd without changing.
 *
 * Names and semantics follow api.proto: sandboxes and containers have opaque ids, timestamps are nanoseconds since the
 * Unix epoch, container states are CREATED/RUNNING/EXITED/UNKNOWN, sandbox states READY/NOTREADY, and a container's
 * `logPath` is relative to its sandbox's `logDirectory`.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * How a pod-level Linux namespace is set up; mirrors CRI `NamespaceMode` (POD = shared by the pod's containers,
 * CONTAINER = private to one container, NODE = the host's namespace, e.g. hostNetwork).
 */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE';

/** CRI `NamespaceOption`: which namespaces the sandbox creates. UTS follows `network` as in the kubelet. */
export interface NamespaceOptions {
  network?: NamespaceMode;
  ipc?: NamespaceMode;
  pid?: NamespaceMode;
}

/** CRI `DNSConfig`: written as the pod's resolv.conf. */
export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** CRI `PortMapping`; accepted for shape compatibility, ignored by the process runtime (no port publishing). */
export interface PortMapping {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

/** CRI `PodSandboxMetadata`. */
export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt?: number;
}

/** CRI `PodSandboxConfig` (the subset Skiff uses). */
/**
 * Sandbox annotation (a hint, not CRI): how many containers the pod creates on its first start (init + regular).
 * A runtime may prepare the next container's start while the current one runs (the process runtime pre-forks its
 * shim into a pre-joined cgroup); absent or invalid: no preparation beyond the first container.
 */
export const ANNOTATION_CONTAINER_SLOTS = 'skiff.io/container-slots';

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Directory holding the containers' logs, e.g. `/var/log/pods/<ns>_<name>_<uid>` (kubelet layout). */
  logDirectory?: string;
  dnsConfig?: DnsConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    /** Cgroup path of the pod relative to the cgroup root, e.g. `kubepods/burstable/pod<uid>`. */
    cgroupParent?: string;
    namespaceOptions?: NamespaceOptions;
  };
}

/** CRI `PodSandboxState`. */
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

/** CRI `PodSandboxStatus` (plus the effective namespace modes, so callers know whether isolation was possible). */
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  network: { ip: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Namespace modes actually in effect (NODE when the runtime could not isolate, e.g. not root). */
  namespaces: { network: NamespaceMode; ipc: NamespaceMode; pid: NamespaceMode };
  /** Pid of the sandbox's infra ("pause") process, when it has one. */
  pid?: number;
}

/** CRI `PodSandboxFilter`. */
export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

/** CRI `Mount` (host path → container path). */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readonly?: boolean;
}

/** CRI `KeyValue` used for env. */
export interface KeyValue {
  key: string;
  value: string;
}

/** CRI `LinuxContainerResources` (the subset the kubelet sets). */
export interface LinuxContainerResources {
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  memoryLimitInBytes?: number;
  /** Not in CRI `LinuxContainerResources` itself (it is the pod-level pids limit in kubelet); per container here. */
  pidsLimit?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

/** CRI `LinuxContainerSecurityContext` (the subset the process runtime honours). */
export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
}

/** CRI `ContainerMetadata`. */
export interface ContainerMetadata {
  name: string;
  attempt?: number;
}

/** CRI `ContainerConfig`. */
export interface ContainerConfig {
  metadata: ContainerMetadata;
  /** Image reference; with no `command` its last path segment is looked up on the host PATH (see resolveImage). */
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  /** Relative to the sandbox's logDirectory, e.g. `<container>/<restartCount>.log`. */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    resources?: LinuxContainerResources;
    securityContext?: SecurityContext;
  };
}

/** CRI `ContainerState`. */
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

/** CRI `ContainerStatus`. Timestamps are nanoseconds since the epoch (0 = not yet). */
export interface ContainerStatus {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  /** `Completed` (exit 0), `Error`, `OOMKilled`, `StartError` — the strings containerd reports. */
  reason: string;
  message: string;
  image: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  /** Absolute log path ('' when the container has none). */
  logPath: string;
  /** Pid of the container's main process while it runs (0 otherwise). */
  pid: number;
}

/** CRI `ContainerFilter`. */
export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

/** CRI `ContainerAttributes`: which container a {@link ContainerStats} describes. */
export interface ContainerAttributes {
  id: string;
  metadata: ContainerMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** CRI `CpuUsage`. `usageCoreNanoSeconds` is cumulative; `timestamp` in nanoseconds since the epoch. */
export interface CpuUsage {
  timestamp: number;
  usageCoreNanoSeconds?: number;
}

/**
 * CRI `MemoryUsage`. `workingSetBytes` is what the kubelet reports and evicts on: usage minus inactive file pages
 * (cgroup v2 `memory.current` − `inactive_file`, v1 `memory.usage_in_bytes` − `total_inactive_file`).
 */
export interface MemoryUsage {
  timestamp: number;
  workingSetBytes?: number;
  usageBytes?: number;
  rssBytes?: number;
}

/** CRI `ContainerStats` (the subset metrics need: cpu and memory). */
export interface ContainerStats {
  attributes: ContainerAttributes;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
}

/** CRI `ContainerStatsFilter`. */
export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

/** Options of a streaming exec/attach, as in CRI `ExecRequest`/`AttachRequest`. */
export interface StreamOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
}

/**
 * A running exec or attach session: what the apiserver's exec/attach subresource (WebSocket `v5.channel.k8s.io` or
 * SPDY) pumps to and from. With a tty, stderr is merged into stdout as with runc.
 */
export interface StreamSession {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** Terminal resize (TIOCSWINSZ); a no-op without a tty. */
  resize(width: number, height: number): void;
  /** Exit code of the exec'd process (attach: of the container). 128+N when killed by signal N. */
  exit: Promise<number>;
  /** Ends the session (kills an exec'd process; detaches an attach). */
  close(): void;
}

/** Result of a synchronous exec (CRI `ExecSyncResponse`), used by exec probes. */
export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** Base class of the runtime's typed errors (the CRI maps these to gRPC codes). */
export class RuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An id that the runtime does not know (gRPC NotFound). */
export class NotFoundError extends RuntimeError {
  constructor(
    readonly kind: 'sandbox' | 'container',
    readonly id: string,
  ) {
    super(`${kind} ${JSON.stringify(id)} not found`);
  }
}

/**
 * The image cannot be made available; the kubelet reports the container as waiting with reason `ErrImagePull`
 * (then `ImagePullBackOff`), exactly as it does when a registry pull fails.
 */
export class ImagePullError extends RuntimeError {
  readonly reason = 'ErrImagePull';
  constructor(
    readonly image: string,
    message: string,
  ) {
    super(message);
  }
}

/** The container process could not be started (containerd reports state EXITED, reason `StartError`, exit 128). */
export class StartError extends RuntimeError {
  readonly reason = 'StartError';
}

/** An execSync exceeded its timeout (the kubelet's exec prober turns this into a probe failure). */
export class ExecTimeoutError extends RuntimeError {}

/** The operation is invalid in the object's current state (gRPC FailedPrecondition). */
export class InvalidStateError extends RuntimeError {}

/**
 * The CRI `RuntimeService` plus the image resolution the process runtime needs. Every method is idempotent where the
 * CRI says so (stop/remove of an absent object succeed).
 */
export interface RuntimeService {
  /** Runtime name and version (CRI `Version`). */
  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;

  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /**
   * Optional (like CRI GetContainerEvents): calls `listener(containerId)` soon after a container exits, so the
   * caller need not wait for its next relist. Best effort; returns the unsubscribe function.
   */
  onContainerExit?(listener: (containerId: string) => void): () => void;
  /**
   * Optional: a pod start is in progress; the runtime's low-priority background work (sandbox-pool refills, work
   * given to {@link inBackground}) waits until the returned function is called (the runtime bounds the wait).
   */
  holdBackground?(): () => void;
  /** Optional: runs `fn` as the runtime's low-priority background work (see holdBackground); resolves with it. */
  inBackground?(what: string, fn: () => Promise<unknown>): Promise<void>;
  /** Optional: a yield point between the steps of {@link inBackground} work (waits while a start holds it). */
  backgroundIdle?(): Promise<void>;
  /** Stops every container of the sandbox (forcibly) and its infra process; idempotent. */
  stopPodSandbox(sandboxId: string): Promise<void>;
  /** Removes the sandbox and all its containers (stopping them if needed); removing an unknown id succeeds. */
  removePodSandbox(sandboxId: string): Promise<void>;
  podSandboxStatus(sandboxId: string): Promise<PodSandboxStatus>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]>;

  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** SIGTERM, then SIGKILL once `timeoutSeconds` passed (0 = SIGKILL at once); resolves once the container exited. */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string): Promise<ContainerStatus>;
  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]>;
  /** Asks the runtime to reopen the container's log file (after the kubelet rotated it). */
  reopenContainerLog(containerId: string): Promise<void>;
  /** CPU and memory usage of one container (CRI `ContainerStats`); NotFoundError for an unknown id. */
  containerStats(containerId: string): Promise<ContainerStats>;
  /** Usage of every running container that matches (CRI `ListContainerStats`); feeds `/metrics/resource`. */
  listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]>;

  /** Runs `cmd` in the container (its namespaces, cgroup, user, env and working directory) with streamed stdio. */
  exec(containerId: string, cmd: string[], opts: StreamOptions): Promise<StreamSession>;
  /** Runs `cmd` to completion with captured output; throws ExecTimeoutError after `timeoutSeconds` (0 = none). */
  execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult>;
  /** Attaches to the container's main process stdio (stdin only when the container was created with stdin). */
  attach(containerId: string, opts: StreamOptions): Promise<StreamSession>;
  /** A socket connected to `port` on the loopback of the sandbox's network namespace (the host's in NODE mode). */
  portForward(sandboxId: string, port: number): Promise<Socket | Duplex>;

  /**
   * Resolves an image reference to a host executable (process runtime) or undefined when it is not available; the
   * kubelet then reports ErrImagePull.
   */
  resolveImage(image: string): Promise<string | undefined>;

  /** Releases the runtime's own resources (timers, sockets); containers and sandboxes keep running. */
  close(): Promise<void>;
}
