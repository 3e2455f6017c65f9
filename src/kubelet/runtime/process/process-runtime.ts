/**
 * The process runtime: a CRI-shaped RuntimeService whose containers are host process trees started from
 * command + args — the model of Nomad's exec driver (libcontainer without an image rootfs).
 *
 * As root (isolation 'auto'):
 *  - a sandbox is a long-lived infra process (`unshare --net --uts --ipc -- sh -c '…; exec sleep infinity'`, the
 *    role of the CRI "pause" container) that owns the pod's network, UTS and IPC namespaces; its loopback is brought
 *    up (`ip link set lo up`) and its hostname set. hostNetwork pods (network NODE) get no infra process.
 *  - a container joins them with `nsenter --target <infra>`, gets a private mount namespace (`unshare --mount
 *    --propagation private`) in which a small /bin/sh prologue joins the container's cgroup (`echo $$ >
 *    cgroup.procs`), bind-mounts the requested mounts at their containerPath (`mount --bind`, then
 *    `mount -o remount,bind,ro` for readonly ones, as runc does) plus the pod's resolv.conf/hosts/hostname, changes
 *    to workingDir and `exec`s the payload — through `setpriv --reuid --regid --clear-groups` for runAsUser/Group.
 *    Every step `exec`s, so the container's pid is the payload's. There is no image rootfs and no pid namespace:
 *    containers see the host filesystem (plus their mounts) and host pids; a mountpoint missing on the host is
 *    created (an empty directory or file) and removed again with the container.
 *  - cgroups (v2, or v1 on legacy/hybrid hosts): `<cgroupRoot>/pod<uid>/<containerId>` (or the sandbox's
 *    cgroupParent) with cpu, memory (no swap) and pids limits; an OOM kill (`oom_kill` counter rising) gives
 *    reason OOMKilled and exit code 137, as kubelet reports it.
 * Without root, or with isolation 'none': everything runs in the host namespaces without cgroups; runAsUser must be
 * the agent's own uid; mounts are not applied to the filesystem but exposed as symlinks
 * `<stateDir>/sandboxes/<sandbox>/rootfs/<container>/<containerPath>` → hostPath, whose root the container finds
 * in `$SKIFF_ROOTFS` (readonly is not enforced there).
 *
 * Each started container runs under a detached shim that owns its log and records its exit code: the native
 * `skiff-shim` (native/shim/skiff-shim.c, built into dist/native) when present — its child does the setns/unshare/
 * mount/cgroup/setuid steps above itself instead of the nsenter/unshare/sh/setpriv chain, and `skiff-shim pause` is
 * then the infra process — else the Node shim (shim-source.ts). With the native shim, shims and infra processes are
 * started by one long-lived native launcher (`skiff-shim launcher`, launcher.ts) rather than forked from the agent,
 * and the pod network (CNI ADD) runs in the background of runPodSandbox: a container's shim prepares it meanwhile
 * and execs the process only once the network is up (a "gate" on the shim's stdin); podSandboxStatus waits for it.
 * Either way a start has one path (launch() → {@link Launched}: pid, first stdout line, gate). With `sandboxPool`,
 * a few sandboxes (infra process, attached network, pod cgroup) are made ahead and taken by new pods, whose
 * containers' shims then set the pod's hostname (state: `pool/<id>.json`); each pooled sandbox also keeps a pre-forked
 * ("warm") shim whose child already joined a pre-made container cgroup and the pod's namespaces, and the pod's first
 * container starts in it (see WarmShim; `$SKIFF_SHIM_PREFORK=0` turns it off). The small state files of the start
 * path are written synchronously (each async fs hop waits on the agent's busy event loop). State lives under `stateDir`: `sandboxes/<id>/sandbox.json`, `containers/<id>/{container,started,exit}.json`,
 * so a new ProcessRuntime on the same directory adopts running containers (pid + start time checked against /proc)
 * and reports exited ones with their exit codes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readlinkSync, watch, type FSWatcher } from 'node:fs';
import net from 'node:net';
import { constants as osConstants, hostname as osHostname, networkInterfaces } from 'node:os';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Writable } from 'node:stream';
import { DEFAULT_PATH, imageBinaryName, lookPath, resolveImageOnHost } from '../image.js';
import {
  ExecTimeoutError,
  ANNOTATION_CONTAINER_SLOTS,
  ImagePullError,
  InvalidStateError,
  NotFoundError,
  StartError,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerState,
  type ContainerStatus,
  type ExecSyncResult,
  type NamespaceMode,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeService,
  type StreamOptions,
  type StreamSession,
} from '../types.js';
import { detectCgroups, type CgroupDriver, type CgroupHandle } from './cgroups.js';
import { isAlive, childrenOf, pidStartTime, shQuote, ttyOf } from './proc.js';
import { FRAME, SHIM_SOURCE, type ShimSpec } from './shim-source.js';
import type { PodNetwork } from '../../network/pod-network.js';
import type { ContainerStats, ContainerStatsFilter } from '../types.js';
import { readProcessTreeUsage } from './stats.js';
import { trace, traceFile } from './trace.js';
import { defaultLogger, type Logger } from '../../../client/log.js';
import { Launcher, spawnDirect, type ExecResult, type LaunchSpec, type Launched } from './launcher.js';
import { BackgroundQueue } from './background.js';

/**
 * Whether `path` is a mount point in some other process's mount namespace (field 5 of /proc/PID/mountinfo). One
 * read per distinct namespace; used before removing a mountpoint directory, since rmdir on a mountpoint detaches the
 * mount in every namespace (Linux ≥ 3.18).
 */
function mountedInOtherNamespaces(path: string): boolean {
  let own = '';
  try {
    own = readlinkSync('/proc/self/ns/mnt');
  } catch {
    return false;
  }
  const seen = new Set<string>([own]);
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return false;
  }
  for (const pid of pids) {
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
      continue;
    }
    if (seen.has(ns)) continue;
    seen.add(ns);
    let info = '';
    try {
      info = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    } catch {
      continue;
    }
    for (const line of info.split('\n')) {
      const mp = line.split(' ')[4];
      if (mp && mp.replace(/\\040/g, ' ') === path) return true;
    }
  }
  return false;
}

/** Options of the process runtime. */
export interface ProcessRuntimeOptions {
  /** Directory for sandbox/container state and the shim (kubelet's `/var/lib/kubelet` role). */
  stateDir: string;
  /** 'auto' (default): namespaces and cgroups when root; 'none': host mode even as root. */
  isolation?: 'auto' | 'none';
  /** Cgroup directory (relative to each hierarchy's root) under which pods get `pod<uid>`; default `skiff`. */
  cgroupRoot?: string;
  /** Log rotation: size at which the shim rotates a container log (default 10 MiB, kubelet's containerLogMaxSize). */
  logMaxBytes?: number;
  /** Log files kept per container, the current one included (default 5, kubelet's containerLogMaxFiles). */
  logMaxFiles?: number;
  /** Node binary that runs shims and port-forward helpers (default: this process's). */
  nodeBinary?: string;
  /**
   * Which container shim: 'native' (the C skiff-shim, ~1 MB per container, also the pod infra process), 'node'
   * (the embedded Node shim), or 'auto' (default): native when its binary exists. Default from `$SKIFF_SHIM`.
   */
  shim?: 'auto' | 'native' | 'node';
  /** Path of the native shim binary; default `$SKIFF_SHIM_BINARY`, else `dist/native/skiff-shim` next to the code. */
  shimBinary?: string;
  /**
   * Pod network (CNI) attached to every sandbox with its own network namespace; without it such pods have only a
   * loopback and report no IP (reachable through portForward only).
   */
  network?: PodNetwork;
  /**
   * Start shims and infra processes through the native launcher (`skiff-shim launcher`) instead of forking the agent
   * (default true with the native shim; `$SKIFF_LAUNCHER=0` turns it off).
   */
  launcher?: boolean;
  /**
   * Pre-created network sandboxes kept ready (default 0: none): infra processes with fresh net/UTS/IPC namespaces
   * whose pod network (CNI ADD: veth on the bridge, an address from the node's podCIDR) is already attached and a
   * pod-level cgroup (`<cgroupRoot>/pool<id>`, used as the pod's unless it sets a cgroupParent), so a
   * new pod takes one instead of paying the infra start and the CNI ADD on its start path. Refilled in the
   * background one at a time; released on close()/purge(); left-overs of a killed agent are cleaned by the next
   * runtime on the same stateDir. Only with the native shim and launcher, a {@link PodNetwork}, and for pods with
   * their own network and IPC namespaces and no hostPorts (portmap needs the pod's ports); others start as before.
   * Each also holds a pre-forked container shim for the pod's first container (see WarmShim).
   */
  sandboxPool?: number;
  log?: Logger;
}

/** A pre-created sandbox of the pool (see ProcessRuntimeOptions.sandboxPool), persisted in `pool/<id>.json`. */
interface PooledSandbox {
  id: string;
  pausePid: number;
  pauseStart?: string;
  /** Set once its network is attached. */
  ip?: string;
  /** Its pod-level cgroup, made ahead too (`<cgroupRoot>/pool<id>`): pod cgroup creation waits on the host's cgroup lock. */
  cgroupPath?: string;
}

/**
 * A pre-forked ("warm") container shim kept with a pooled sandbox (`skiff-shim prefork`): its child already sits
 * in a pre-made container cgroup (`<pool cgroup>/warm`) and the sandbox's namespaces, waiting for a container spec.
 * The first container created in the sandbox takes it, so its start skips the shim's launch, fork and the cgroup
 * join (on cgroup v1 a cgroup.procs write can wait a whole RCU grace period, 10–25 ms).
 */
interface WarmShim {
  launched: Launched;
  /** The container cgroup its child joined (undefined without cgroups). */
  cgroupPath?: string;
}

/** What the runtime could set up on this host (reported so callers and tests can explain skips). */
export interface ProcessRuntimeCapabilities {
  root: boolean;
  /** Pod network/IPC/UTS namespaces (root + unshare + nsenter). */
  namespaces: boolean;
  /** Per-container mount namespaces with bind mounts (root + unshare + mount). */
  mounts: boolean;
  /** Cgroup limits; `cgroupVersion` says which layout. */
  cgroups: boolean;
  cgroupVersion?: 1 | 2;
  /** Controllers usable for limits. */
  cgroupControllers: string[];
  /** runAsUser/runAsGroup other than the agent's own. */
  runAsUser: boolean;
  /** tty for exec (util-linux `script`). */
  tty: boolean;
  /** The container shim in use (see ProcessRuntimeOptions.shim). */
  shim: 'native' | 'node';
  /** Why features are off, for logs and test skips. */
  notes: string[];
}

