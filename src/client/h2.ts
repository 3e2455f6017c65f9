/**
 * The HTTP/2 side of {@link RestClient}: one node:http2 session per client to an apiserver that negotiates `h2`
 * by ALPN, carrying ordinary requests and streams (watches, logs) alike — what client-go's transport does. All
 * frames node produces in one event-loop turn leave in one socket write, where HTTP/1.1 costs a TLS record and a
 * syscall per request. The first connection offers `h2` and `http/1.1`; a server that picks HTTP/1.1 (or none)
 * is remembered, and the caller keeps using its HTTP/1.1 path. A session that ends (GOAWAY, error, close) is
 * replaced on the next request; streams still running on it finish there.
 */
import { AsyncResource } from 'node:async_hooks';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';

/** TLS settings of the client, as its HTTP/1.1 pool uses them. */
export type H2TlsOptions = ({ secureContext: tls.SecureContext } | { ca?: string; cert?: string; key?: string }) & {
  rejectUnauthorized: boolean;
  servername?: string;
};

/**
 * Whether Skiff speaks HTTP/2 to its apiserver: clients try it and the apiserver offers it (`SKIFF_HTTP2=0` turns
 * both off: HTTP/1.1 only).
 */
export function http2Enabled(): boolean {
  return process.env.SKIFF_HTTP2 !== '0';
}

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;
/** Connection-level receive window: a multi-MB list answer must not wait for a WINDOW_UPDATE every 64 KiB. */
const SESSION_WINDOW = 32 << 20;
const SETTINGS: http2.Settings = { enablePush: false, initialWindowSize: 8 << 20 };

/**
 * `AsyncResource.prototype.bind` as it behaves for node's own use inside `ClientHttp2Session.request`: the function
 * runs in the resource's async scope with the caller's `this`. Node 20's `request()` binds one callback per stream
 * with the public `bind`, which also defines a deprecated `asyncResource` accessor pair through two
 * `util.deprecate` wrappers (each a `setPrototypeOf` on a fresh function): ~10–30 µs of a ~50–70 µs request on
 * this host. {@link H2Transport.request} swaps this in for the duration of that synchronous call only.
 */
function lightBind(this: AsyncResource, fn: (...args: unknown[]) => unknown, thisArg?: unknown): (...args: unknown[]) => unknown {
  const resource = this;
  return function bound(this: unknown, ...args: unknown[]) {
    return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
  };
}

/**
 * Request options with node's default stream priority spelled out (weight 16, no parent, not exclusive, not
 * silent: the same PRIORITY data node sends when they are absent). When they are absent `request()` adds the four
 * fields to its copy of the options object, which measured ~10 µs of a ~40 µs request on Node 20; given, they are
 * only validated. Module constants: `request()` copies its options and never changes these.
 */
const WITH_BODY = { endStream: false, weight: http2.constants.NGHTTP2_DEFAULT_WEIGHT, parent: 0, exclusive: false, silent: false };
const NO_BODY = { ...WITH_BODY, endStream: true };

/** `session.request` with {@link lightBind} in place of `AsyncResource.prototype.bind` while it runs. */
function openStream(session: ClientHttp2Session, headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): ClientHttp2Stream {
  const proto = AsyncResource.prototype as unknown as { bind: unknown };
  const bind = proto.bind;
  proto.bind = lightBind;
  try {
    return session.request(headers, options);
  } finally {
    proto.bind = bind;
  }
}

/** A stream the server refused (GOAWAY below it, or REFUSED_STREAM): it never ran and may be sent again. */
export function isRefusedStream(stream: ClientHttp2Stream): boolean {
  return stream.rstCode === NGHTTP2_REFUSED_STREAM;
}

/**
 * The error a stream that ended without a complete answer reports: `ECONNRESET` with the RST_STREAM code, as the
 * HTTP/1.1 path reports a connection that broke mid-answer (an `Error` with a socket error code).
 */
export function streamResetError(method: string, path: string, stream: ClientHttp2Stream, cause?: Error): Error {
  const detail = cause ? cause.message : `stream reset by the server (HTTP/2 error code ${stream.rstCode ?? 'none'})`;
  // Socket errors (ECONNRESET, EPIPE…) keep their code; node's HTTP/2 stream/session errors become ECONNRESET.
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return Object.assign(new Error(`${method} ${path}: ${detail}`), { code: code && !code.startsWith('ERR_') ? code : 'ECONNRESET', cause });
}

export class H2Transport {
  /** `unknown` until the first connection says; `h1` once the server chose HTTP/1.1 (sticky). */
  mode: 'unknown' | 'h2' | 'h1';
  private session?: ClientHttp2Session;
  private connecting?: Promise<ClientHttp2Session | undefined>;
  /** Streams in flight per session: an idle session does not keep the process alive (as undici's idle sockets). */
  private readonly active = new WeakMap<ClientHttp2Session, number>();
  /** Long-running streams (watch, logs): {@link H2Transport.close} ends them. */
  private readonly long = new Set<ClientHttp2Stream>();
  private readonly host: string;
  private readonly port: number;
  /** Ordinary requests holding a slot, and those waiting for one (FIFO; see {@link H2Transport.acquire}). */
  private busy = 0;
  private waiting: Array<(() => boolean) | undefined> = [];
  private head = 0;

