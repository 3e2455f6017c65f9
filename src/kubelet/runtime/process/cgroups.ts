/**
 * Cgroup management for the process runtime, covering both layouts a Linux node can have:
 *  - cgroup v2 (unified): one tree; controllers enabled top-down through `cgroup.subtree_control`; limits in
 *    `cpu.max` / `cpu.weight`, `memory.max` (+ `memory.swap.max` 0, `memory.oom.group` 1 as kubelet sets on v2),
 *    `pids.max`, `cpuset.cpus`; OOM kills counted in `memory.events` (`oom_kill`).
 *  - cgroup v1 (legacy or hybrid, e.g. a host whose cgroup2 mount carries no controllers): one tree per controller;
 *    `cpu.shares` / `cpu.cfs_quota_us` / `cpu.cfs_period_us`, `memory.limit_in_bytes` (+ `memory.memsw.limit_in_bytes`
 *    equal to it: no swap), `pids.max`, `cpuset.cpus` / `cpuset.mems` (copied down from the parent first, as runc does,
 *    since an empty v1 cpuset refuses tasks); OOM kills counted in `memory.oom_control` (`oom_kill`).
 * The mapping of CRI resources to files follows runc's libcontainer/cgroups (fs and fs2 managers), including the
 * shares→weight conversion.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LinuxContainerResources } from '../types.js';
import { cgroupDirs, readCgroupUsage, type UsageSample } from './stats.js';

/** The files of one created cgroup that the shim and the runtime need. */
export interface CgroupHandle {
  /** Relative path (the same in every hierarchy). */
  path: string;
  /** `cgroup.procs` files a process writes its pid to in order to join (one per v1 hierarchy, one on v2). */
  procsFiles: string[];
  /** Files with an `oom_kill <n>` line. */
  oomFiles: string[];
}


/** A detected cgroup layout that the runtime can create limited cgroups in. */
export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Controllers this driver can limit with (subset of cpu, memory, pids, cpuset). */
  readonly controllers: ReadonlySet<string>;
  /** Creates (or reuses) `relPath` and applies `res`; intermediate directories are created as needed. */
  create(relPath: string, res?: LinuxContainerResources): Promise<CgroupHandle>;
  /**
   * Applies `res` to an existing cgroup (made by create()) synchronously: a few small file writes and no directory
   * creation (which waits on the kernel's cgroup lock), for the start path of a pre-made cgroup.
   */
  configureSync(relPath: string, res?: LinuxContainerResources): CgroupHandle;
  /** The handle of an existing (or not yet created) cgroup without touching it. */
  handle(relPath: string): CgroupHandle;
  /** SIGKILLs every process in `relPath` (and below) and removes the directories; absent paths are fine. */
  remove(relPath: string): Promise<void>;
  /** CPU and memory usage of `relPath` (CRI container stats, metrics.k8s.io); see stats.ts. */
  usage(relPath: string): Promise<UsageSample>;
}

const WANTED = ['cpu', 'memory', 'pids', 'cpuset'];

function mounts(): { type: string; dir: string; opts: string[] }[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .map(([, dir, type, opts]) => ({ type: type!, dir: dir!.replace(/\\040/g, ' '), opts: (opts ?? '').split(',') }));
  } catch {
    return [];
  }
}

/**
 * Finds a usable cgroup layout. Prefers v2 when its root carries the memory controller; otherwise uses the v1
 * hierarchies. Returns a reason instead when there is none or we cannot write to it (not root, read-only mount).
 */
