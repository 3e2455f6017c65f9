/**
 * /proc helpers for adopting processes across agent restarts. A pid alone is not an identity (pids are reused), so
 * like systemd and Nomad's executor reattach we pair it with the process start time (field 22 of /proc/PID/stat,
 * clock ticks since boot) and treat a pid whose start time differs as gone.
 */
import { closeSync, openSync, readFileSync, readSync, readlinkSync } from 'node:fs';

/** Start time (clock ticks since boot) of `pid` as a string, or '' when the process does not exist. */
export function pidStartTime(pid: number): string {
  const st = readStat(pid);
  return st ? st.startTime : '';
}

function readStat(pid: number): { state: string; startTime: string } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function parseStat(s: string): { state: string; startTime: string } {
  // Fields after "(comm)": state is field 3, starttime field 22.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0]!, startTime: rest[19]! };
}

/**
 * Open `/proc/PID/stat` files of processes found alive with a known start time, by `pid:startTime`. Such an fd stays
 * bound to that process: once it is reaped a read fails (ESRCH), and a reused pid is a different process, so a
 * recheck is one pread(2) instead of open/fstat/read/close with a path lookup (the agent rechecks every sandbox's
 * infra process on each status call). Bounded: past STAT_FDS_MAX they are all closed and reopened on demand.
 */
const statFds = new Map<string, number>();
const STAT_FDS_MAX = 1024;
const statBuf = Buffer.alloc(1024);

function readStatFd(fd: number): { state: string; startTime: string } | undefined {
  try {
    return parseStat(statBuf.toString('latin1', 0, readSync(fd, statBuf, 0, statBuf.length, 0)));
  } catch {
    return undefined;
  }
}

/** True when `pid` runs and (if given) started at `startTime`; zombies count as exited. */
export function isAlive(pid: number, startTime?: string): boolean {
  if (startTime && Number.isInteger(pid) && pid > 0) {
    const key = `${pid}:${startTime}`;
    const fd = statFds.get(key);
    if (fd !== undefined) {
      const st = readStatFd(fd);
      if (st && st.state !== 'Z' && st.state !== 'X') return true;
      statFds.delete(key);
      closeSync(fd);
      return false;
    }
    let opened: number;
    try {
      opened = openSync(`/proc/${pid}/stat`, 'r');
    } catch {
      return false;
    }
    const st = readStatFd(opened);
    const alive = !!st && st.state !== 'Z' && st.state !== 'X' && st.startTime === startTime;
    if (!alive) {
      closeSync(opened);
      return false;
    }
    if (statFds.size >= STAT_FDS_MAX) {
      for (const f of statFds.values()) closeSync(f);
      statFds.clear();
    }
    statFds.set(key, opened);
    return true;
  }
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return !startTime || st.startTime === startTime;
}

/** Direct children of `pid` (via /proc/PID/task/PID/children, Linux ≥ 3.5). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The terminal device (e.g. /dev/pts/3) a process has on fd 0, if any. */
export function ttyOf(pid: number): string | undefined {
  try {
    const t = readlinkSync(`/proc/${pid}/fd/0`);
    return t.startsWith('/dev/pts/') ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Inode identity of a namespace of `pid` (`net:[4026531992]`), for checks that two processes share it. */
export function namespaceOf(pid: number | 'self', ns: 'net' | 'ipc' | 'uts' | 'mnt' | 'pid'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${ns}`);
  } catch {
    return undefined;
  }
}

/** Single-quotes `s` for /bin/sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
