/**
 * The CRI container log format, as containerd's cri plugin writes it and kubelet's `pkg/kubelet/kuberuntime/logs`
 * reads it: one record per line, `<RFC3339Nano timestamp> <stream> <tag> <content>` where stream is `stdout`/`stderr`
 * and tag is `F` (full line; the newline was stripped) or `P` (partial: the line continues in the next record).
 * The process runtime's shim writes it; the agent's log server (kubectl logs) parses it.
 */

/** One parsed CRI log record. */
export interface CriLogRecord {
  /** The timestamp as written (RFC3339 with nanoseconds). */
  time: string;
  /** Milliseconds since the epoch (for --since / --since-time filtering). */
  timeMs: number;
  stream: 'stdout' | 'stderr';
  /** True for a `P` record: the content continues in the next record of the same stream. */
  partial: boolean;
  content: string;
}

/**
 * Formats nanoseconds since the epoch as RFC3339 UTC with a fixed 9-digit fraction
 * (`2016-10-06T00:17:09.669794202Z`), which Go's time.Parse(RFC3339Nano) and kubelet accept.
 */
export function formatCriTimestamp(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${base}.${frac}Z`;
}

/** Formats one record (without the trailing newline). */
export function formatCriLogLine(ns: bigint, stream: 'stdout' | 'stderr', partial: boolean, content: string): string {
  return `${formatCriTimestamp(ns)} ${stream} ${partial ? 'P' : 'F'} ${content}`;
}

/**
 * Parses one record (without its newline); undefined for a malformed line, which kubelet's reader also skips.
 * Accepts any fraction length, like Go's RFC3339Nano parser.
 */
export function parseCriLogLine(line: string): CriLogRecord | undefined {
  const s1 = line.indexOf(' ');
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(' ', s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(' ', s2 + 1);
  const tagEnd = s3 < 0 ? line.length : s3;
  const time = line.slice(0, s1);
  const stream = line.slice(s1 + 1, s2);
  const tag = line.slice(s2 + 1, tagEnd);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  if (tag !== 'F' && tag !== 'P') return undefined;
  const timeMs = Date.parse(time);
  if (Number.isNaN(timeMs)) return undefined;
  return { time, timeMs, stream, partial: tag === 'P', content: s3 < 0 ? '' : line.slice(s3 + 1) };
}

/**
 * Parses a whole log file's text into records and joins partial records into whole lines per stream
 * (what `kubectl logs` shows).
 */
export function parseCriLog(text: string): CriLogRecord[] {
  const out: CriLogRecord[] = [];
  const pending: Partial<Record<'stdout' | 'stderr', CriLogRecord>> = {};
  for (const line of text.split('\n')) {
    if (!line) continue;
    const r = parseCriLogLine(line);
    if (!r) continue;
    const prev = pending[r.stream];
    const merged = prev ? { ...prev, content: prev.content + r.content, partial: r.partial } : r;
    if (merged.partial) pending[r.stream] = merged;
    else {
      delete pending[r.stream];
      out.push(merged);
    }
  }
  for (const p of Object.values(pending)) if (p) out.push(p);
  return out;
}
