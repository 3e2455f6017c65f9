/**
 * `GET /containerLogs/{ns}/{pod}/{container}` (kubelet `pkg/kubelet/kuberuntime/logs`): reads a container's CRI log
 * file and writes what `kubectl logs` prints — each line's content, optionally prefixed by its RFC3339Nano
 * timestamp — honouring tailLines, sinceSeconds/sinceTime, limitBytes and follow. Follow keeps reading the file as it
 * grows (restarting at the top when the runtime rotated or truncated it) and ends once the container stopped and
 * everything it wrote was sent.
 */
import { open, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseCriLogLine, type CriLogRecord } from '../runtime/cri-log.js';

/** The options of `PodLogOptions` that reach the kubelet. */
export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** Only records at or after this time (ms since the epoch); from sinceSeconds or sinceTime. */
  sinceMs?: number;
  timestamps?: boolean;
  limitBytes?: number;
}

/** Parses and validates the query of a containerLogs request (upstream: `PodLogOptions` validation messages). */
export function logOptionsFromQuery(q: URLSearchParams, now = Date.now()): LogOptions {
  const bool = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  const int = (k: string, min: number): number | undefined => {
    const v = q.get(k);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`${k}: Invalid value: ${JSON.stringify(v)}: must be ${min === 0 ? 'greater than or equal to 0' : 'greater than 0'}`);
    return n;
  };
  const opts: LogOptions = { follow: bool('follow'), timestamps: bool('timestamps') };
  const tail = int('tailLines', 0);
  if (tail !== undefined) opts.tailLines = tail;
  const limit = int('limitBytes', 1);
  if (limit !== undefined) opts.limitBytes = limit;
  const sinceSeconds = int('sinceSeconds', 1);
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) throw new RangeError('at most one of `sinceTime` or `sinceSeconds` may be specified');
  if (sinceSeconds !== undefined) opts.sinceMs = now - sinceSeconds * 1000;
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) throw new RangeError(`sinceTime: Invalid value: ${JSON.stringify(sinceTime)}: must be RFC3339`);
    opts.sinceMs = t;
  }
  return opts;
}

/** Go's RFC3339Nano: the fraction without trailing zeros (and no dot when it is zero). */
export function rfc3339Nano(criTime: string): string {
  return criTime.replace(/\.(\d*?)0*Z$/, (_m, f: string) => (f ? `.${f}Z` : 'Z'));
}

/** Joins `P` records into whole lines per stream, fed line by line. */
class LineAssembler {
  private pending: Partial<Record<'stdout' | 'stderr', CriLogRecord>> = {};

  /** Returns the completed record, if this line completed one. */
  add(line: string): CriLogRecord | undefined {
    const r = parseCriLogLine(line);
    if (!r) return undefined;
    const prev = this.pending[r.stream];
    const merged = prev ? { ...prev, content: prev.content + r.content, partial: r.partial } : r;
    if (merged.partial) {
      this.pending[r.stream] = merged;
      return undefined;
    }
    delete this.pending[r.stream];
    return merged;
  }
}

/** Where the caller learns whether the container still runs (follow ends after it stopped). */
export type RunningCheck = () => Promise<boolean>;

/** Streams the log at `path` to `out` per `opts`; resolves when done (or when `signal` aborts). */
export async function streamLog(path: string, opts: LogOptions, out: Writable, isRunning: RunningCheck, signal: AbortSignal): Promise<void> {
  let remaining = opts.limitBytes ?? Infinity;
  const emit = (r: CriLogRecord): boolean => {
    if (opts.sinceMs !== undefined && r.timeMs < opts.sinceMs) return true;
    let text = (opts.timestamps ? `${rfc3339Nano(r.time)} ` : '') + r.content + (r.partial ? '' : '\n');
    let buf = Buffer.from(text);
    if (buf.length > remaining) buf = buf.subarray(0, remaining);
    remaining -= buf.length;
    if (buf.length) out.write(buf);
    text = '';
    return remaining > 0;
  };

  const asm = new LineAssembler();
  let offset = 0;
  let carry = '';
  let ino = 0;
  const readNew = async (): Promise<CriLogRecord[]> => {
    let st;
    try {
      st = await stat(path);
    } catch {
      return [];
    }
    if (ino && st.ino !== ino) { offset = 0; carry = ''; }
    if (st.size < offset) { offset = 0; carry = ''; }
    ino = st.ino;
    if (st.size === offset) return [];
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(st.size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      const text = carry + buf.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      const recs: CriLogRecord[] = [];
      for (const l of lines) {
        const r = l ? asm.add(l) : undefined;
        if (r) recs.push(r);
      }
      return recs;
    } finally {
      await fh.close();
    }
  };

  let first = await readNew();
  if (opts.tailLines !== undefined) first = opts.tailLines === 0 ? [] : first.slice(-opts.tailLines);
  for (const r of first) if (!emit(r)) return;
  if (!opts.follow) return;

  while (!signal.aborted) {
    const running = await isRunning();
    for (const r of await readNew()) if (!emit(r)) return;
    if (!running) return;
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
      const t = setTimeout(done, 100);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
