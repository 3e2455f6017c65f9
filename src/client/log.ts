/**
 * The logger contract of the client library: the subset of pino's API Skiff uses (`log.warn({ err }, 'msg')`), so
 * components pass their own pino child loggers and tests pass a recorder. Long-running loops (informers, work
 * queues, leader election, event recording) log every error they retry — none is swallowed.
 */

import pino from 'pino';

/** pino-compatible logger methods: an object of fields first, then the message. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A pino logger on stderr for `component`, at `$SKIFF_LOG_LEVEL` (default info). */
export function defaultLogger(component: string): Logger {
  return pino({ level: process.env.SKIFF_LOG_LEVEL ?? 'info', base: { component } }, pino.destination(2));
}

/** One captured log line, from {@link recordingLogger}. */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

/** A logger that keeps lines in memory, for tests that assert an error was surfaced. */
export function recordingLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: LogRecord['level']) => (obj: object, msg?: string) => void records.push({ level, obj, msg });
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
