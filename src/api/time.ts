/**
 * Kubernetes timestamp text, written one way everywhere: `metav1.Time` is RFC 3339 with second precision
 * (`2024-01-02T03:04:05Z`) and `metav1.MicroTime` keeps microseconds (`2024-01-02T03:04:05.123000Z`).
 */

/** `metav1.Time` text for a moment given as epoch milliseconds or a Date (default: now). */
export function rfc3339(at: number | Date = Date.now()): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  // Every write stamps the current second (creationTimestamp, conditions, events): format each second once.
  const sec = Math.floor(ms / 1000);
  if (sec === lastSecond) return lastText;
  const text = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (Number.isFinite(sec)) {
    lastSecond = sec;
    lastText = text;
  }
  return text;
}

let lastSecond = NaN;
let lastText = '';

/** `metav1.MicroTime` text (JavaScript clocks have millisecond precision, so the last three digits are 0). */
export function microTime(at: number | Date = Date.now()): string {
  return new Date(typeof at === 'number' ? at : at.getTime()).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');
}
