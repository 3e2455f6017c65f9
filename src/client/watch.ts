/**
 * Decoding of the apiserver's watch stream: newline-delimited JSON `{"type": …, "object": …}` frames over a chunked
 * response, as kube-apiserver writes them for `?watch=1` with JSON encoding. Chunk boundaries are arbitrary — a
 * frame may span several chunks and a multi-byte character may be split — so frames are split on `\n` only after
 * UTF-8 decoding with carry-over (client-go's `json.Decoder` framing does the same job).
 */

import { StringDecoder } from 'node:string_decoder';
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

/** Splits a byte stream into lines, keeping an incomplete trailing line (and partial UTF-8 sequence) for later. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  /** Feeds one chunk; returns the complete, non-empty lines it finished. */
  push(chunk: Buffer | string): string[] {
    const text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map((l) => l.trim()).filter((l) => l.length > 0);
  }

  /** Ends the stream; returns the last line if it was not newline-terminated. */
  end(): string | undefined {
    const last = (this.rest + this.decoder.end()).trim();
    this.rest = '';
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

/** Parses one frame, checking it has a known `type` and an `object`. */
export function parseWatchLine<T>(line: string): WatchEvent<T> {
  let ev: { type?: unknown; object?: unknown };
  try {
    ev = JSON.parse(line) as typeof ev;
  } catch (err) {
    throw new WatchDecodeError(line, err);
  }
  const types = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'];
  if (!ev || typeof ev.type !== 'string' || !types.includes(ev.type) || typeof ev.object !== 'object' || ev.object === null) {
    throw new WatchDecodeError(line, new Error('missing or unknown type/object'));
  }
  return ev as WatchEvent<T>;
}
