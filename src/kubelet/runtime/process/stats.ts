/**
 * Resource usage for the kubelet's `/metrics/resource` and `/stats/summary`, read the way cAdvisor and the CRI
 * runtimes (containerd's cgroup stats) read it:
 *  - cgroup v2: `cpu.stat` `usage_usec`; memory usage `memory.current`, working set = usage − `inactive_file` of
 *    `memory.stat` (never below 0), rss = `anon`.
 *  - cgroup v1: `cpuacct.usage` (ns); `memory.usage_in_bytes` − `total_inactive_file`, rss = `total_rss`.
 *  - no cgroup (not root, isolation 'none'): `/proc/<pid>/stat` utime+stime+cutime+cstime and `/proc/<pid>/statm`
 *    resident pages summed over the container's process tree.
 *  - the node: `/proc/stat` (all cpu time but idle and iowait) and `/proc/meminfo` (MemTotal − MemFree −
 *    Inactive(file), as runc computes the root cgroup's working set from meminfo).
 * Parsers are pure (fixtures in stats.test.ts); readers take the /proc root so tests can point them at a fake tree.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** USER_HZ: the unit of /proc/<pid>/stat and /proc/stat times; 100 on every Linux ABI. */
export const CLOCK_TICKS_PER_SECOND = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SECOND;

/** One reading of a container's or the node's usage. */
export interface UsageSample {
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageNanos?: number;
  /** Memory usage including page cache. */
  memoryUsageBytes?: number;
  /** Usage minus inactive file pages (what kubectl top shows). */
  workingSetBytes?: number;
  rssBytes?: number;
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** Parses a flat-keyed cgroup file (`cpu.stat`, `memory.stat`): `key value` per line. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    const n = num(v);
    if (k && n !== undefined) out.set(k, n);
  }
  return out;
}

const workingSet = (usage: number | undefined, inactive: number | undefined): number | undefined =>
  usage === undefined ? undefined : Math.max(0, usage - (inactive ?? 0));

/** Usage from cgroup v2 files (each may be absent when its controller is off). */
export function parseCgroupV2(files: { cpuStat?: string; memoryCurrent?: string; memoryStat?: string }): UsageSample {
  const out: UsageSample = {};
  const usec = files.cpuStat !== undefined ? parseFlatKeyed(files.cpuStat).get('usage_usec') : undefined;
  if (usec !== undefined) out.cpuUsageNanos = usec * 1000;
  const usage = num(files.memoryCurrent);
  if (usage !== undefined) {
    const stat = files.memoryStat !== undefined ? parseFlatKeyed(files.memoryStat) : new Map<string, number>();
    out.memoryUsageBytes = usage;
    out.workingSetBytes = workingSet(usage, stat.get('inactive_file'));
    if (stat.has('anon')) out.rssBytes = stat.get('anon');
  }
  return out;
}

/** Usage from cgroup v1 files (cpuacct and memory hierarchies). */
export function parseCgroupV1(files: { cpuacctUsage?: string; memoryUsage?: string; memoryStat?: string }): UsageSample {
  const out: UsageSample = {};
  const cpu = num(files.cpuacctUsage);
  if (cpu !== undefined) out.cpuUsageNanos = cpu;
  const usage = num(files.memoryUsage);
  if (usage !== undefined) {
    const stat = files.memoryStat !== undefined ? parseFlatKeyed(files.memoryStat) : new Map<string, number>();
    out.memoryUsageBytes = usage;
    out.workingSetBytes = workingSet(usage, stat.get('total_inactive_file'));
    if (stat.has('total_rss')) out.rssBytes = stat.get('total_rss');
  }
  return out;
}

async function readOpt(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Reads a cgroup's usage. `dirs` are the cgroup's directories (one on v2; one per mounted v1 hierarchy — the
 * directories of a CgroupHandle's `procsFiles`); the v1 memory and cpuacct directories are found by their files.
 */
export async function readCgroupUsage(version: 1 | 2, dirs: string[]): Promise<UsageSample> {
  if (version === 2) {
    const dir = dirs[0];
    if (!dir) return {};
    const [cpuStat, memoryCurrent, memoryStat] = await Promise.all(['cpu.stat', 'memory.current', 'memory.stat'].map((f) => readOpt(join(dir, f))));
    return parseCgroupV2({ cpuStat, memoryCurrent, memoryStat });
  }
  const files: { cpuacctUsage?: string; memoryUsage?: string; memoryStat?: string } = {};
  for (const dir of dirs) {
    files.cpuacctUsage ??= await readOpt(join(dir, 'cpuacct.usage'));
    if (files.memoryUsage === undefined) {
      files.memoryUsage = await readOpt(join(dir, 'memory.usage_in_bytes'));
      if (files.memoryUsage !== undefined) files.memoryStat = await readOpt(join(dir, 'memory.stat'));
    }
  }
  return parseCgroupV1(files);
}

/** The directories of a cgroup from the `cgroup.procs` files a CgroupHandle lists. */
export function cgroupDirs(procsFiles: string[]): string[] {
  return procsFiles.map((f) => dirname(f));
}

/** Fields of /proc/<pid>/stat that usage needs (times in clock ticks). */
export interface ProcStat {
  pid: number;
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; the command name may contain spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf('(')).trim());
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const f = (n: number) => Number(rest[n - 3]);
  const st = { pid, ppid: f(4), utime: f(14), stime: f(15), cutime: f(16), cstime: f(17), rssPages: f(24) };
  return Object.values(st).every(Number.isFinite) ? st : undefined;
}