interface SandboxRecord {
  id: string;
  config: PodSandboxConfig;
  createdAt: number;
  network: NamespaceMode;
  ipc: NamespaceMode;
  pausePid?: number;
  pauseStart?: string;
  stopped?: boolean;
  cgroupPath?: string;
  hostname: string;
  /** Pod IP from the network hook; cleared once the network was torn down. */
  ip?: string;
  /**
   * The network hook (CNI ADD) is still running: it overlaps with the containers' preparation (see startContainer).
   * Persisted, so a sandbox whose setup an agent crash interrupted is not ready after a restart (and is recreated).
   */
  netPending?: boolean;
  /** Taken from the sandbox pool: its infra process was started without the hostname; containers set it. */
  pooled?: boolean;
}

interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  createdAt: number;
  imageRef: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
  cgroup?: CgroupHandle;
  /** Mount namespace of its own (root); exec then enters it. */
  mountNs: boolean;
  /** Mountpoints this runtime created on the host (removed with the container). */
  createdMountpoints: string[];
}

interface StartedInfo {
  pid: number;
  pidStart: string;
  startedAt: string;
  shimPid: number;
  shimStart: string;
}

interface ExitInfo {
  exitCode: number;
  signal: string | null;
  finishedAt: string;
  oomKilled: boolean;
  reason?: string;
  message?: string;
}

const nowNs = (): number => Date.now() * 1e6;

/** `p`, or a rejection with `message` after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Writes `value` as JSON to `path` atomically without blocking the event loop; writes of one path are serialized
 * and each writes the value as it is when its turn comes (records are mutated in place), so the newest state wins.
 */
const persisting = new Map<string, Promise<void>>();
function persistJson(path: string, value: unknown): Promise<void> {
  const prev = persisting.get(path) ?? Promise.resolve();
  const next = prev.then(() => writeJson(path, value));
  const tail = next.catch(() => {});
  persisting.set(path, tail);
  void tail.then(() => {
    if (persisting.get(path) === tail) persisting.delete(path);
  });
  return next;
}

function readTextOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 1));
  renameSync(`${path}.tmp`, path);
}

/** One page: a write(2) at offset 0 of at most this much is all-or-nothing for a killed writer. */
const IN_PLACE_MAX = 4096;

/**
 * Writes a small JSON state file without a temporary file: an existing one is overwritten by one write(2) at offset
 * 0, padded with spaces to its old length (JSON allows trailing whitespace), a missing one is created with its
 * content. tmp+rename allocated (and freed) an inode per update, the costliest part of these writes in a burst (ext4
 * scans past recently freed inodes). An agent killed (-9) mid-way leaves the old or the new content — a write(2)
 * within one page completes before the signal is acted on — or, for a new file, an empty one, which load() skips
 * like a missing one. Values over a page go through tmp+rename.
 */
export function writeJson(path: string, value: unknown): void {
  const data = Buffer.from(JSON.stringify(value, null, 1));
  if (data.length > IN_PLACE_MAX) return writeJsonAtomic(path, value);
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    try {
      fd = openSync(path, 'wx');
    } catch {
      return writeJsonAtomic(path, value); // created meanwhile, or an odd error: the safe way
    }
  }
  try {
    const size = fstatSync(fd).size;
    if (size > IN_PLACE_MAX) return writeJsonAtomic(path, value);
    const buf = size > data.length ? Buffer.concat([data, Buffer.alloc(size - data.length, 0x20)]) : data;
    if (writeSync(fd, buf, 0, buf.length, 0) !== buf.length) throw new Error(`short write to ${path}`);
  } finally {
    closeSync(fd);
  }
}

function matchLabels(labels: Record<string, string> | undefined, sel: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + ((signal && osConstants.signals[signal]) || 0);
}

const PORT_FORWARD_HELPER = `
const net = require('net');
const port = Number(process.argv[1]);
const out = new net.Socket({ fd: 3, readable: true, writable: true });
function go(hosts) {
  const s = net.connect(port, hosts[0]);
  s.once('connect', () => { process.stderr.write('ok\\n'); out.pipe(s); s.pipe(out); });
  s.once('error', (e) => { if (hosts.length > 1) return go(hosts.slice(1)); process.stderr.write('error ' + e.message + '\\n'); process.exit(1); });
  s.on('close', () => out.end());
  out.on('close', () => s.destroy());
}
go(['127.0.0.1', '::1']);
`;

/** The process runtime (see the module comment). */
export class ProcessRuntime implements RuntimeService {
  readonly capabilities: ProcessRuntimeCapabilities;
  private readonly stateDir: string;
  private readonly shimPath: string;
  /** The native shim copied into the state dir (running shims keep their inode when a rebuild replaces it). */
  private readonly nativeShim?: string;
  private readonly nodeBinary: string;
  private readonly cgroupRoot: string;
  private readonly logMaxBytes: number;
  private readonly logMaxFiles: number;
  private readonly cgroups?: CgroupDriver;
  private readonly tools: { unshare?: string; nsenter?: string; setpriv?: string; ip?: string; script?: string; stty?: string; sleep?: string };
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly network?: PodNetwork;
  private readonly containers = new Map<string, ContainerRecord>();
  /** started.json / exit.json contents once seen (both are written once), so listings do not re-read them. */
  private readonly startedCache = new Map<string, StartedInfo>();
  private readonly exitCache = new Map<string, ExitInfo>();
  private readonly live = new Set<ChildProcess>();
  /** The native launcher that starts shims and infra processes (see launcher.ts); undefined: spawn directly. */
  private launcher?: Launcher;
  private launcherFailures = 0;
  /** Pod network setups in flight, by sandbox; they reject with the hook's error. */
  private readonly netSetup = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private readonly poolSize: number;
  /** The shim sets a spec's hostname in the pod's UTS namespace (needed by pooled sandboxes). */
  private readonly shimSetsHostname: boolean = false;
  private readonly pool: PooledSandbox[] = [];
  /** The native shim can be pre-forked for a pooled sandbox's first container (see WarmShim). */
  private readonly shimPrefork: boolean = false;
  /** Unclaimed warm shims, by pooled sandbox id (which becomes the sandbox's id). */
  private readonly warmShims = new Map<string, WarmShim>();
  /**
   * A container cgroup made ahead with the pod's (non-pooled sandboxes), by sandbox: the first container created
   * without a warm shim takes it and only writes its limits, instead of waiting for its own cgroup's directories
   * (a threadpool hop behind a burst's queue). Resolves undefined when it could not be made.
   */
  private readonly spareCgroups = new Map<string, Promise<string | undefined>>();
  /** Warm shims claimed by a created container, until it starts. */
  private readonly warmFor = new Map<string, WarmShim>();
  /**
   * Pooled sandboxes whose pod announced more containers ({@link ANNOTATION_CONTAINER_SLOTS}): how many creates may
   * still get a warm shim pre-forked after the previous one's (init containers run one after the other).
   */
  private readonly warmSlots = new Map<string, number>();
  private warmSeq = 0;
  /** {@link onContainerExit} listeners, and the watches of started containers' dirs for their exit.json. */
  private readonly exitListeners = new Set<(containerId: string) => void>();
  private readonly exitWatches = new Map<string, FSWatcher>();
  private poolFill?: Promise<void>;
  private poolRetryAt = 0;
  /**
   * Low-priority work (pool refills; the kubelet's pod cleanup through {@link inBackground}): run while no pod is
   * being started — the kubelet holds it for each pod's start path ({@link holdBackground}).
   */
  private readonly background: BackgroundQueue;
  private closed = false;
  /** purge() in progress: no pool refills meanwhile (they would race the removal of the cgroup root). */
  private purging = false;

  constructor(opts: ProcessRuntimeOptions) {
    this.stateDir = resolvePath(opts.stateDir);
    this.nodeBinary = opts.nodeBinary ?? process.execPath;
    this.cgroupRoot = (opts.cgroupRoot ?? 'skiff').replace(/^\/+|\/+$/g, '');
    this.logMaxBytes = opts.logMaxBytes ?? 10 * 1024 * 1024;
    this.logMaxFiles = opts.logMaxFiles ?? 5;
    this.network = opts.network;
    this.log = opts.log ?? defaultLogger('process-runtime');
    this.poolSize = Math.max(0, Math.floor(opts.sandboxPool ?? 0));
    this.background = new BackgroundQueue();
    const hostPath = process.env.PATH || DEFAULT_PATH;
    const tool = (n: string) => lookPath(n, `${hostPath}:${DEFAULT_PATH}`);
    this.tools = {
      unshare: tool('unshare'),
      nsenter: tool('nsenter'),
      setpriv: tool('setpriv'),
      ip: tool('ip'),
      script: tool('script'),
      stty: tool('stty'),
      sleep: tool('sleep'),
    };
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const isolate = root && (opts.isolation ?? 'auto') === 'auto';
    const notes: string[] = [];
    if (!root) notes.push('not running as root: host namespaces, no cgroups, no runAsUser, mounts as symlinks');
    else if (!isolate) notes.push("isolation 'none': host namespaces, no cgroups, mounts as symlinks");
    let cgroupNote: string | undefined;
    if (isolate) {
      const d = detectCgroups();
      if ('driver' in d) this.cgroups = d.driver;
      else cgroupNote = d.reason;
    }
    if (cgroupNote) notes.push(`cgroups unavailable: ${cgroupNote}`);
    const namespaces = isolate && !!this.tools.unshare && !!this.tools.nsenter && !!this.tools.sleep;
    if (isolate && !namespaces) notes.push('unshare/nsenter/sleep not found: host namespaces');
    this.capabilities = {
      root,
      namespaces,
      mounts: isolate && !!this.tools.unshare,
      cgroups: !!this.cgroups,
      cgroupVersion: this.cgroups?.version,
      cgroupControllers: this.cgroups ? [...this.cgroups.controllers] : [],
      runAsUser: root && !!this.tools.setpriv,
      tty: !!this.tools.script,
      shim: 'node',
      notes,
    };
    mkdirSync(join(this.stateDir, 'sandboxes'), { recursive: true });
    mkdirSync(join(this.stateDir, 'containers'), { recursive: true, mode: 0o700 });
    mkdirSync(join(this.stateDir, 'sock'), { recursive: true, mode: 0o700 });
    this.shimPath = join(this.stateDir, 'shim.cjs');
    writeFileSync(`${this.shimPath}.tmp`, SHIM_SOURCE);
    renameSync(`${this.shimPath}.tmp`, this.shimPath);
    const shimMode = opts.shim ?? (process.env.SKIFF_SHIM as ProcessRuntimeOptions['shim']) ?? 'auto';
    if (shimMode !== 'node') {
      const bin = opts.shimBinary ?? process.env.SKIFF_SHIM_BINARY ?? fileURLToPath(new URL('../../../../native/skiff-shim', import.meta.url));
      if (existsSync(bin)) {
        this.nativeShim = join(this.stateDir, 'skiff-shim');
        copyFileSync(bin, `${this.nativeShim}.tmp`);
        chmodSync(`${this.nativeShim}.tmp`, 0o755);
        renameSync(`${this.nativeShim}.tmp`, this.nativeShim);
        this.capabilities.shim = 'native';
        try {
          const bin = readFileSync(this.nativeShim);
          this.shimSetsHostname = bin.includes('skiff-shim-features: spec-hostname');
          this.shimPrefork = bin.includes('skiff-shim-features: spec-hostname prefork') && process.env.SKIFF_SHIM_PREFORK !== '0';
        } catch {
          /* unreadable: no pool */
        }
        if ((opts.launcher ?? process.env.SKIFF_LAUNCHER !== '0')) this.launcher = new Launcher(this.nativeShim);
      } else if (shimMode === 'native') {
        throw new Error(`native shim requested but ${bin} does not exist (npm run build compiles native/shim/skiff-shim.c with cc)`);
      } else notes.push(`native shim not built (${bin}): using the Node shim (~40 MB per container)`);
    }
    mkdirSync(join(this.stateDir, 'pool'), { recursive: true, mode: 0o700 });
    this.load();
  }

