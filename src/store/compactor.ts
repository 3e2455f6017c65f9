/**
 * Periodic compaction, like kube-apiserver's etcd compactor (--etcd-compaction-interval, 5 minutes by default):
 * without it the revision log grows forever. The compactor keeps enough history that watchers and paginated lists
 * in progress are not cut short: it never compacts past the newest `minRevisions` revisions, nor past anything
 * written during the last `minAgeMs`. Revisions carry no timestamps, so the compactor samples (revision, time) on
 * every run and uses the newest sample at least `minAgeMs` old as the age bound — after a restart it therefore
 * waits `minAgeMs` before the first compaction, which is always safe.
 */
import type { Backend } from './types.js';

/** Options for startCompactor. */
export interface CompactorOptions {
  /** How often to run (default 300000 = 5 minutes). */
  intervalMs?: number;
  /** Always keep at least this many newest revisions (default 1000). */
  minRevisions?: number;
  /** Always keep everything written in this window (default 300000 = 5 minutes). */
  minAgeMs?: number;
  /** Clock (tests inject a fake one). */
  now?: () => number;
  /** Structured log sink: progress (`fields.revision`, `fields.current`) and failures (`fields.error`). When unset,
   * failures go to console.error. */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** Handle of a running compactor. */
export interface Compactor {
  /** Stops the timer; resolves once a run in progress has finished. */
  stop(): Promise<void>;
  /** Samples and compacts now; resolves to the revision compacted to, or undefined when nothing was due (or it
   * failed: the error is logged). Concurrent calls share one run. */
  runOnce(): Promise<number | undefined>;
}

interface Sample {
  revision: number;
  time: number;
}

/** Starts compacting `backend` every `intervalMs`; see the module comment. */
export function startCompactor(backend: Backend, options: CompactorOptions = {}): Compactor {
  const intervalMs = options.intervalMs ?? 300_000;
  const minRevisions = options.minRevisions ?? 1000;
  const minAgeMs = options.minAgeMs ?? 300_000;
  const now = options.now ?? Date.now;
  const log =
    options.log ??
    ((message: string, fields?: Record<string, unknown>) => {
      if (fields?.error !== undefined) console.error(`store compactor: ${message}`, fields.error);
    });
  let samples: Sample[] = [];
  let running: Promise<number | undefined> | undefined;
  let stopped = false;

  const sample = async (): Promise<Sample> => {
    const s = { revision: await backend.currentRevision(), time: now() };
    samples.push(s);
    return s;
  };

  const once = async (): Promise<number | undefined> => {
    try {
      const { revision: current, time } = await sample();
      const threshold = time - minAgeMs;
      // Newest sample old enough; drop the samples older than it (it stays the best age bound we know).
      let idx = -1;
      for (let i = samples.length - 1; i >= 0; i--) {
        if (samples[i].time <= threshold) {
          idx = i;
          break;
        }
      }
      if (idx < 0) return undefined;
      samples = samples.slice(idx);
      const target = Math.min(current - minRevisions, samples[0].revision);
      if (target <= backend.compactRevision()) return undefined;
      await backend.compact(target);
      log(`compacted to revision ${target} (current ${current})`, { revision: target, current });
      return target;
    } catch (err) {
      log('compaction failed', { error: err });
      return undefined;
    }
  };

  const runOnce = (): Promise<number | undefined> => {
    if (!running) {
      running = once().finally(() => {
        running = undefined;
      });
    }
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, intervalMs);
  timer.unref();
  // The first sample starts the age clock right away.
  void runOnce();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
    runOnce,
  };
}