/** Resident pages from /proc/<pid>/statm (`size resident shared text lib data dt`). */
export function parseStatm(text: string): number | undefined {
  return num(text.trim().split(/\s+/)[1]);
}

let pageSizeCache: number | undefined;

/**
 * The kernel page size (4 KiB on x86-64, 4/16/64 KiB on arm64): statm counts pages, so compare our own resident
 * pages with VmRSS (kB) of /proc/self/status and round to the nearest power of two.
 */
export function pageSize(procRoot = '/proc'): number {
  if (pageSizeCache !== undefined && procRoot === '/proc') return pageSizeCache;
  let size = 4096;
  try {
    const pages = parseStatm(readFileSync(join(procRoot, 'self', 'statm'), 'utf8'));
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(join(procRoot, 'self', 'status'), 'utf8'));
    if (pages && m) size = 2 ** Math.round(Math.log2((Number(m[1]) * 1024) / pages));
    if (!(size >= 4096 && size <= 65536)) size = 4096;
  } catch {
    /* keep 4096 */
  }
  if (procRoot === '/proc') pageSizeCache = size;
  return size;
}

function childPids(procRoot: string, pid: number): number[] {
  try {
    return readFileSync(join(procRoot, String(pid), 'task', String(pid), 'children'), 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Usage of the process tree rooted at `pid` from /proc: CPU is utime+stime plus the reaped children's
 * cutime+cstime (so work of exited children stays counted), memory the summed resident set (shared pages are
 * counted once per process — an overestimate, as `ps` has). Undefined when `pid` is gone.
 */
export async function readProcessTreeUsage(pid: number, procRoot = '/proc'): Promise<UsageSample | undefined> {
  const seen = new Set<number>();
  const queue = [pid];
  let ticks = 0;
  let pages = 0;
  let any = false;
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p) || seen.size > 4096) continue;
    seen.add(p);
    const text = await readOpt(join(procRoot, String(p), 'stat'));
    const st = text !== undefined ? parseProcStat(text) : undefined;
    if (!st) continue;
    any = true;
    ticks += st.utime + st.stime + st.cutime + st.cstime;
    const statm = await readOpt(join(procRoot, String(p), 'statm'));
    pages += (statm !== undefined ? parseStatm(statm) : undefined) ?? st.rssPages;
    queue.push(...childPids(procRoot, p));
  }
  if (!any) return undefined;
  const rss = pages * pageSize(procRoot);
  return { cpuUsageNanos: ticks * NS_PER_TICK, memoryUsageBytes: rss, workingSetBytes: rss, rssBytes: rss };
}

/** Cumulative busy CPU time of the node from /proc/stat's aggregate `cpu` line: all but idle and iowait. */
export function parseNodeCpu(procStat: string): number | undefined {
  const line = procStat.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice — guest time is already inside user/nice.
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) return undefined;
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy * NS_PER_TICK;
}

/** /proc/meminfo in bytes per key (`MemTotal`, `MemFree`, `Inactive(file)`, …). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.trim().endsWith('kB') ? 1024 : 1));
  }
  return out;
}

/** Node memory as the kubelet reports it for the root cgroup: usage = total − free, working set = usage − inactive file. */
export function nodeMemoryFromMeminfo(meminfo: Map<string, number>): { usageBytes: number; workingSetBytes: number; availableBytes?: number } | undefined {
  const total = meminfo.get('MemTotal');
  const free = meminfo.get('MemFree');
  if (total === undefined || free === undefined) return undefined;
  const usage = total - free;
  const ws = Math.max(0, usage - (meminfo.get('Inactive(file)') ?? 0));
  return { usageBytes: usage, workingSetBytes: ws, availableBytes: Math.max(0, total - ws) };
}

/** Node usage (cpu from /proc/stat, memory from /proc/meminfo). */
export async function readNodeUsage(procRoot = '/proc'): Promise<UsageSample & { availableBytes?: number }> {
  const out: UsageSample & { availableBytes?: number } = {};
  const stat = await readOpt(join(procRoot, 'stat'));
  if (stat !== undefined) out.cpuUsageNanos = parseNodeCpu(stat);
  const mi = await readOpt(join(procRoot, 'meminfo'));
  const mem = mi !== undefined ? nodeMemoryFromMeminfo(parseMeminfo(mi)) : undefined;
  if (mem) {
    out.memoryUsageBytes = mem.usageBytes;
    out.workingSetBytes = mem.workingSetBytes;
    out.availableBytes = mem.availableBytes;
  }
  return out;
}

/** Boot time (seconds since the epoch) from /proc/stat's `btime`: the node's start time in `/stats/summary`. */
export function bootTimeSeconds(procRoot = '/proc'): number | undefined {
  try {
    const m = /^btime\s+(\d+)/m.exec(readFileSync(join(procRoot, 'stat'), 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