  /** Reads persisted sandboxes and containers (adoption after an agent restart). */
  private load(): void {
    for (const id of readdirSync(join(this.stateDir, 'sandboxes'))) {
      const r = readJson<SandboxRecord>(join(this.stateDir, 'sandboxes', id, 'sandbox.json'));
      if (r) this.sandboxes.set(r.id, r);
    }
    for (const id of readdirSync(join(this.stateDir, 'containers'))) {
      const r = readJson<ContainerRecord>(join(this.stateDir, 'containers', id, 'container.json'));
      if (r) this.containers.set(r.id, r);
    }
    // Pool sandboxes of an earlier agent process are orphans (this process does not know them): released once
    // the caller had a chance to plug in the CNI runner.
    const orphans: PooledSandbox[] = [];
    for (const f of readdirSync(join(this.stateDir, 'pool'))) {
      if (!f.endsWith('.json')) continue;
      const r = readJson<PooledSandbox>(join(this.stateDir, 'pool', f));
      if (!r || this.sandboxes.has(r.id)) rmSync(join(this.stateDir, 'pool', f), { force: true }); // taken: a sandbox now
      else orphans.push(r);
    }
    if (orphans.length) {
      setImmediate(() => {
        for (const o of orphans) {
          void this.releasePooled(o).catch((err: unknown) => this.log.error({ sandbox: o.id, err: String(err) }, 'cannot release an orphaned pooled sandbox'));
        }
      });
    }
  }

  // ---------------------------------------------------------------- sandbox pool

  private poolPath(id: string): string {
    return join(this.stateDir, 'pool', `${id}.json`);
  }

  /** Whether pooled sandboxes can be made now (see ProcessRuntimeOptions.sandboxPool). */
  private poolUsable(): boolean {
    return this.poolSize > 0 && !this.closed && !this.purging && this.shimSetsHostname && !!this.launcher && this.capabilities.namespaces && !!this.network && (this.network.ready?.() ?? true);
  }

  /**
   * Fills the sandbox pool in the background (one at a time, each one a low-priority task that waits while pods
   * start); call once the pod network is ready. Also called whenever a pooled sandbox was taken.
   */
  warmSandboxPool(): void {
    if (this.poolFill || !this.poolUsable() || this.pool.length >= this.poolSize || Date.now() < this.poolRetryAt) return;
    this.poolFill = (async () => {
      try {
        while (this.poolUsable() && this.pool.length < this.poolSize) {
          await this.background.run('sandbox pool refill', async () => {
            if (!this.poolUsable() || this.pool.length >= this.poolSize) return; // closed or filled while queued
            const e = await this.createPooled();
            if (this.closed || this.purging) await this.releasePooled(e);
            else this.pool.push(e);
          });
        }
      } catch (err) {
        this.poolRetryAt = Date.now() + 5000;
        this.log.warn({ err: String(err) }, 'cannot pre-create a pooled pod sandbox; retrying in 5s');
      } finally {
        this.poolFill = undefined;
      }
    })();
  }

  /** One pooled sandbox: the infra process (no hostname yet), then its pod network. */
  private async createPooled(): Promise<PooledSandbox> {
    const id = randomBytes(32).toString('hex');
    const pid = await this.startInfra(['--net', '--uts', '--ipc'], undefined, '/dev/null');
    const e: PooledSandbox = { id, pausePid: pid, pauseStart: pidStartTime(pid) };
    if (this.cgroups) e.cgroupPath = `${this.cgroupRoot}/pool${id.slice(0, 32)}`;
    writeJsonAtomic(this.poolPath(id), e); // before the ADD: a crash leaves an orphan the next runtime releases
    try {
      if (e.cgroupPath) await this.cgroups!.create(e.cgroupPath);
      await this.background.idle(); // a start that began meanwhile goes first (the ADD execs two CNI plugins)
      e.ip = (await this.network!.setup(id, `/proc/${pid}/ns/net`, { name: '', namespace: '', uid: '' })).ip;
    } catch (err) {
      await this.releasePooled(e).catch(() => {});
      throw err;
    }
    writeJsonAtomic(this.poolPath(id), e);
    await this.background.idle();
    if (this.shimPrefork) {
      try {
        await this.startWarmShim(e);
      } catch (err) {
        this.log.warn({ sandbox: id, err: String(err) }, 'cannot pre-fork a container shim for a pooled sandbox; its first container starts the ordinary way');
      }
    }
    return e;
  }

  /** Pre-forks the first container's shim of a pooled sandbox (see WarmShim). */
  private async startWarmShim(e: PooledSandbox): Promise<void> {
    this.warmShims.set(e.id, await this.forkWarmShim(e.pausePid, e.cgroupPath, 'warm'));
  }

  /** Launches a warm shim whose child joins `<podCgroup>/<name>` (made here) and the infra process's namespaces. */
  private async forkWarmShim(pausePid: number, podCgroup: string | undefined, name: string): Promise<WarmShim> {
    const cgroupPath = podCgroup ? `${podCgroup}/${name}` : undefined;
    const procs = cgroupPath ? (await this.cgroups!.create(cgroupPath)).procsFiles : [];
    const argv = [this.nativeShim!, 'prefork', ...procs.flatMap((f) => ['--procs', f])];
    for (const ns of ['net', 'uts', 'ipc']) argv.push('--ns', `/proc/${pausePid}/ns/${ns}`);
    const launched = await this.launch({ argv, env: { PATH: process.env.PATH ?? DEFAULT_PATH }, cwd: '/', gate: true, idle: true });
    return { launched, cgroupPath };
  }

  /**
   * A pooled sandbox whose pod announced more containers than were created so far gets the next warm shim while
   * the current container runs (its cgroup goes with the pod's; an unused one is released with the sandbox).
   */
  private refillWarm(s: SandboxRecord): void {
    const left = this.warmSlots.get(s.id);
    if (left === undefined) return;
    if (left <= 1) this.warmSlots.delete(s.id);
    else this.warmSlots.set(s.id, left - 1);
    if (this.closed || this.purging || !s.pausePid || s.stopped || this.warmShims.has(s.id) || (this.cgroups && !s.cgroupPath)) return;
    this.forkWarmShim(s.pausePid, this.cgroups ? s.cgroupPath : undefined, `warm${++this.warmSeq}`).then(
      (w) => {
        if (this.closed || this.purging || this.sandboxes.get(s.id) !== s || s.stopped || this.warmShims.has(s.id)) this.releaseWarm(w);
        else this.warmShims.set(s.id, w);
      },
      (err) => this.log.warn({ sandbox: s.id, err: String(err) }, 'cannot pre-fork the next container shim; it starts the ordinary way'),
    );
  }

  /** Lets a warm shim go unused: EOF on its stdin ends it and its waiting child. */
  private releaseWarm(w: WarmShim | undefined): void {
    w?.launched.open(false);
  }

  /** Kills a pooled sandbox's infra process and releases its network (CNI DEL) and record. */
  private async releasePooled(e: PooledSandbox): Promise<void> {
    this.releaseWarm(this.warmShims.get(e.id));
    this.warmShims.delete(e.id);
    const alive = isAlive(e.pausePid, e.pauseStart);
    try {
      await this.network?.teardown(e.id, alive ? `/proc/${e.pausePid}/ns/net` : '');
    } finally {
      if (alive) {
        killGroup(e.pausePid, 'SIGKILL');
        for (let i = 0; i < 200 && isAlive(e.pausePid, e.pauseStart); i++) await sleep(5); // gone when this resolves
      }
      if (e.cgroupPath && this.cgroups) await this.cgroups.remove(e.cgroupPath).catch((err: unknown) => this.log.warn({ cgroup: e.cgroupPath, err: String(err) }, 'cannot remove a pooled cgroup'));
      rmSync(this.poolPath(e.id), { force: true });
    }
  }

  /** A live pooled sandbox, or undefined; starts the refill. */
  private takePooled(): PooledSandbox | undefined {
    let e: PooledSandbox | undefined;
    while ((e = this.pool.shift())) {
      if (e.ip && isAlive(e.pausePid, e.pauseStart)) break;
      const dead = e;
      void this.releasePooled(dead).catch((err: unknown) => this.log.error({ sandbox: dead.id, err: String(err) }, 'cannot release a dead pooled sandbox'));
    }
    // Refilled as background work: it runs once no pod is starting (a refill's infra process and CNI plugins would
    // compete for the CPU and the launcher with the start that just took a sandbox), before the pool runs dry.
    this.warmSandboxPool();
    return e;
  }