  /**
   * `maxInFlight`: most ordinary requests on the wire at once, as the HTTP/1.1 pool's socket count bounds them
   * (without it one client could hand the apiserver hundreds of requests in one burst — a scheduler's bindings,
   * say — ahead of everyone else's; kube-apiserver also caps streams per connection at 250).
   */
  constructor(private readonly origin: URL, private readonly tlsOptions: H2TlsOptions, enabled = true, private readonly maxInFlight = 64) {
    this.mode = enabled && origin.protocol === 'https:' ? 'unknown' : 'h1';
    this.host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
    this.port = Number(origin.port) || 443;
  }

  /** The live session, when there is one ready for new streams. */
  current(): ClientHttp2Session | undefined {
    const s = this.session;
    return s && !s.closed && !s.destroyed ? s : undefined;
  }

  /** A session ready for new streams, or undefined when the server speaks HTTP/1.1 only. Connection errors reject. */
  connect(): Promise<ClientHttp2Session | undefined> {
    const s = this.current();
    if (s) return Promise.resolve(s);
    if (this.mode === 'h1') return Promise.resolve(undefined);
    return (this.connecting ??= this.open().finally(() => { this.connecting = undefined; }));
  }

  /** Connects, offering h2 and http/1.1; resolves undefined (and remembers it) when the server picks HTTP/1.1. */
  private open(): Promise<ClientHttp2Session | undefined> {
    return new Promise((resolve, reject) => {
      const servername = this.tlsOptions.servername ?? (net.isIP(this.host) ? undefined : this.host);
      const socket = tls.connect({ ...this.tlsOptions, host: this.host, port: this.port, servername, ALPNProtocols: ['h2', 'http/1.1'] });
      const onError = (err: Error) => reject(err);
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        if (socket.alpnProtocol !== 'h2') {
          // HTTP/1.1 only (an older server, or SKIFF_HTTP2=0 there): the caller's HTTP/1.1 path takes over for good.
          this.mode = 'h1';
          socket.destroy();
          resolve(undefined);
          return;
        }
        this.mode = 'h2';
        const session = http2.connect(this.origin, { createConnection: () => socket, settings: SETTINGS, maxSessionMemory: 256 });
        const drop = () => {
          if (this.session === session) this.session = undefined;
        };
        // Errors reach the streams of the session; the session itself is just replaced.
        session.on('error', drop);
        session.on('goaway', drop);
        session.on('close', drop);
        session.once('connect', () => {
          try {
            session.setLocalWindowSize(SESSION_WINDOW);
          } catch {
            /* the session already ended */
          }
        });
        this.active.set(session, 0);
        // Hand the session out once the server's SETTINGS are in: before them node assumes no stream limit, and a
        // burst over SETTINGS_MAX_CONCURRENT_STREAMS would be refused instead of queued.
        const ready = () => {
          session.off('close', gone);
          session.off('error', onFailure);
          session.unref(); // until a stream is in flight
          this.session = session;
          resolve(session);
        };
        let failure: Error | undefined;
        const onFailure = (err: Error) => { failure = err; };
        session.once('error', onFailure);
        const gone = () => {
          session.off('remoteSettings', ready);
          reject(failure ?? Object.assign(new Error(`HTTP/2 session to ${this.origin.host} ended before its SETTINGS`), { code: 'ECONNRESET' }));
        };
        session.once('remoteSettings', ready);
        session.once('close', gone);
      });
    });
  }

  /**
   * Opens a stream on `session` and counts it in flight. `long`: a watch or log stream, ended by
   * {@link H2Transport.close}. Throws synchronously when the session can no longer take streams (after a GOAWAY);
   * the session is then dropped and {@link H2Transport.connect} opens another.
   */
  request(session: ClientHttp2Session, headers: http2.OutgoingHttpHeaders, endStream: boolean, long: boolean): ClientHttp2Stream {
    let stream: ClientHttp2Stream;
    try {
      stream = openStream(session, headers, endStream ? NO_BODY : WITH_BODY);
    } catch (err) {
      if (this.session === session) this.session = undefined;
      throw err;
    }
    const n = (this.active.get(session) ?? 0) + 1;
    this.active.set(session, n);
    if (n === 1) session.ref();
    if (long) this.long.add(stream);
    stream.once('close', () => {
      if (long) this.long.delete(stream);
      const left = (this.active.get(session) ?? 1) - 1;
      this.active.set(session, left);
      if (left === 0 && !session.destroyed) session.unref();
    });
    return stream;
  }

  /**
   * Runs `start` now when fewer than `maxInFlight` requests hold a slot, else once one is released (FIFO).
   * `start` returns whether it took the slot (false: its request already ended while waiting; the slot passes on).
   * Whoever took a slot calls {@link H2Transport.release} exactly once.
   */
  acquire(start: () => boolean): void {
    if (this.busy < this.maxInFlight) {
      this.busy++;
      if (!start()) this.release();
      return;
    }
    this.waiting.push(start);
  }

  /** Gives a slot back: to the longest-waiting request that still wants it, if any. */
  release(): void {
    while (this.head < this.waiting.length) {
      const next = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      if (next()) return;
    }
    this.busy--;
  }

  /** Ends watch and log streams and lets ordinary requests in flight finish; the next request opens a new session. */
  close(): void {
    for (const s of this.long) s.close(NGHTTP2_CANCEL);
    this.long.clear();
    const s = this.session;
    this.session = undefined;
    if (s && !s.closed) s.close();
  }
}