export function detectCgroups(): { driver: CgroupDriver } | { reason: string } {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { reason: 'not running as root' };
  const ms = mounts();
  const v2 = ms.find((m) => m.type === 'cgroup2');
  if (v2 && !v2.opts.includes('ro')) {
    try {
      const ctl = readFileSync(join(v2.dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
      if (ctl.includes('memory')) return { driver: new CgroupV2(v2.dir, new Set(WANTED.filter((c) => ctl.includes(c)))) };
    } catch {
      /* fall through to v1 */
    }
  }
  const v1 = new Map<string, string>();
  for (const m of ms) {
    if (m.type !== 'cgroup' || m.opts.includes('ro')) continue;
    for (const c of [...WANTED, 'cpuacct']) if (m.opts.includes(c) && !v1.has(c)) v1.set(c, m.dir);
  }
  if (v1.has('memory')) return { driver: new CgroupV1(v1) };
  return { reason: 'no writable cgroup hierarchy with the memory controller' };
}

async function write(file: string, value: string | number): Promise<void> {
  await writeFile(file, String(value));
}

/** The limit files of one cgroup, in the order they are written. */
type Writes = [file: string, value: string | number][];

function writeAllSync(writes: Writes): void {
  for (const [f, v] of writes) writeFileSync(f, String(v));
}

async function killAndRemove(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return; // gone
  }
  for (const e of entries) await killAndRemove(join(dir, e));
  for (let i = 0; i < 100; i++) {
    try {
      const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    } catch {
      return;
    }
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`cannot remove cgroup ${dir}: still busy`);
}

/** runc's conversion of CRI cpu shares [2, 262144] to a cgroup v2 cpu.weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  const s = Math.min(Math.max(shares, 2), 262144);
  return Math.floor(1 + ((s - 2) * 9999) / 262142);
}

class CgroupV2 implements CgroupDriver {
  readonly version = 2 as const;
  /** Directories whose subtree_control this driver set (they exist); forgotten when removed. */
  private readonly delegated = new Set<string>();
  constructor(
    private readonly root: string,
    readonly controllers: ReadonlySet<string>,
  ) {}

  handle(relPath: string): CgroupHandle {
    const dir = join(this.root, relPath);
    return { path: relPath, procsFiles: [join(dir, 'cgroup.procs')], oomFiles: [join(dir, 'memory.events')] };
  }

  async create(relPath: string, res: LinuxContainerResources = {}): Promise<CgroupHandle> {
    const parts = relPath.split('/').filter(Boolean);
    let dir = this.root;
    for (const part of parts) {
      // Enable the controllers for the children of `dir` (no-op when already on; the root may refuse some). Done
      // once per directory this driver created or enabled (pod start path: a pod's container needs no re-check).
      if (!this.delegated.has(dir)) {
        try {
          const avail = (await readFile(join(dir, 'cgroup.controllers'), 'utf8')).trim().split(/\s+/);
          const want = [...this.controllers].filter((c) => avail.includes(c)).map((c) => `+${c}`);
          if (want.length) await write(join(dir, 'cgroup.subtree_control'), want.join(' '));
          this.delegated.add(dir);
        } catch {
          /* best effort: limits below will fail loudly if a controller is missing */
        }
      }
      dir = join(dir, part);
      if (!this.delegated.has(dir)) await mkdir(dir, { recursive: true });
    }
    writeAllSync(this.limits(relPath, res)); // small writes: no more event-loop hops (see CgroupV1.createNow)
    return this.handle(relPath);
  }

  configureSync(relPath: string, res: LinuxContainerResources = {}): CgroupHandle {
    writeAllSync(this.limits(relPath, res));
    return this.handle(relPath);
  }

  private limits(relPath: string, res: LinuxContainerResources): Writes {
    const dir = join(this.root, relPath);
    const w: Writes = [];
    if (res.cpuShares) w.push([join(dir, 'cpu.weight'), sharesToWeight(res.cpuShares)]);
    if (res.cpuQuota && res.cpuQuota > 0) w.push([join(dir, 'cpu.max'), `${res.cpuQuota} ${res.cpuPeriod || 100000}`]);
    else if (res.cpuPeriod) w.push([join(dir, 'cpu.max'), `max ${res.cpuPeriod}`]);
    if (res.memoryLimitInBytes && res.memoryLimitInBytes > 0) {
      w.push([join(dir, 'memory.max'), res.memoryLimitInBytes]);
      if (existsSync(join(dir, 'memory.swap.max'))) w.push([join(dir, 'memory.swap.max'), 0]);
      if (existsSync(join(dir, 'memory.oom.group'))) w.push([join(dir, 'memory.oom.group'), 1]);
    }
    if (res.pidsLimit && res.pidsLimit > 0) w.push([join(dir, 'pids.max'), res.pidsLimit]);
    if (res.cpusetCpus) w.push([join(dir, 'cpuset.cpus'), res.cpusetCpus]);
    if (res.cpusetMems) w.push([join(dir, 'cpuset.mems'), res.cpusetMems]);
    return w;
  }

  remove(relPath: string): Promise<void> {
    const dir = join(this.root, relPath);
    for (const d of this.delegated) if (d === dir || d.startsWith(`${dir}/`)) this.delegated.delete(d);
    return killAndRemove(dir);
  }

  usage(relPath: string): Promise<UsageSample> {
    return readCgroupUsage(2, cgroupDirs(this.handle(relPath).procsFiles));
  }
}

class CgroupV1 implements CgroupDriver {
  readonly version = 1 as const;
  readonly controllers: ReadonlySet<string>;
  /** Distinct hierarchy mount points (cpu and cpuacct may share one). */
  private readonly roots: string[];
  constructor(private readonly mountOf: Map<string, string>) {
    this.controllers = new Set(WANTED.filter((c) => mountOf.has(c)));
    this.roots = [...new Set(mountOf.values())];
  }

  private dir(controller: string, relPath: string): string | undefined {
    const m = this.mountOf.get(controller);
    return m ? join(m, relPath) : undefined;
  }

  handle(relPath: string): CgroupHandle {
    return {
      path: relPath,
      procsFiles: this.roots.map((r) => join(r, relPath, 'cgroup.procs')),
      oomFiles: [join(this.mountOf.get('memory')!, relPath, 'memory.oom_control')],
    };
  }