  /**
   * Releases every pooled sandbox (close, purge) after running all queued background work now, holds or not: a
   * refill step queued behind a start sees the runtime closing and the fill ends.
   */
  private async releasePool(): Promise<void> {
    await this.background.flush();
    await this.poolFill;
    const all = this.pool.splice(0);
    const res = await Promise.allSettled(all.map((e) => this.releasePooled(e)));
    for (const r of res) if (r.status === 'rejected') this.log.error({ err: String(r.reason) }, 'cannot release a pooled sandbox');
  }

  async version() {
    return { runtimeName: 'skiff-process', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' };
  }

  /** A pod start is in progress: background work (pool refills, cleanups) waits until released (bounded). */
  holdBackground(): () => void {
    return this.background.hold();
  }

  /** Runs `fn` as low-priority background work (one task at a time, while no pod starts); resolves with it. */
  inBackground(what: string, fn: () => Promise<unknown>): Promise<void> {
    return this.background.run(what, fn);
  }

  /** Inside {@link inBackground} work, between its steps: waits while a pod start holds the queue (bounded). */
  backgroundIdle(): Promise<void> {
    return this.background.idle();
  }

  // ---------------------------------------------------------------- sandboxes

  private sandboxDir(id: string): string {
    return join(this.stateDir, 'sandboxes', id);
  }

  private getSandbox(id: string): SandboxRecord {
    const s = this.sandboxes.get(id);
    if (!s) throw new NotFoundError('sandbox', id);
    return s;
  }

  private sandboxReady(s: SandboxRecord): boolean {
    if (s.stopped) return false;
    if (s.netPending && !this.netSetup.has(s.id)) return false; // setup interrupted by an agent restart, or failed
    if (s.pausePid) return isAlive(s.pausePid, s.pauseStart);
    return true;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const nsOpts = config.linux?.namespaceOptions ?? {};
    const can = this.capabilities.namespaces;
    const network: NamespaceMode = can && (nsOpts.network ?? 'POD') !== 'NODE' ? 'POD' : 'NODE';
    const ipc: NamespaceMode = can && (nsOpts.ipc ?? 'POD') !== 'NODE' ? 'POD' : 'NODE';
    // A pre-created sandbox (infra process + attached network) when the pod fits one: its id becomes the sandbox's.
    const hostPorts = (config.portMappings ?? []).some((p) => p.hostPort && p.hostPort > 0);
    const pooled = network === 'POD' && ipc === 'POD' && !hostPorts && this.poolSize > 0 ? this.takePooled() : undefined;
    const id = pooled?.id ?? randomBytes(32).toString('hex');
    const dir = this.sandboxDir(id);
    // The small state files of the start path are written synchronously (tens of µs each): every async fs hop
    // waits for a threadpool slot and a turn of the agent's busy event loop, which cost milliseconds per pod start.
    const hostname = (network === 'POD' ? config.hostname || config.metadata.name : osHostname()).slice(0, 63);
    const rec: SandboxRecord = { id, config, createdAt: nowNs(), network, ipc, hostname };
    if (pooled) {
      Object.assign(rec, { pausePid: pooled.pausePid, pauseStart: pooled.pauseStart, ip: pooled.ip, pooled: true });
      const slots = Number(config.annotations?.[ANNOTATION_CONTAINER_SLOTS]);
      if (this.shimPrefork && Number.isInteger(slots) && slots > 1) this.warmSlots.set(id, Math.min(slots, 64) - 1);
      trace(config.metadata.name, 'rt-pooled');
    }
    // Files the containers see at /etc (bind-mounted when they have a mount namespace), as kubelet/containerd write.
    const dns = config.dnsConfig;
    const resolv = dns && (dns.servers?.length || dns.searches?.length || dns.options?.length)
      ? [
          ...(dns.searches?.length ? [`search ${dns.searches.join(' ')}`] : []),
          ...(dns.servers ?? []).map((s) => `nameserver ${s}`),
          ...(dns.options?.length ? [`options ${dns.options.join(' ')}`] : []),
        ].join('\n') + '\n'
      : readTextOr('/etc/resolv.conf', '');
    let filesErr: unknown;
    try {
      mkdirSync(dir, { recursive: true });
      if (config.logDirectory) mkdirSync(config.logDirectory, { recursive: true });
      writeFileSync(join(dir, 'resolv.conf'), resolv);
      writeFileSync(join(dir, 'hostname'), `${hostname}\n`);
      writeFileSync(
        join(dir, 'hosts'),
        `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`,
      );
    } catch (err) {
      filesErr = err ?? new Error('cannot write the sandbox files');
    }
    trace(config.metadata.name, 'rt-sb-files');
    // The pod cgroup and the infra process are independent: prepared concurrently (after the files: cleaned up alike).
    const steps: Promise<unknown>[] = filesErr === undefined ? [] : [Promise.reject(filesErr)];
    if (pooled?.cgroupPath && !config.linux?.cgroupParent) rec.cgroupPath = pooled.cgroupPath;
    else if (this.cgroups && filesErr === undefined) {
      if (pooled) {
        this.releaseWarm(this.warmShims.get(id)); // its cgroup goes with the pooled one
        this.warmShims.delete(id);
      }
      if (pooled?.cgroupPath) void this.cgroups.remove(pooled.cgroupPath).catch(() => {});
      const path = config.linux?.cgroupParent
        ? config.linux.cgroupParent.replace(/^\/+/, '')
        : `${this.cgroupRoot}/pod${config.metadata.uid.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
      const cgroups = this.cgroups;
      steps.push(cgroups.create(path).then(() => {
        trace(config.metadata.name, 'rt-podcgroup');
        rec.cgroupPath = path;
        const spare = cgroups.create(`${path}/ctr-${randomBytes(6).toString('hex')}`).then(
          (h) => h.path,
          (err: unknown) => {
            this.log.warn({ cgroup: path, err: String(err) }, 'cannot make a container cgroup ahead');
            return undefined;
          },
        );
        this.spareCgroups.set(id, spare);
      }));
    }
    if (!pooled && (network === 'POD' || ipc === 'POD') && filesErr === undefined) {
      const flags = [...(network === 'POD' ? ['--net', '--uts'] : []), ...(ipc === 'POD' ? ['--ipc'] : [])];
      steps.push(this.startInfra(flags, network === 'POD' ? hostname : undefined, join(dir, 'infra.log')).then((pid) => {
        trace(config.metadata.name, 'rt-infra');
        rec.pausePid = pid;
        rec.pauseStart = pidStartTime(pid);
      }));
    }
    try {
      const failed = (await Promise.allSettled(steps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      trace(config.metadata.name, 'rt-sb-steps');
      if (network === 'POD' && this.network && rec.pausePid && !pooled) {
        // The network is attached in the background: containers are created and their shims prepare them
        // meanwhile, and startContainer lets a process exec only once this finished (podSandboxStatus waits too).
        rec.netPending = true;
        this.startNetwork(rec, this.network);
      }
    } catch (err) {
      if (pooled) await this.releasePooled(pooled).catch((e: unknown) => this.log.error({ sandbox: id, err: String(e) }, 'cannot release a pooled sandbox'));
      if (rec.pausePid) killGroup(rec.pausePid, 'SIGKILL');
      await this.spareCgroups.get(id);
      this.spareCgroups.delete(id);
      if (rec.cgroupPath && this.cgroups) await this.cgroups.remove(rec.cgroupPath).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    this.sandboxes.set(id, rec);
    this.persistNow(join(dir, 'sandbox.json'), rec);
    trace(config.metadata.name, 'rt-sb-persisted');
    if (pooled) rmSync(this.poolPath(id), { force: true }); // after sandbox.json: never both missing
    return id;
  }

  /** Runs the network hook for a new sandbox (see runPodSandbox); on failure the sandbox is not ready any more. */
  private startNetwork(rec: SandboxRecord, network: PodNetwork): void {
    const { name, namespace, uid } = rec.config.metadata;
    const setup = network
      .setup(rec.id, `/proc/${rec.pausePid}/ns/net`, { name, namespace, uid, portMappings: rec.config.portMappings })
      .then(
        (r) => {
          trace(name, 'rt-cni');
          rec.ip = r.ip;
          delete rec.netPending;
          if (this.sandboxes.get(rec.id) === rec) return this.persist(join(this.sandboxDir(rec.id), 'sandbox.json'), rec);
        },
        (err: unknown) => {
          // Like a failed RunPodSandbox: the infra process goes; the kubelet sees the sandbox not ready and
          // replaces it (stopPodSandbox then releases whatever the hook reserved).
          if (rec.pausePid) killGroup(rec.pausePid, 'SIGKILL');
          throw err;
        },
      )
      .finally(() => this.netSetup.delete(rec.id));
    setup.catch(() => {}); // reported to whoever waits on it (startContainer, podSandboxStatus)
    this.netSetup.set(rec.id, setup);
  }

  private persist(path: string, value: unknown): Promise<void> {
    return persistJson(path, value);
  }

  /** persist() without an event-loop hop (start path): synchronously, unless an async write of `path` is queued. */
  private persistNow(path: string, value: unknown): void {
    if (persisting.has(path)) void persistJson(path, value).catch((err: unknown) => this.log.error({ path, err: String(err) }, 'cannot persist runtime state'));
    else writeJson(path, value);
  }

  /** Waits for the sandbox's network setup (or `setup`), if one is in flight; resolves its error (or undefined). */
  private async networkSettled(sandboxId: string, setup = this.netSetup.get(sandboxId)): Promise<unknown> {
    try {
      await setup;
      return undefined;
    } catch (err) {
      return err ?? new Error('pod network setup failed');
    }
  }

  /**
   * Starts the sandbox's infra process in new namespaces (`flags`: --net/--uts/--ipc): the native shim's `pause`
   * mode, else unshare + sh + sleep. It reports readiness (namespaces exist, lo is up, hostname set) by printing
   * "ok" on its stdout — no polling.
   */
  private async startInfra(flags: string[], hostname: string | undefined, stderrPath: string): Promise<number> {
    let argv: string[];
    if (this.nativeShim) argv = [this.nativeShim, 'pause', ...flags, ...(hostname !== undefined ? ['--hostname', hostname] : [])];
    else {
      const script = [
        hostname !== undefined ? `printf %s ${shQuote(hostname)} > /proc/sys/kernel/hostname` : ':',
        hostname !== undefined && this.tools.ip ? `${shQuote(this.tools.ip)} link set lo up` : ':',
        'echo ok',
        `exec ${shQuote(this.tools.sleep!)} infinity >/dev/null 2>&1`,
      ].join('; ');
      argv = [this.tools.unshare!, ...flags, '--', '/bin/sh', '-c', script];
    }
    const launched = await this.launch({ argv, env: { PATH: process.env.PATH ?? DEFAULT_PATH }, stderrPath });
    const line = await withTimeout(launched.firstLine, 10000, 'sandbox infra process did not become ready in 10s').catch((e: Error) => e);
    if (line === 'ok') return launched.pid;
    killGroup(launched.pid, 'SIGKILL');
    if (line instanceof Error) throw line;
    let stderr = '';
    try {
      stderr = (await readFile(stderrPath, 'utf8')).trim();
    } catch {
      /* none */
    }
    throw new Error(`sandbox infra process exited: ${stderr || line || 'no output'}`);
  }

  async stopPodSandbox(sandboxId: string): Promise<void> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) return; // CRI: stopping an absent sandbox is not an error
    this.releaseWarm(this.warmShims.get(sandboxId));
    this.warmShims.delete(sandboxId);
    this.warmSlots.delete(sandboxId);
    await this.networkSettled(sandboxId);
    for (const c of [...this.containers.values()].filter((c) => c.sandboxId === sandboxId)) await this.stopContainer(c.id, 0);
    let changed = false;
    if (s.network === 'POD' && this.network && (s.ip || !s.stopped)) {
      // CNI DEL while the namespace still exists (as containerd); with a dead infra the plugins get no netns and
      // only release the address. A failure fails the stop (the kubelet retries), as upstream.
      const alive = !!s.pausePid && isAlive(s.pausePid, s.pauseStart);
      await this.network.teardown(sandboxId, alive ? `/proc/${s.pausePid}/ns/net` : '');
      delete s.ip;
      changed = true;
    }
    if (s.pausePid && isAlive(s.pausePid, s.pauseStart)) {
      killGroup(s.pausePid, 'SIGKILL');
      for (let i = 0; i < 200 && isAlive(s.pausePid, s.pauseStart); i++) await sleep(5);
    }
    // One write for the whole stop: a crash before it leaves the sandbox not stopped (with its IP), and the next stop
    // repeats the CNI DEL, which is idempotent. A repeated stop (removePodSandbox after stopPodSandbox) writes nothing.
    if (changed || !s.stopped) {
      s.stopped = true;
      await this.persist(join(this.sandboxDir(sandboxId), 'sandbox.json'), s);
    }
  }

  async removePodSandbox(sandboxId: string): Promise<void> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) return;
    await this.stopPodSandbox(sandboxId);
    for (const c of [...this.containers.values()].filter((c) => c.sandboxId === sandboxId)) await this.removeContainer(c.id);
    await this.spareCgroups.get(sandboxId); // an unused one goes with the pod's cgroup (made before it is removed)
    this.spareCgroups.delete(sandboxId);
    if (s.cgroupPath && this.cgroups) await this.cgroups.remove(s.cgroupPath);
    rmSync(this.sandboxDir(sandboxId), { recursive: true, force: true });
    this.sandboxes.delete(sandboxId);
  }

  private sandboxStatus(s: SandboxRecord): PodSandboxStatus {
    const ready = this.sandboxReady(s);
    return {
      id: s.id,
      metadata: s.config.metadata,
      state: ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      createdAt: s.createdAt,
      // The pod IP from the network hook (CNI); without one an isolated pod is reachable only through portForward.
      network: { ip: s.network === 'NODE' ? hostIPv4() : ready ? s.ip ?? '' : '' },
      labels: s.config.labels ?? {},
      annotations: s.config.annotations ?? {},
      namespaces: { network: s.network, ipc: s.ipc, pid: 'NODE' },
      ...(s.pausePid && ready ? { pid: s.pausePid } : {}),
    };
  }

  async podSandboxStatus(sandboxId: string): Promise<PodSandboxStatus> {
    const s = this.getSandbox(sandboxId);
    await this.networkSettled(sandboxId); // the IP is part of the status
    return this.sandboxStatus(s);
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()]
      .filter((s) => (!filter.id || s.id === filter.id) && matchLabels(s.config.labels, filter.labelSelector))
      .map((s) => this.sandboxStatus(s))
      .filter((st) => !filter.state || st.state === filter.state)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  // ---------------------------------------------------------------- containers

  private containerDir(id: string): string {
    return join(this.stateDir, 'containers', id);
  }

  private sockPath(id: string): string {
    return join(this.stateDir, 'sock', `${id.slice(0, 24)}.sock`);
  }

  private getContainer(id: string): ContainerRecord {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError('container', id);
    return c;
  }

  async resolveImage(image: string): Promise<string | undefined> {
    return resolveImageOnHost(image);
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const s = this.getSandbox(sandboxId);
    if (!this.sandboxReady(s)) throw new InvalidStateError(`sandbox ${sandboxId} is not ready`);
    const env: Record<string, string> = {};
    for (const kv of config.envs ?? []) env[kv.key] = kv.value;
    env.PATH ??= DEFAULT_PATH;
    env.HOSTNAME ??= s.hostname;
    const uid = config.linux?.securityContext?.runAsUser;
    env.HOME ??= uid === undefined ? (this.capabilities.root ? '/root' : (process.env.HOME ?? '/')) : uid === 0 ? '/root' : '/';
    let argv: string[];
    const image = config.image ?? '';
    if (config.command?.length) argv = [...config.command, ...(config.args ?? [])];
    else {
      const exe = image ? resolveImageOnHost(image, `${env.PATH}:${process.env.PATH ?? ''}`) : undefined;
      if (!exe) {
        throw new ImagePullError(
          image,
          image
            ? `image "${image}": the process runtime runs host executables and "${imageBinaryName(image)}" was not found on the host PATH; install it on the node or set the container's command`
            : 'container has neither command nor image',
        );
      }
      argv = [exe, ...(config.args ?? [])];
    }
    if (uid !== undefined && !this.capabilities.runAsUser && uid !== process.getuid?.()) {
      throw new InvalidStateError(`runAsUser ${uid} needs the agent to run as root (with setpriv)`);
    }
    const id = randomBytes(32).toString('hex');
    const dir = this.containerDir(id);
    const logDir = s.config.logDirectory;
    const logPath = logDir && config.logPath ? (isAbsolute(config.logPath) ? config.logPath : join(logDir, config.logPath)) : '';
    mkdirSync(dir, { recursive: true });
    if (logPath) mkdirSync(dirname(logPath), { recursive: true });
    const rec: ContainerRecord = {
      id,
      sandboxId,
      config,
      createdAt: nowNs(),
      imageRef: image,
      argv,
      env,
      cwd: config.workingDir || '/',
      logPath,
      mountNs: this.capabilities.mounts,
      createdMountpoints: [],
    };
    // The sandbox's warm shim (see WarmShim), when it is alive and its cgroup is one of this sandbox's.
    let warm = this.warmShims.get(sandboxId);
    if (warm) {
      this.warmShims.delete(sandboxId);
      const fits = isAlive(warm.launched.pid) && (warm.cgroupPath ? !!s.cgroupPath && dirname(warm.cgroupPath) === s.cgroupPath : !this.cgroups);
      if (!fits) {
        this.releaseWarm(warm);
        warm = undefined;
      }
    }
    try {
      if (this.cgroups && s.cgroupPath) {
        const spare = warm?.cgroupPath ? undefined : this.spareCgroups.get(sandboxId);
        if (spare) this.spareCgroups.delete(sandboxId);
        const sparePath = await spare;
        const ahead = warm?.cgroupPath ?? (sparePath && dirname(sparePath) === s.cgroupPath ? sparePath : undefined);
        rec.cgroup = ahead
          ? this.cgroups.configureSync(ahead, config.linux?.resources) // made ahead (pool, sandbox): limits only
          : await this.cgroups.create(`${s.cgroupPath}/${id}`, config.linux?.resources);
        trace(s.config.metadata.name, 'rt-cgroup');
      }
      if (rec.mountNs) {
        for (const m of config.mounts ?? []) this.ensureMountpoint(m.hostPath, m.containerPath, rec.createdMountpoints);
      } else if (config.mounts?.length) {
        const root = join(this.sandboxDir(sandboxId), 'rootfs', config.metadata.name);
        rmSync(root, { recursive: true, force: true });
        for (const m of config.mounts) {
          const link = join(root, m.containerPath);
          mkdirSync(dirname(link), { recursive: true });
          symlinkSync(m.hostPath, link);
        }
        rec.env.SKIFF_ROOTFS ??= root;
      }
    } catch (err) {
      this.releaseWarm(warm);
      if (rec.cgroup && this.cgroups) await this.cgroups.remove(rec.cgroup.path).catch(() => {});
      this.removeMountpoints(rec);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    this.persistNow(join(dir, 'container.json'), rec);
    this.containers.set(id, rec);
    if (warm) this.warmFor.set(id, warm);
    if (s.pooled && this.warmSlots.has(sandboxId)) this.refillWarm(s);
    return id;
  }

