/**
 * Human-readable durations exactly as kubectl and kube-apiserver print them (apimachinery `duration.HumanDuration`):
 * AGE, RESTARTS "(5m ago)", job DURATION and LAST SCHEDULE all go through here, so `kubectl get` output from this
 * server is byte-identical to a real cluster's.
 */

/**
 * Formats a duration in milliseconds with ~2-3 significant figures: `5s`, `2m3s`, `45m`, `3h5m`, `20h`, `2d3h`,
 * `35d`, `2y45d`, `9y`. Up to one second in the future counts as now (`0s`); further is `<invalid>`.
 */
export function humanDuration(ms: number): string {
  // Go converts to whole units by truncating toward zero.
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Parses an RFC 3339 timestamp (metav1.Time or MicroTime); undefined for absent or unparseable values. */
export function parseTime(ts: unknown): number | undefined {
  if (typeof ts !== 'string' || ts === '') return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

/** Upstream `translateTimestampSince`: elapsed time since `ts`, `<unknown>` when it is unset. */
export function since(ts: unknown, now: number): string {
  const t = parseTime(ts);
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}