  /**
   * Creation of directories that may be shared (parents not known complete) is serialized: two pods creating a
   * shared parent must not see it before its cpuset is set. Once a path is complete in every hierarchy it is
   * remembered, so the common case — a pod's or container's own leaf under complete parents — runs concurrently.
   */
  private creating: Promise<unknown> = Promise.resolve();
  private readonly complete = new Set<string>();

  create(relPath: string, res: LinuxContainerResources = {}): Promise<CgroupHandle> {
    const parts = relPath.split('/').filter(Boolean);
    if (parts.length <= 1 || this.complete.has(parts.slice(0, -1).join('/'))) return this.createNow(parts, res);
    const run = this.creating.then(() => this.createNow(parts, res));
    this.creating = run.catch(() => {});
    return run;
  }

  /**
   * One event-loop hop: the directories are made on the threadpool (mkdir waits on the kernel's cgroup lock, so it
   * stays off the agent's thread), then the cpuset copies and the limits are small synchronous writes. In a burst
   * every async hop waits for a threadpool slot and a turn of the busy event loop (~0.1 s each): a chain of hops
   * per cgroup (mkdir, read the parent's cpuset, write it, each limit) held pod starts ~0.7 s per cgroup.
   */
  private async createNow(parts: string[], res: LinuxContainerResources): Promise<CgroupHandle> {
    const relPath = parts.join('/');
    const cpusetRoot = this.mountOf.get('cpuset');
    const cpusetDirs: [rel: string, fresh: boolean][] = [];
    await Promise.all(this.roots.map(async (root) => {
      for (let i = 0; i < parts.length; i++) {
        const rel = parts.slice(0, i + 1).join('/');
        if (i < parts.length - 1 && this.complete.has(rel)) continue;
        const fresh = await mkdir(join(root, rel)).then(() => true, (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
          return false;
        });
        if (root === cpusetRoot) cpusetDirs.push([rel, fresh]);
      }
    }));
    // A fresh v1 cpuset has no cpus/mems and rejects tasks (EIO/ENOSPC): inherit the parent's (outermost first), also
    // when the directory already existed but was left empty (an agent killed between mkdir and these writes).
    for (const [rel, fresh] of cpusetDirs) {
      const dir = join(cpusetRoot!, rel);
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (fresh || readFileSync(join(dir, f), 'utf8').trim() === '') writeFileSync(join(dir, f), readFileSync(join(dir, '..', f), 'utf8').trim());
      }
    }
    for (let i = 1; i <= parts.length; i++) this.complete.add(parts.slice(0, i).join('/'));
    writeAllSync(this.limits(relPath, res));
    return this.handle(relPath);
  }

  configureSync(relPath: string, res: LinuxContainerResources = {}): CgroupHandle {
    writeAllSync(this.limits(relPath, res));
    return this.handle(relPath);
  }

  private limits(relPath: string, res: LinuxContainerResources): Writes {
    const w: Writes = [];
    const cpu = this.dir('cpu', relPath);
    if (cpu) {
      if (res.cpuShares) w.push([join(cpu, 'cpu.shares'), res.cpuShares]);
      if (res.cpuPeriod) w.push([join(cpu, 'cpu.cfs_period_us'), res.cpuPeriod]);
      if (res.cpuQuota && res.cpuQuota > 0) w.push([join(cpu, 'cpu.cfs_quota_us'), res.cpuQuota]);
    }
    const mem = this.dir('memory', relPath)!;
    if (res.memoryLimitInBytes && res.memoryLimitInBytes > 0) {
      w.push([join(mem, 'memory.limit_in_bytes'), res.memoryLimitInBytes]);
      if (existsSync(join(mem, 'memory.memsw.limit_in_bytes'))) w.push([join(mem, 'memory.memsw.limit_in_bytes'), res.memoryLimitInBytes]);
    }
    const pids = this.dir('pids', relPath);
    if (pids && res.pidsLimit && res.pidsLimit > 0) w.push([join(pids, 'pids.max'), res.pidsLimit]);
    const cpuset = this.dir('cpuset', relPath);
    if (cpuset && res.cpusetCpus) w.push([join(cpuset, 'cpuset.cpus'), res.cpusetCpus]);
    if (cpuset && res.cpusetMems) w.push([join(cpuset, 'cpuset.mems'), res.cpusetMems]);
    return w;
  }

  async remove(relPath: string): Promise<void> {
    const rel = relPath.split('/').filter(Boolean).join('/');
    for (const p of this.complete) if (p === rel || p.startsWith(`${rel}/`)) this.complete.delete(p);
    // The memory hierarchy first: killing there takes the processes out of every hierarchy.
    const order = [this.mountOf.get('memory')!, ...this.roots.filter((r) => r !== this.mountOf.get('memory'))];
    for (const root of order) await killAndRemove(join(root, relPath));
  }

  usage(relPath: string): Promise<UsageSample> {
    return readCgroupUsage(1, cgroupDirs(this.handle(relPath).procsFiles));
  }
}
