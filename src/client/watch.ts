/**
 * Decoding of the apiserver's watch stream: newline-delimited JSON `{"type": …, "object": …}` frames over a chunked
 * response, as kube-apiserver writes them for `?watch=1` with JSON encoding. Chunk boundaries are arbitrary — a
 * frame may span several chunks and a multi-byte character may be split — so the bytes of an unfinished frame are
 * carried over and each frame is decoded whole (client-go's `json.Decoder` framing does the same job).
 */

import type { Status } from '../api/errors.js';

/** Watch event types kube-apiserver sends (`watch.EventType`). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * One watch frame. For `ERROR` the object is a `Status` (410 Expired when the resourceVersion was compacted); for
 * `BOOKMARK` it carries only `metadata.resourceVersion` (plus the initial-events annotation).
 */
export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: Status };

/**
 * Splits a byte stream into lines, keeping an incomplete trailing line for later. Lines are cut on the `\n` byte
 * before decoding — in UTF-8 that byte never occurs inside a multi-byte character — so each line is decoded once,
 * straight from the chunk, with no carried-over string concatenation or re-splitting.
 */
export class LineSplitter {
  /** Bytes of the unfinished line (chunks are not reused by node streams, so holding slices is safe). */
  private pending: Buffer[] = [];

  /** Feeds one chunk; returns the complete, non-empty lines it finished. */
  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const out: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      let line: string;
      if (this.pending.length > 0) {
        this.pending.push(buf.subarray(start, nl));
        line = Buffer.concat(this.pending).toString('utf8');
        this.pending = [];
      } else {
        line = buf.toString('utf8', start, nl);
      }
      start = nl + 1;
      line = line.trim();
      if (line.length > 0) out.push(line);
    }
    if (start < buf.length) this.pending.push(start === 0 ? buf : buf.subarray(start));
    return out;
  }

  /** Ends the stream; returns the last line if it was not newline-terminated. */
  end(): string | undefined {
    const last = this.pending.length > 0 ? Buffer.concat(this.pending).toString('utf8').trim() : '';
    this.pending = [];
    return last || undefined;
  }
}

/** A frame that is not valid watch JSON: the stream is unusable and must be restarted. */
export class WatchDecodeError extends Error {
  constructor(readonly line: string, cause: unknown) {
    super(`watch: cannot decode frame ${JSON.stringify(line.slice(0, 200))}: ${(cause as Error)?.message ?? cause}`);
    this.name = 'WatchDecodeError';
  }
}

const EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Parses one frame, checking it has a known `type` and an `object`. */
export function parseWatchLine<T>(line: string): WatchEvent<T> {
  let ev: { type?: unknown; object?: unknown };
  try {
    ev = JSON.parse(line) as typeof ev;
  } catch (err) {
    throw new WatchDecodeError(line, err);
  }
  if (!ev || typeof ev.type !== 'string' || !EVENT_TYPES.has(ev.type) || typeof ev.object !== 'object' || ev.object === null) {
    throw new WatchDecodeError(line, new Error('missing or unknown type/object'));
  }
  return ev as WatchEvent<T>;
}
