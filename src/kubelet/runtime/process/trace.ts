/**
 * Startup tracing for profiling the pod start path (bench/pod-startup.ts `--trace FILE`): when `$SKIFF_STARTUP_TRACE`
 * names a file, `trace(key, event)` records `<wall ms with µs> <key> <event>` lines, flushed on exit. Off (a no-op)
 * otherwise.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.SKIFF_STARTUP_TRACE;
const lines: string[] = [];
if (file) process.on('exit', () => appendFileSync(file, lines.join('')));

/** Records one event (no-op unless `$SKIFF_STARTUP_TRACE` is set). */
export function trace(key: string, event: string): void {
  if (!file) return;
  lines.push(`${(performance.timeOrigin + performance.now()).toFixed(3)} ${key} ${event}\n`);
}

/** The trace file, if tracing is on (the native shim appends its own events there). */
export const traceFile = file;

/** Whether tracing is on. */
export const tracing = !!file;