  /** Creates a missing mountpoint (dir or empty file, like runc does in the rootfs) and records it. */
  private ensureMountpoint(hostPath: string, containerPath: string, created: string[]): void {
    if (!isAbsolute(containerPath)) throw new InvalidStateError(`mount containerPath must be absolute: ${containerPath}`);
    const src = statSync(hostPath); // throws ENOENT for a missing hostPath, as CRI runtimes do
    if (existsSync(containerPath)) return;
    // Create (and remember) every missing ancestor, outermost first.
    const missing: string[] = [];
    for (let p = dirname(containerPath); !existsSync(p); p = dirname(p)) missing.unshift(p);
    for (const p of missing) {
      mkdirSync(p);
      created.push(p);
    }
    if (src.isDirectory()) mkdirSync(containerPath);
    else closeSync(openSync(containerPath, 'a'));
    created.push(containerPath);
  }

  private removeMountpoints(rec: ContainerRecord): void {
    for (const p of [...rec.createdMountpoints].reverse()) {
      // Another container mounts here (or below): rmdir on a mountpoint unmounts it in every mount namespace
      // (Linux ≥ 3.18), which would strip that container's volume. Hand the mountpoint over to it instead.
      const heir = [...this.containers.values()].find((o) => o !== rec && (o.config.mounts ?? []).some((m) => m.containerPath === p || m.containerPath.startsWith(`${p}/`)));
      if (heir) {
        if (!heir.createdMountpoints.includes(p)) {
          heir.createdMountpoints.unshift(p);
          writeJsonAtomic(join(this.containerDir(heir.id), 'container.json'), heir);
        }
        continue;
      }
      // Not ours alone either when a container of another runtime (another agent, a test's runtime) mounts there.
      if (mountedInOtherNamespaces(p)) continue;
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) rmdirSync(p);
        else if (st.size === 0) rmSync(p);
      } catch {
        /* busy, non-empty or gone: leave it */
      }
    }
  }

  private started(id: string): StartedInfo | undefined {
    const cached = this.startedCache.get(id);
    if (cached) return cached;
    const st = readJson<StartedInfo>(join(this.containerDir(id), 'started.json'));
    if (st) this.startedCache.set(id, st); // written once by the shim: immutable
    return st;
  }

  private exited(id: string): ExitInfo | undefined {
    const cached = this.exitCache.get(id);
    if (cached) return cached;
    const ex = readJson<ExitInfo>(join(this.containerDir(id), 'exit.json'));
    if (ex) this.exitCache.set(id, ex); // terminal
    return ex;
  }

  private state(id: string): { state: ContainerState; started?: StartedInfo; exit?: ExitInfo } {
    // Cheap path for the common case (listings per pod sync): a live main process has no exit record yet.
    const started = this.started(id);
    if (started && !this.exitCache.has(id) && isAlive(started.pid, started.pidStart)) return { state: 'CONTAINER_RUNNING', started };
    const exit = this.exited(id);
    if (exit) return { state: 'CONTAINER_EXITED', started, exit };
    if (!started) return { state: 'CONTAINER_CREATED' };
    if (isAlive(started.shimPid, started.shimStart)) {
      return { state: 'CONTAINER_RUNNING', started };
    }
    // Both the process and its shim are gone without an exit record (e.g. the shim was SIGKILLed).
    return {
      state: 'CONTAINER_EXITED',
      started,
      exit: {
        exitCode: 255,
        signal: null,
        finishedAt: String(nowNs()),
        oomKilled: false,
        reason: 'Unknown',
        message: 'the container exited while its shim was gone; its exit status is unknown',
      },
    };
  }

  /** Builds the argv that enters the pod, joins the cgroup, mounts, drops privileges and execs `payload`. */
  private wrap(
    rec: ContainerRecord,
    s: SandboxRecord,
    payload: string[],
    mode: { kind: 'start' } | { kind: 'exec'; targetPid: number },
  ): { argv: string[]; cwd: string; uid?: number; gid?: number } {
    const sc = rec.config.linux?.securityContext;
    const isolated = this.capabilities.mounts || this.capabilities.namespaces || !!rec.cgroup;
    if (!isolated) {
      const uid = sc?.runAsUser;
      const gid = sc?.runAsGroup ?? (uid !== undefined ? uid : undefined);
      const own = uid === undefined || uid === process.getuid?.();
      return { argv: payload, cwd: rec.cwd, ...(own ? {} : { uid, gid }) };
    }
    const lines: string[] = [];
    for (const f of rec.cgroup?.procsFiles ?? []) lines.push(`echo $$ > ${shQuote(f)} || exit 128`);
    if (mode.kind === 'start' && rec.mountNs) {
      for (const m of rec.config.mounts ?? []) {
        lines.push(`mount --bind ${shQuote(m.hostPath)} ${shQuote(m.containerPath)} || exit 128`);
        if (m.readonly) lines.push(`mount -o remount,bind,ro ${shQuote(m.containerPath)} || exit 128`);
      }
      if (s.network === 'POD') {
        const sd = this.sandboxDir(s.id);
        const own = new Set((rec.config.mounts ?? []).map((m) => m.containerPath));
        for (const f of ['resolv.conf', 'hosts', 'hostname']) {
          if (!own.has(`/etc/${f}`) && existsSync(`/etc/${f}`)) lines.push(`mount --bind ${shQuote(join(sd, f))} /etc/${f} 2>/dev/null`);
        }
      }
    }
    lines.push(`cd ${shQuote(rec.cwd)} || exit 128`);
    let exec = 'exec "$@"';
    if (sc?.runAsUser !== undefined || sc?.runAsGroup !== undefined) {
      const uid = sc.runAsUser ?? 0;
      const gid = sc.runAsGroup ?? uid;
      exec = `exec ${shQuote(this.tools.setpriv!)} --reuid=${uid} --regid=${gid} --clear-groups -- "$@"`;
    }
    lines.push(exec);
    const argv: string[] = [];
    if (mode.kind === 'exec') {
      // Enter the container's namespaces (those it has that differ from ours) through its main process.
      const flags = [
        ...(s.network === 'POD' ? ['--net', '--uts'] : []),
        ...(s.ipc === 'POD' ? ['--ipc'] : []),
        ...(rec.mountNs ? ['--mount'] : []),
      ];
      if (flags.length) argv.push(this.tools.nsenter!, `--target=${mode.targetPid}`, ...flags, '--');
    } else {
      if (s.pausePid) {
        const flags = [...(s.network === 'POD' ? ['--net', '--uts'] : []), ...(s.ipc === 'POD' ? ['--ipc'] : [])];
        argv.push(this.tools.nsenter!, `--target=${s.pausePid}`, ...flags, '--');
      }
      if (rec.mountNs) argv.push(this.tools.unshare!, '--mount', '--propagation', 'private', '--');
    }
    argv.push('/bin/sh', '-c', lines.join('\n'), 'sh', ...payload);
    return { argv, cwd: '/' };
  }

  async startContainer(containerId: string): Promise<void> {
    const rec = this.getContainer(containerId);
    const st = this.state(containerId);
    if (st.state !== 'CONTAINER_CREATED') throw new InvalidStateError(`container ${containerId} is ${st.state}, not CREATED`);
    const s = this.getSandbox(rec.sandboxId);
    const dir = this.containerDir(containerId);
    const failStart = (message: string): never => {
      writeJsonAtomic(join(dir, 'exit.json'), {
        exitCode: 128,
        signal: null,
        finishedAt: String(nowNs()),
        oomKilled: false,
        reason: 'StartError',
        message,
      } satisfies ExitInfo);
      throw new StartError(message);
    };
    if (!this.sandboxReady(s)) failStart(`sandbox ${s.id} is not ready`);
    // Resolve the executable as runc does before exec, unless it lives under one of the container's mounts.
    const exe = rec.argv[0]!;
    const underMount = (rec.config.mounts ?? []).some((m) => exe === m.containerPath || exe.startsWith(`${m.containerPath}/`));
    if (!underMount && !lookPath(exe, rec.env.PATH, rec.cwd)) {
      failStart(`exec: "${exe}": executable file not found in $PATH`);
    }
    if (!underMount && !existsSync(rec.cwd)) failStart(`chdir to cwd ("${rec.cwd}") set in config.json failed: no such file or directory`);
    trace(s.config.metadata.name, 'rt-start');
    // With the pod network still being attached, the native shim prepares the container (cgroup, namespaces,
    // mounts, credentials) meanwhile and execs it only when we open its gate: no container process runs before the
    // pod has its network, as with CRI. The Node shim has no gate: it starts after the network.
    const netSetup = this.netSetup.get(s.id);
    const gated = !!netSetup && !!this.nativeShim;
    if (netSetup && !gated) {
      const err = await this.networkSettled(s.id, netSetup);
      if (err) failStart(`pod network setup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    let shimArgv: string[];
    let specPath = '';
    if (this.nativeShim) {
      specPath = join(dir, 'shim.spec');
      writeFileSync(specPath, this.nativeSpec(rec, s, dir, gated));
      trace(s.config.metadata.name, 'rt-spec');
      shimArgv = [this.nativeShim, specPath];
    } else shimArgv = this.nodeShimArgv(rec, s, dir);
    // A warm shim (see WarmShim) takes the spec path and starts right away; gated starts take the ordinary path.
    const warm = this.warmFor.get(containerId);
    this.warmFor.delete(containerId);
    let launched: Launched;
    if (warm && specPath && !gated && isAlive(warm.launched.pid)) {
      warm.launched.send(`${specPath}\n`);
      launched = warm.launched;
    } else {
      this.releaseWarm(warm);
      try {
        launched = await this.launch({ argv: shimArgv, env: { PATH: process.env.PATH ?? DEFAULT_PATH }, cwd: '/', stderrPath: join(dir, 'shim.log'), gate: gated });
      } catch (err) {
        return failStart(`cannot start shim: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    trace(s.config.metadata.name, 'rt-spawned');
    let netErr: unknown;
    if (gated) {
      netErr = await this.networkSettled(s.id, netSetup);
      // One byte opens the gate; EOF without it makes the shim abort the start.
      launched.open(!netErr);
    }
    try {
      const hello = await withTimeout(launched.firstLine, 15000, 'shim did not report within 15s').then(
        (line) => {
          if (line === undefined) return { ok: false, message: `shim exited before starting the container; see ${join(dir, 'shim.log')}` };
          try {
            return JSON.parse(line) as { ok: boolean; pid?: number; message?: string };
          } catch {
            return { ok: false, message: `bad shim handshake: ${line}` };
          }
        },
        (e: Error) => ({ ok: false, message: e.message }),
      );
      this.helloResult(hello, containerId, failStart);
    } catch (err) {
      if (!netErr) throw err;
      this.exitCache.delete(containerId);
      failStart(`pod network setup failed: ${netErr instanceof Error ? netErr.message : String(netErr)}`);
    }
    trace(s.config.metadata.name, 'rt-started');
    this.watchExit(containerId);
  }

  /**
   * Calls `listener(containerId)` soon after a container started by this runtime exits (its shim wrote exit.json;
   * inotify on the container's dir), so a caller need not wait for its next relist (upstream's evented PLEG). Best
   * effort: a relist stays the source of truth. Returns the unsubscribe function.
   */
  onContainerExit(listener: (containerId: string) => void): () => void {
    this.exitListeners.add(listener);
    for (const [id] of this.containers) if (this.state(id).state === 'CONTAINER_RUNNING') this.watchExit(id);
    return () => {
      this.exitListeners.delete(listener);
      if (!this.exitListeners.size) for (const id of [...this.exitWatches.keys()]) this.unwatchExit(id);
    };
  }

  private watchExit(id: string): void {
    if (!this.exitListeners.size || this.exitWatches.has(id) || this.closed) return;
    const notify = () => {
      this.unwatchExit(id);
      for (const l of [...this.exitListeners]) {
        try {
          l(id);
        } catch (err) {
          this.log.error({ container: id, err: String(err) }, 'container exit listener failed');
        }
      }
    };
    let w: FSWatcher;
    try {
      w = watch(this.containerDir(id), { persistent: false }, (_ev, name) => {
        if (String(name) === 'exit.json') notify();
      });
    } catch (err) {
      this.log.debug({ container: id, err: String(err) }, 'cannot watch the container for its exit; the relist notices it');
      return;
    }
    w.on('error', () => this.unwatchExit(id));
    this.exitWatches.set(id, w);
    if (this.exited(id)) notify(); // exited before the watch
  }

  private unwatchExit(id: string): void {
    this.exitWatches.get(id)?.close();
    this.exitWatches.delete(id);
  }

  /**
   * The native shim's spec: NUL-terminated `key value…` tokens (see native/shim/skiff-shim.c). The shim's child
   * itself joins the cgroup and the infra process's namespaces, makes its mount namespace with the bind mounts,
   * changes to workingDir and drops to runAsUser/Group — what wrap() builds an nsenter/unshare/sh/setpriv chain for.
   */
  private nativeSpec(rec: ContainerRecord, s: SandboxRecord, dir: string, gated = false): string {
    const t: (string | number)[] = ['dir', dir, 'cwd', rec.cwd, 'log', rec.logPath, 'logmax', this.logMaxBytes, 'logfiles', this.logMaxFiles];
    if (gated) t.push('gate', 1);
    if (traceFile) t.push('trace', traceFile, s.config.metadata.name);
    t.push('sock', this.sockPath(rec.id), 'stdin', rec.config.stdin ? 1 : 0);
    const sc = rec.config.linux?.securityContext;
    if (sc?.runAsUser !== undefined || sc?.runAsGroup !== undefined) {
      const uid = sc.runAsUser ?? 0;
      if (this.capabilities.root) t.push('uid', uid, 'gid', sc.runAsGroup ?? uid);
      else if (sc.runAsUser !== undefined && uid !== process.getuid?.()) t.push('uid', uid, 'gid', sc.runAsGroup ?? uid);
    }
    for (const a of rec.argv) t.push('argv', a);
    for (const [k, v] of Object.entries(rec.env)) t.push('env', `${k}=${v}`);
    for (const f of rec.cgroup?.oomFiles ?? []) t.push('oom', f);
    for (const f of rec.cgroup?.procsFiles ?? []) t.push('procs', f);
    if (s.pausePid) {
      if (s.network === 'POD') t.push('ns', `/proc/${s.pausePid}/ns/net`, 'ns', `/proc/${s.pausePid}/ns/uts`);
      if (s.ipc === 'POD') t.push('ns', `/proc/${s.pausePid}/ns/ipc`);
      if (s.pooled && s.network === 'POD') t.push('hostname', s.hostname);
    }
    if (rec.mountNs) {
      t.push('mountns', 1);
      for (const m of rec.config.mounts ?? []) t.push('mount', m.readonly ? 'r' : 'w', m.hostPath, m.containerPath);
      if (s.network === 'POD') {
        const own = new Set((rec.config.mounts ?? []).map((m) => m.containerPath));
        for (const f of ['resolv.conf', 'hosts', 'hostname']) {
          if (!own.has(`/etc/${f}`) && existsSync(`/etc/${f}`)) t.push('mount', 'o', join(this.sandboxDir(s.id), f), `/etc/${f}`);
        }
      }
    }
    for (const x of t) if (String(x).includes('\0')) throw new InvalidStateError(`a container's command, env and paths cannot hold NUL bytes`);
    return t.map((x) => `${x}\0`).join('');
  }

  /** The Node shim's command line, with its spec (JSON) written next to the container state. */
  private nodeShimArgv(rec: ContainerRecord, s: SandboxRecord, dir: string): string[] {
    const containerId = rec.id;
    const w = this.wrap(rec, s, rec.argv, { kind: 'start' });
    const spec: ShimSpec = {
      dir,
      argv: w.argv,
      env: rec.env,
      cwd: w.cwd,
      ...(w.uid !== undefined ? { uid: w.uid } : {}),
      ...(w.gid !== undefined ? { gid: w.gid } : {}),
      stdin: !!rec.config.stdin,
      logPath: rec.logPath,
      logMaxBytes: this.logMaxBytes,
      logMaxFiles: this.logMaxFiles,
      sockPath: this.sockPath(containerId),
      oomFiles: rec.cgroup?.oomFiles ?? [],
      cgroupProcs: rec.cgroup?.procsFiles ?? [],
    };
    const specPath = join(dir, 'shim.json');
    writeJsonAtomic(specPath, spec);
    return [this.nodeBinary, '--max-old-space-size=64', this.shimPath, specPath];
  }

  /** A failed handshake becomes a StartError (and exit.json, if the shim wrote none). */
  private helloResult(hello: { ok: boolean; message?: string }, containerId: string, failStart: (message: string) => never): void {
    if (!hello.ok) {
      if (!this.exited(containerId)) failStart(hello.message ?? 'start failed');
      throw new StartError(hello.message ?? 'start failed');
    }
  }

  /** Polls until the container is no longer RUNNING or `ms` passed; returns whether it exited. */
  private async waitExit(id: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.state(id).state !== 'CONTAINER_RUNNING') return true;
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
  }

  private async killAll(rec: ContainerRecord, pid: number): Promise<void> {
    killGroup(pid, 'SIGKILL');
    for (const f of rec.cgroup?.procsFiles ?? []) {
      try {
        for (const p of readFileSync(f, 'utf8').split('\n').filter(Boolean)) killGroup(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const rec = this.containers.get(containerId);
    if (!rec) return;
    const st = this.state(containerId);
    if (st.state !== 'CONTAINER_RUNNING' || !st.started) return;
    const pid = st.started.pid;
    if (timeoutSeconds > 0 && isAlive(pid, st.started.pidStart)) {
      killGroup(pid, 'SIGTERM');
      if (await this.waitExit(containerId, timeoutSeconds * 1000)) return;
    }
    await this.killAll(rec, pid);
    if (await this.waitExit(containerId, 10000)) return;
    throw new Error(`container ${containerId} did not exit after SIGKILL`);
  }

  async removeContainer(containerId: string): Promise<void> {
    const rec = this.containers.get(containerId);
    if (!rec) return;
    this.releaseWarm(this.warmFor.get(containerId));
    this.warmFor.delete(containerId);
    this.unwatchExit(containerId);
    if (this.state(containerId).state === 'CONTAINER_RUNNING') await this.stopContainer(containerId, 0);
    if (rec.cgroup && this.cgroups) await this.cgroups.remove(rec.cgroup.path);
    this.removeMountpoints(rec);
    if (!rec.mountNs && rec.config.mounts?.length) {
      rmSync(join(this.sandboxDir(rec.sandboxId), 'rootfs', rec.config.metadata.name), { recursive: true, force: true });
    }
    rmSync(this.sockPath(containerId), { force: true });
    rmSync(this.containerDir(containerId), { recursive: true, force: true });
    this.containers.delete(containerId);
    this.startedCache.delete(containerId);
    this.exitCache.delete(containerId);
  }

  private status(rec: ContainerRecord): ContainerStatus {
    const st = this.state(rec.id);
    const exit = st.exit;
    let reason = '';
    let exitCode = 0;
    if (exit) {
      exitCode = exit.exitCode;
      if (exit.oomKilled) {
        reason = 'OOMKilled';
        exitCode = exitCode === 0 ? 137 : exitCode;
      } else reason = exit.reason ?? (exit.exitCode === 0 ? 'Completed' : 'Error');
    }
    return {
      id: rec.id,
      podSandboxId: rec.sandboxId,
      metadata: rec.config.metadata,
      state: st.state,
      createdAt: rec.createdAt,
      startedAt: st.started ? Number(st.started.startedAt) : 0,
      finishedAt: exit ? Number(exit.finishedAt) : 0,
      exitCode,
      reason,
      message: exit?.message ?? '',
      image: rec.imageRef,
      labels: rec.config.labels ?? {},
      annotations: rec.config.annotations ?? {},
      mounts: rec.config.mounts ?? [],
      logPath: rec.logPath,
      pid: st.state === 'CONTAINER_RUNNING' && st.started ? st.started.pid : 0,
    };
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return this.status(this.getContainer(containerId));
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
    return [...this.containers.values()]
      .filter(
        (c) =>
          (!filter.id || c.id === filter.id) &&
          (!filter.podSandboxId || c.sandboxId === filter.podSandboxId) &&
          matchLabels(c.config.labels, filter.labelSelector),
      )
      .map((c) => this.status(c))
      .filter((st) => !filter.state || st.state === filter.state)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    this.getContainer(containerId);
    const st = this.state(containerId);
    if (st.state !== 'CONTAINER_RUNNING' || !st.started || !isAlive(st.started.shimPid, st.started.shimStart)) {
      throw new InvalidStateError(`container ${containerId} is not running`);
    }
    process.kill(st.started.shimPid, 'SIGUSR2');
  }

  // ---------------------------------------------------------------- streaming

  private runningPid(containerId: string): { rec: ContainerRecord; s: SandboxRecord; pid: number } {
    const rec = this.getContainer(containerId);
    const st = this.state(containerId);
    if (st.state !== 'CONTAINER_RUNNING' || !st.started || !isAlive(st.started.pid, st.started.pidStart)) {
      throw new InvalidStateError(`container ${containerId} is not running`);
    }
    return { rec, s: this.getSandbox(rec.sandboxId), pid: st.started.pid };
  }

  private spawnExec(containerId: string, cmd: string[], opts: StreamOptions, captureAll: boolean): ChildProcess {
    if (!cmd.length) throw new InvalidStateError('exec needs a command');
    const { rec, s, pid } = this.runningPid(containerId);
    let payload = cmd;
    if (opts.tty) {
      if (!this.tools.script) throw new InvalidStateError('tty exec needs util-linux script on the node');
      // script(1) gives the command a pseudo-terminal (stdin/stdout/stderr all on it), like runc's console socket.
      payload = [this.tools.script, '-q', '-f', '-e', '-c', cmd.map(shQuote).join(' '), '/dev/null'];
    }
    const w = this.wrap(rec, s, payload, { kind: 'exec', targetPid: pid });
    const child = spawn(w.argv[0]!, w.argv.slice(1), {
      cwd: w.cwd,
      env: opts.tty ? { TERM: 'xterm', ...rec.env, SHELL: '/bin/sh' } : rec.env,
      detached: true,
      uid: w.uid,
      gid: w.gid,
      stdio: [
        opts.stdin ? 'pipe' : 'ignore',
        captureAll || opts.stdout || opts.tty ? 'pipe' : 'ignore',
        captureAll || (opts.stderr && !opts.tty) ? 'pipe' : 'ignore',
      ],
    });
    this.live.add(child);
    child.on('exit', () => this.live.delete(child));
    child.stdin?.on('error', () => {});
    return child;
  }

  async exec(containerId: string, cmd: string[], opts: StreamOptions): Promise<StreamSession> {
    const child = this.spawnExec(containerId, cmd, opts, false);
    const exit = new Promise<number>((resolve) => {
      child.on('error', () => resolve(126));
      child.on('close', (code, signal) => resolve(exitCodeOf(code, signal)));
    });
    const stty = this.tools.stty;
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exit,
      resize: (width, height) => {
        if (!opts.tty || !stty || !child.pid) return;
        // The pty is the stdin of script(1)'s child; find it under the process chain we spawned.
        const queue = [child.pid];
        for (let i = 0; i < queue.length && i < 16; i++) {
          const tty = ttyOf(queue[i]!);
          if (tty) {
            const r = spawn(stty, ['-F', tty, 'cols', String(width), 'rows', String(height)], { stdio: 'ignore' });
            r.on('error', () => {});
            return;
          }
          queue.push(...childrenOf(queue[i]!));
        }
      },
      close: () => {
        if (child.pid && child.exitCode === null && child.signalCode === null) killGroup(child.pid, 'SIGKILL');
      },
    };
  }

  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult> {
    const child = this.spawnExec(containerId, cmd, {}, true);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    return new Promise<ExecSyncResult>((resolve, reject) => {
      let timedOut = false;
      const timer =
        timeoutSeconds > 0
          ? setTimeout(() => {
              timedOut = true;
              if (child.pid) killGroup(child.pid, 'SIGKILL');
            }, timeoutSeconds * 1000)
          : undefined;
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) reject(new ExecTimeoutError(`command ${JSON.stringify(cmd)} timed out after ${timeoutSeconds}s`));
        else resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode: exitCodeOf(code, signal) });
      });
    });
  }

  async attach(containerId: string, opts: StreamOptions): Promise<StreamSession> {
    const { rec } = this.runningPid(containerId);
    const sock = net.connect(this.sockPath(containerId));
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.on('error', () => {});
    const stdout = opts.stdout !== false ? new PassThrough() : null;
    const stderr = opts.stderr !== false && !opts.tty ? new PassThrough() : null;
    const frame = (type: number, payload: Buffer) => {
      const h = Buffer.alloc(5);
      h[0] = type;
      h.writeUInt32BE(payload.length, 1);
      return Buffer.concat([h, payload]);
    };
    const stdin =
      opts.stdin && rec.config.stdin
        ? new Writable({
            write(chunk: Buffer, _enc, cb) {
              sock.write(frame(FRAME.STDIN, chunk), () => cb());
            },
            final(cb) {
              if (rec.config.stdinOnce) sock.write(frame(FRAME.STDIN_CLOSE, Buffer.alloc(0)));
              cb();
            },
          })
        : null;
    const exit = new Promise<number>((resolve) => {
      let buf = Buffer.alloc(0);
      let code: number | undefined;
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 5) {
          const len = buf.readUInt32BE(1);
          if (buf.length < 5 + len) break;
          const type = buf[0];
          const payload = buf.subarray(5, 5 + len);
          buf = buf.subarray(5 + len);
          if (type === FRAME.STDOUT) stdout?.write(payload);
          else if (type === FRAME.STDERR) (stderr ?? (opts.tty ? stdout : null))?.write(payload);
          else if (type === FRAME.EXIT) code = Number(payload.toString());
        }
      });
      sock.on('close', () => {
        stdout?.end();
        stderr?.end();
        resolve(code ?? this.exited(containerId)?.exitCode ?? -1);
      });
    });
    return { stdin, stdout, stderr, exit, resize: () => {}, close: () => sock.destroy() };
  }

  async portForward(sandboxId: string, port: number): Promise<net.Socket> {
    const s = this.getSandbox(sandboxId);
    if (!this.sandboxReady(s)) throw new InvalidStateError(`sandbox ${sandboxId} is not ready`);
    if (s.network === 'NODE' || !s.pausePid) {
      const sock = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      return sock;
    }
    // Node cannot setns(2) itself: a helper process inside the pod's network namespace connects and relays over
    // a socketpair (its fd 3), which we hand out as the net.Socket.
    const child = spawn(
      this.tools.nsenter!,
      [`--target=${s.pausePid}`, '--net', '--', this.nodeBinary, '-e', PORT_FORWARD_HELPER, String(port)],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
    );
    const sock = child.stdio[3] as net.Socket;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d) => {
        err += d;
        if (err.startsWith('ok\n')) resolve();
      });
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`port-forward to ${port} in sandbox ${sandboxId} failed (${code}): ${err.trim()}`)));
    });
    child.removeAllListeners('exit');
    child.stderr!.destroy();
    sock.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    return sock;
  }

  /**
   * Stops and removes every sandbox and container this runtime knows, then the cgroup root directory. For tests and
   * node teardown; the kubelet itself removes pods one by one.
   */
  async purge(): Promise<void> {
    this.purging = true;
    try {
      await this.releasePool();
      for (const s of [...this.sandboxes.keys()]) await this.removePodSandbox(s);
      for (const c of [...this.containers.keys()]) await this.removeContainer(c);
      if (this.cgroups && this.cgroupRoot) await this.cgroups.remove(this.cgroupRoot);
    } finally {
      this.purging = false;
    }
  }

  // ---------------------------------------------------------------- stats (metrics.k8s.io, see stats.ts)

  /** CRI `ContainerStats`: from the container's cgroup, else from /proc over its process tree; empty unless running. */
  async containerStats(containerId: string): Promise<ContainerStats> {
    return this.statsOf(this.getContainer(containerId));
  }

  /** CRI `ListContainerStats`: the running containers that match `filter`. */
  async listContainerStats(filter: ContainerStatsFilter = {}): Promise<ContainerStats[]> {
    const out: ContainerStats[] = [];
    for (const rec of this.containers.values()) {
      if ((filter.id && rec.id !== filter.id) || (filter.podSandboxId && rec.sandboxId !== filter.podSandboxId)) continue;
      if (!matchLabels(rec.config.labels, filter.labelSelector) || this.state(rec.id).state !== 'CONTAINER_RUNNING') continue;
      out.push(await this.statsOf(rec));
    }
    return out;
  }

  private async statsOf(rec: ContainerRecord): Promise<ContainerStats> {
    const attributes = { id: rec.id, metadata: rec.config.metadata, labels: rec.config.labels ?? {}, annotations: rec.config.annotations ?? {} };
    const st = this.state(rec.id);
    if (st.state !== 'CONTAINER_RUNNING' || !st.started) return { attributes };
    const u = rec.cgroup && this.cgroups
      ? await this.cgroups.usage(rec.cgroup.path)
      : await readProcessTreeUsage(st.started.pid);
    const timestamp = nowNs();
    if (!u) return { attributes };
    return {
      attributes,
      ...(u.cpuUsageNanos !== undefined ? { cpu: { timestamp, usageCoreNanoSeconds: u.cpuUsageNanos } } : {}),
      ...(u.workingSetBytes !== undefined ? { memory: { timestamp, workingSetBytes: u.workingSetBytes, usageBytes: u.memoryUsageBytes, rssBytes: u.rssBytes } } : {}),
    };
  }

  /**
   * Runs a short-lived helper (e.g. a CNI plugin) to completion: through the native launcher when it is in use (no
   * fork of the agent), else with child_process.spawn. `input` is written to its stdin.
   */
  async execHelper(argv: string[], env: Record<string, string | undefined>, input = '', timeoutMs = 60_000): Promise<ExecResult> {
    if (this.launcher && !input.includes('\0')) {
      try {
        return await this.launcher.exec(argv, env, input, timeoutMs);
      } catch {
        /* the launcher went away: spawn below */
      }
    }
    return new Promise<ExecResult>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
  }

  /**
   * Starts a shim or infra process: through the native launcher, else (launcher off, or broken three times) by
   * spawning it from this process — the same {@link Launched} contract either way, so callers have one path.
   */
  private async launch(spec: LaunchSpec): Promise<Launched> {
    if (this.launcher) {
      try {
        return await this.launcher.launch(spec);
      } catch (err) {
        this.launcherFailures++;
        if (this.launcherFailures >= 3) {
          process.emitWarning(`skiff process runtime: the native launcher failed ${this.launcherFailures} times (${String(err)}); spawning directly from now on`);
          this.launcher.close();
          this.launcher = undefined;
        }
      }
    }
    return spawnDirect(spec);
  }

  async close(): Promise<void> {
    this.closed = true;
    // releasePool first runs the queued background work: the cleanup of pods already deleted is done now instead of
    // being lost with the process, and refill steps see the runtime closed and end.
    await this.releasePool();
    for (const w of [...this.warmShims.values(), ...this.warmFor.values()]) this.releaseWarm(w);
    this.warmShims.clear();
    this.warmFor.clear();
    this.warmSlots.clear();
    for (const id of [...this.exitWatches.keys()]) this.unwatchExit(id);
    this.exitListeners.clear();
    this.launcher?.close();
    for (const c of this.live) if (c.pid && c.exitCode === null) killGroup(c.pid, 'SIGKILL');
    this.live.clear();
  }
}

function hostIPv4(): string {
  // The first non-internal IPv4 address: what a hostNetwork pod reports as its IP (kubelet uses the node IP).
  try {
    const ifs = Object.values(networkInterfaces()).flat();
    return ifs.find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
  } catch {
    return '127.0.0.1';
  }
}
