/**
 * The HTTP layer every Skiff component uses to reach the apiserver (client-go `rest.RESTClient`): one HTTP/2 session
 * per client when the https server negotiates `h2` (requests and streams alike, see ./h2.ts; `SKIFF_HTTP2=0` or
 * `http2: false` turns it off), else keep-alive HTTP/1.1 connection pools (undici for ordinary requests, a
 * node:https agent for streams); JSON in and out, `Status` bodies turned into {@link ApiError}s with the server's code, reason,
 * message and details, per-request timeouts, a client-side token-bucket rate limiter (client-go defaults qps 5,
 * burst 10; off for in-process use), and automatic retries when the server answers 429/5xx with `Retry-After`,
 * as client-go's `request.retry` does.
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { http2Enabled, H2Transport, isRefusedStream, streamResetError } from './h2.js';
import { ApiError, type Status } from '../api/errors.js';
import { realClock, sleep, type Clock } from './clock.js';
import type { ClientConfig } from './config.js';
import { TokenBucket } from './token-bucket.js';

/** Tuning knobs of a {@link RestClient}. */
export interface RestClientOptions {
  /**
   * Most sockets kept open to the server (client-go leaves this to `http.Transport`; default 64). Over HTTP/2 the
   * same number bounds the ordinary requests in flight on the session (more wait in order, as for a free socket);
   * watches and log streams do not count.
   */
  maxSockets?: number;
  /** Deadline for a whole non-streaming request in ms (default 60 000; 0 disables). Watches have none. */
  timeoutMs?: number;
  /** Client-side rate limit; `false` disables it (in-process components). Default `{ qps: 5, burst: 10 }`. */
  rateLimit?: { qps: number; burst: number } | false;
  /** Retries for 429/5xx answers that carry `Retry-After` (client-go `maxRetries`, default 10). */
  maxRetries?: number;
  /** `User-Agent` header (default `skiff/0.1.0`), shown in apiserver audit logs and metrics. */
  userAgent?: string;
  /** Clock for the rate limiter and Retry-After waits. */
  clock?: Clock;
  /**
   * Offer HTTP/2 to an https server (default: unless `SKIFF_HTTP2=0`). When the server negotiates it, every request
   * and stream shares one HTTP/2 session; otherwise the HTTP/1.1 pools below are used.
   */
  http2?: boolean;
}

/** Query parameters; `undefined` values are dropped, everything else is stringified. */
export type Query = Record<string, string | number | boolean | undefined>;

/** One request. `path` starts with `/` and is appended to the configured server URL. */
export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  /** Serialized as JSON unless it is already a string or Buffer. */
  body?: unknown;
  /** Defaults to `application/json` when there is a body. */
  contentType?: string;
  /** Overrides {@link RestClientOptions.timeoutMs} for this request. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The caller does not read a successful answer: {@link RestClient.request} resolves `undefined` without decoding
   * it (a binding's Status, a created Event — JSON.parse of a body nobody reads). Error answers are decoded as ever.
   */
  discardResult?: boolean;
}

/** A streaming response (watch, logs): the raw body and a way to end it early. */
export interface StreamResponse {
  statusCode: number;
  /** An IncomingMessage over HTTP/1.1, the HTTP/2 stream over HTTP/2. */
  body: Readable;
  /** Closes the connection; the body then ends. Safe to call more than once. */
  abort(): void;
}

/** The request did not finish within its deadline (client-go surfaces `context deadline exceeded`). */
export class RequestTimeoutError extends Error {
  constructor(readonly method: string, readonly path: string, readonly timeoutMs: number) {
    super(`${method} ${path}: no response within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** Reason names client-go's `reasonForCode` gives answers that carry no Status body. */
const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  406: 'NotAcceptable', 409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType',
  422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

const TOKEN_FILE_TTL_MS = 60_000;
/** Paths that `new URL` would leave exactly as they are (absolute, no dot segments, nothing to escape). */
const SIMPLE_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~:@!$&'()*+,;=]+)+\/?$/;

/** See the module comment. Create one per server and share it; call {@link RestClient.close} to free sockets. */
export class RestClient {
  readonly config: ClientConfig;
  /** The options it was made with: {@link RestClient.sibling} makes another client like it. */
  readonly options: RestClientOptions;
  private readonly base: URL;
  /** HTTP/1.1 streaming requests (watch, logs) go through node:http(s): their bodies are handed out as IncomingMessage. */
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  /**
   * Everything else goes through an undici pool (about half the client CPU per request of node:http). Created on
   * first use and again after {@link RestClient.close}, so a closed client stays usable as a closed Agent was.
   */
  private pool?: Pool;
  private readonly poolOptions: Pool.Options;
  private readonly limiter?: TokenBucket;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly userAgent: string;
  private readonly clock: Clock;
  private cachedToken?: { value: string; at: number };
  /** HTTP/2 to https servers that negotiate it (see {@link RestClientOptions.http2}). */
  private readonly h2?: H2Transport;

  constructor(config: ClientConfig, opts: RestClientOptions = {}) {
    this.config = config;
    this.options = opts;
    this.base = new URL(config.server);
    this.hostname = this.base.hostname.startsWith('[') ? this.base.hostname.slice(1, -1) : this.base.hostname;
    this.port = this.base.port || undefined;
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.hostHeader = this.base.host;
    this.clock = opts.clock ?? realClock;
    const maxSockets = opts.maxSockets ?? 64;
    // No undici timeouts: the request deadline (ours, covering headers and body) is the only one, as with node:http.
    this.poolOptions = { connections: maxSockets, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, connectTimeout: 0 };
    if (this.base.protocol === 'https:') {
      this.mod = https;
      // One secure context built here, not ca/cert/key options: https.Agent concatenates those PEM strings into
      // the pool key of every request (and rebuilds a context per new socket), which cost ~30 µs per request.
      let credentials: { secureContext: tls.SecureContext } | { ca?: string; cert?: string; key?: string };
      try {
        credentials = { secureContext: tls.createSecureContext({ ca: config.ca, cert: config.cert, key: config.key }) };
      } catch {
        // Unusable PEM data: hand it to the agent as before, so the first request fails with the TLS error.
        credentials = { ca: config.ca, cert: config.cert, key: config.key };
      }
      const tlsOptions = { ...credentials, rejectUnauthorized: !config.insecureSkipTLSVerify, servername: config.tlsServerName };
      this.agent = new https.Agent({ keepAlive: true, maxSockets, ...tlsOptions });
      // undici hands these to tls.connect for every new socket: same secure context, verification and SNI name.
      this.poolOptions.connect = tlsOptions as NonNullable<Pool.Options['connect']>;
      if (opts.http2 ?? http2Enabled()) this.h2 = new H2Transport(this.base, tlsOptions, true, maxSockets);
    } else if (this.base.protocol === 'http:') {
      this.mod = http;
      this.agent = new http.Agent({ keepAlive: true, maxSockets });
    } else {
      throw new Error(`RestClient: unsupported server URL ${config.server}`);
    }
    const rl = opts.rateLimit === undefined ? { qps: 5, burst: 10 } : opts.rateLimit;
    if (rl) this.limiter = new TokenBucket(rl.qps, rl.burst, this.clock);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.maxRetries = opts.maxRetries ?? 10;
    this.userAgent = opts.userAgent ?? 'skiff/0.1.0';
  }

  /**
   * Sends a request and returns the decoded JSON body (a string for non-JSON answers such as logs). Throws
   * {@link ApiError} for non-2xx answers, {@link RequestTimeoutError} past the deadline, and network errors as-is.
   */
  async request<T = unknown>(o: RequestOptions): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (o.signal?.aborted) throw abortError();
      if (this.limiter) {
        await this.limiter.wait(o.signal);
        if (o.signal?.aborted) throw abortError();
      }
      const res = await this.exchange(o);
      const text = res.text;
      if (res.statusCode >= 200 && res.statusCode < 300) return (o.discardResult ? undefined : decode(res.contentType, text)) as T;
      const retryAfter = res.retryAfter;
      if (retryAfter !== undefined && attempt < this.maxRetries && (res.statusCode === 429 || res.statusCode >= 500)) {
        await sleep(this.clock, retryAfter * 1000, o.signal);
        if (o.signal?.aborted) throw abortError();
        continue;
      }
      throw toApiError(res.statusCode, text);
    }
  }

  /**
   * Opens a streaming request (watch, follow logs). Resolves once the response headers arrive with a 2xx status;
   * otherwise reads the error body and throws its {@link ApiError}. No deadline applies to the body.
   */
  async stream(o: Omit<RequestOptions, 'body' | 'contentType'>): Promise<StreamResponse> {
    if (o.signal?.aborted) throw abortError();
    if (this.limiter) {
      await this.limiter.wait(o.signal);
      if (o.signal?.aborted) throw abortError();
    }
    const res = await this.send(o);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readBody(res.body, o.signal);
      throw toApiError(res.statusCode, text);
    }
    return res;
  }

  /**
   * Another client with the same server, credentials and options but its own connections, in-flight slots and rate
   * limiter — what kube-scheduler's separate event clientset is: a burst of event writes does not queue ahead of
   * the bindings (their requests would otherwise share one FIFO of {@link RestClientOptions.maxSockets} slots).
   */
  sibling(): RestClient {
    return new RestClient(this.config, this.options);
  }

  /**
   * Closes keep-alive sockets: streams end, ordinary requests still in flight finish first. The client stays
   * usable; a later request opens new connections.
   */
  close(): void {
    this.h2?.close();
    this.agent.destroy();
    const pool = this.pool;
    this.pool = undefined;
    // Closing waits for requests in flight; a failure there concerns only those requests, which report it themselves.
    pool?.close().catch(() => undefined);
  }

  /**
   * The protocol requests use: `h2` once an https server negotiated HTTP/2, `http/1.1` for servers without it (and
   * with HTTP/2 off), `unknown` before the first connection.
   */
  get protocol(): 'h2' | 'http/1.1' | 'unknown' {
    const m = this.h2?.mode ?? 'h1';
    return m === 'h1' ? 'http/1.1' : m;
  }

  /** Builds the full URL of a path and query, as the request would send it. */
  url(path: string, query?: Query): URL {
    const u = new URL(this.base.pathname.replace(/\/+$/, '') + path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /**
   * The request path (with query) for http.request. Plain API paths (the hot path: every create, binding, event)
   * skip the URL parse and re-serialisation; anything unusual goes through {@link RestClient.url}.
   */
  private requestPath(path: string, query?: Query): string {
    if (!SIMPLE_PATH.test(path)) {
      const u = this.url(path, query);
      return u.pathname + u.search;
    }
    let search = '';
    if (query) {
      let params: URLSearchParams | undefined;
      for (const k in query) {
        const v = query[k];
        if (v !== undefined) (params ??= new URLSearchParams()).set(k, String(v));
      }
      if (params) search = `?${params.toString()}`;
    }
    return this.basePath + path + search;
  }

  /** Host, port and protocol of every request (from the server URL; IPv6 brackets removed as http.request wants). */
  private readonly hostname: string;
  private readonly port: string | undefined;
  private readonly basePath: string;
  /** `Host` header value: host plus a non-default port, IPv6 in brackets (what http.request would send). */
  private readonly hostHeader: string;

  private token(): string | undefined {
    if (this.config.token) return this.config.token;
    if (!this.config.tokenFile) return undefined;
    const now = Date.now();
    if (!this.cachedToken || now - this.cachedToken.at > TOKEN_FILE_TTL_MS) {
      this.cachedToken = { value: readFileSync(this.config.tokenFile, 'utf8').trim(), at: now };
    }
    return this.cachedToken.value;
  }

  /**
   * Starts a streaming request on node:http(s). Headers go as a flat array (http.request then writes them as given, skipping the per-header
   * setHeader/validation/lookup work of a header object); `Host` and a zero `Content-Length` for body-less writes
   * are added here because that path does not add them.
   */
  private begin(o: RequestOptions): http.ClientRequest {
    const path = this.requestPath(o.path, o.query);
    // A string body is written as is: http then sends header and body as one string in a single socket write.
    let payload: Buffer | string | undefined;
    if (o.body !== undefined) payload = Buffer.isBuffer(o.body) || typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers = ['Host', this.hostHeader, 'Accept', 'application/json', 'User-Agent', this.userAgent];
    if (payload !== undefined) {
      const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      headers.push('Content-Type', o.contentType ?? 'application/json', 'Content-Length', String(length));
    }
    else if (o.method === 'POST' || o.method === 'PUT' || o.method === 'PATCH') headers.push('Content-Length', '0');
    const token = this.token();
    if (token) headers.push('Authorization', `Bearer ${token}`);
    const req = this.mod.request({ protocol: this.base.protocol, hostname: this.hostname, port: this.port, path, method: o.method, headers, agent: this.agent });
    req.end(payload);
    return req;
  }

  /**
   * A whole non-streaming exchange in one promise, sent through the undici pool: status, the two headers we need
   * and the body text. The deadline covers the body too; a signal aborts at any point (also while the request
   * still waits for a free connection).
   */
  private exchange(o: RequestOptions): Promise<Exchange> {
    const h2 = this.h2;
    if (h2 && h2.mode !== 'h1') return this.h2Exchange(h2, o);
    return this.h1Exchange(o);
  }

  private h1Exchange(o: RequestOptions): Promise<Exchange> {
    return new Promise<Exchange>((resolve, reject) => {
      const path = this.requestPath(o.path, o.query);
      // undici adds Host, `connection: keep-alive` and Content-Length (also `0` for body-less POST/PUT/PATCH).
      let payload: Buffer | string | undefined;
      if (o.body !== undefined) payload = Buffer.isBuffer(o.body) || typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      const headers = ['accept', 'application/json', 'user-agent', this.userAgent];
      if (payload !== undefined) headers.push('content-type', o.contentType ?? 'application/json');
      const token = this.token();
      if (token) headers.push('authorization', `Bearer ${token}`);
      const h = new ExchangeHandler(o.signal, resolve, reject);
      const timeoutMs = o.timeoutMs ?? this.timeoutMs;
      if (timeoutMs > 0) h.timer = setTimeout(() => h.cancel(new RequestTimeoutError(o.method, o.path, timeoutMs)), timeoutMs);
      if (o.signal) o.signal.addEventListener('abort', h, { once: true });
      (this.pool ??= new Pool(this.base.origin, this.poolOptions)).dispatch({ path, method: o.method, headers, body: payload }, h);
    });
  }

  /** Starts a streaming request; resolves at the response headers. Only the headers have a deadline. */
  private send(o: RequestOptions): Promise<StreamResponse> {
    const h2 = this.h2;
    if (h2 && h2.mode !== 'h1') return this.h2Send(h2, o);
    return this.h1Send(o);
  }

  private h1Send(o: RequestOptions): Promise<StreamResponse> {
    return new Promise<StreamResponse>((resolve, reject) => {
      const req = this.begin(o);
      const timeoutMs = o.timeoutMs ?? this.timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const clear = () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        o.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => req.destroy(abortError());
      o.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        // Streaming requests only get a deadline for their headers; the body of a watch may last for minutes.
        timer = setTimeout(() => req.destroy(new RequestTimeoutError(o.method, o.path, timeoutMs)), timeoutMs);
      }
      req.on('error', (err) => {
        clear();
        reject(err);
      });
      req.on('response', (res) => {
        clear();
        resolve({ statusCode: res.statusCode ?? 0, body: res, abort: () => req.destroy() });
      });
    });
  }

  /** Request headers for HTTP/2 (lower-case names; `:authority` comes from the session). */
  private h2Headers(o: RequestOptions, path: string, payload: Buffer | string | undefined): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = { ':method': o.method, ':path': path, accept: 'application/json', 'user-agent': this.userAgent };
    if (payload !== undefined) {
      headers['content-type'] = o.contentType ?? 'application/json';
      headers['content-length'] = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    } else if (o.method === 'POST' || o.method === 'PUT' || o.method === 'PATCH') headers['content-length'] = 0;
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  /**
   * {@link RestClient.exchange} over HTTP/2: the same deadline (from the call, covering connecting, headers and
   * body), abort and error behaviour as the HTTP/1.1 path. Holds one of the transport's in-flight slots (see
   * {@link RestClientOptions.maxSockets}) while it runs.
   */
  private h2Exchange(h2: H2Transport, o: RequestOptions): Promise<Exchange> {
    const path = this.requestPath(o.path, o.query);
    let payload: Buffer | string | undefined;
    if (o.body !== undefined) payload = Buffer.isBuffer(o.body) || typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    return this.h2Call<Exchange>(h2, o, true, () => this.h1Exchange(o), (session, call) => {
      const s = h2.request(session, this.h2Headers(o, path, payload), payload === undefined, false);
      let statusCode = 0;
      let contentType = '';
      let retryAfter: number | undefined;
      let first: Buffer | undefined;
      let more: Buffer[] | undefined;
      s.on('response', (h) => {
        statusCode = Number(h[':status']);
        contentType = h['content-type'] ?? '';
        const ra = h['retry-after'];
        retryAfter = typeof ra === 'string' && /^\s*\d+\s*$/.test(ra) ? Number(ra.trim()) : undefined;
      });
      s.on('data', (c: Buffer) => {
        if (!first) first = c;
        else (more ??= [first]).push(c);
      });
      s.on('end', () => {
        // A discarded successful answer is not turned into a string (errors still are: they become ApiErrors).
        const skip = o.discardResult === true && statusCode >= 200 && statusCode < 300;
        const text = skip ? '' : more ? Buffer.concat(more).toString('utf8') : first ? first.toString('utf8') : '';
        call.settle({ statusCode, contentType, retryAfter, text });
      });
      let streamErr: Error | undefined;
      s.on('error', (err) => { streamErr = err; });
      s.on('close', () => call.closed(s, streamErr, statusCode === 0));
      if (payload !== undefined) s.end(payload);
      return s;
    });
  }

  /** {@link RestClient.send} over HTTP/2: the stream is the body; only the response headers have a deadline. */
  private h2Send(h2: H2Transport, o: RequestOptions): Promise<StreamResponse> {
    const path = this.requestPath(o.path, o.query);
    return this.h2Call<StreamResponse>(h2, o, false, () => this.h1Send(o), (session, call) => {
      const s = h2.request(session, this.h2Headers(o, path, undefined), true, true);
      let streamErr: Error | undefined;
      // The error listener stays: an error before the caller reads the body is kept by the stream and thrown from
      // its iterator, not raised as an uncaught 'error'.
      s.on('error', (err: Error) => { streamErr = err; });
      const onClose = () => call.closed(s, streamErr, true);
      s.on('close', onClose);
      s.once('response', (h) => {
        s.off('close', onClose);
        call.settle({ statusCode: Number(h[':status']), body: s, abort: () => { if (!s.closed) s.close(http2Cancel); } });
      });
      return s;
    });
  }

  /**
   * One HTTP/2 call: the deadline and abort signal of `o`, an in-flight slot when `counted`, a session (connecting
   * when needed; `fallback` when the server speaks HTTP/1.1 only), and `open` to start the stream on it. A stream
   * the server refused without running it (GOAWAY, REFUSED_STREAM), or a session that stopped taking streams, is
   * tried once more on a new session.
   */
  private h2Call<T>(
    h2: H2Transport,
    o: RequestOptions,
    counted: boolean,
    fallback: () => Promise<T>,
    open: (session: ClientHttp2Session, call: H2Attempt<T>) => ClientHttp2Stream,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let slot = false;
      let stream: ClientHttp2Stream | undefined;
      let timer: NodeJS.Timeout | undefined;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        if (timer) clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        if (slot) {
          slot = false;
          h2.release();
        }
        return true;
      };
      const fail = (err: unknown) => {
        if (!finish()) return;
        if (stream && !stream.closed) stream.close(http2Cancel);
        reject(o.signal?.aborted ? abortError() : err);
      };
      const onAbort = () => fail(abortError());
      const timeoutMs = o.timeoutMs ?? this.timeoutMs;
      if (timeoutMs > 0) timer = setTimeout(() => fail(new RequestTimeoutError(o.method, o.path, timeoutMs)), timeoutMs);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const start = (session: ClientHttp2Session, retried: boolean) => {
        if (done) return;
        const call: H2Attempt<T> = {
          settle: (x) => {
            if (finish()) resolve(x);
          },
          closed: (s, err, mayRetry) => {
            if (done) return;
            if (!retried && mayRetry && isRefusedStream(s)) attempt(true);
            else fail(streamResetError(o.method, o.path, s, err));
          },
        };
        try {
          stream = open(session, call);
        } catch (err) {
          // The session stopped taking streams (GOAWAY) between our check and now: once more on a new one.
          if (!retried) attempt(true);
          else fail(err);
        }
      };
      const attempt = (retried: boolean) => {
        const session = h2.current();
        if (session) {
          start(session, retried);
          return;
        }
        h2.connect().then((session) => {
          if (done) return;
          if (session) {
            start(session, retried);
            return;
          }
          // The server speaks HTTP/1.1 only: this request (and all later ones) take that path.
          if (!finish()) return;
          fallback().then(resolve, reject);
        }, fail);
      };
      if (!counted) {
        attempt(false);
        return;
      }
      h2.acquire(() => {
        if (done) return false; // ended (deadline, abort) while waiting: the slot passes on
        slot = true;
        attempt(false);
        return true;
      });
    });
  }
}

/** What {@link RestClient.h2Call}'s `open` reports back for one attempt. */
interface H2Attempt<T> {
  /** The answer (ignored when the call already ended: deadline, abort). */
  settle(x: T): void;
  /** The stream closed before `settle`: retried when `mayRetry` and the server refused it unrun, else an error. */
  closed(stream: ClientHttp2Stream, err: Error | undefined, mayRetry: boolean): void;
}

/** A finished non-streaming exchange. */
interface Exchange {
  statusCode: number;
  /** The first `Content-Type` of the answer, `''` without one. */
  contentType: string;
  /** `Retry-After` in whole seconds, when the answer has a valid one. */
  retryAfter: number | undefined;
  text: string;
}

/**
 * Collects one undici exchange. It uses undici's own callback interface (onConnect/onHeaders/onData/onComplete/
 * onError, what its HTTP/1.1 client calls directly): the newer controller interface is adapted onto it per request
 * and parses every header into an object, which we do not need. It is also the signal's `abort` listener.
 */
class ExchangeHandler implements Dispatcher.DispatchHandler {
  timer?: NodeJS.Timeout;
  private statusCode = 0;
  private contentType = '';
  private retryAfter: number | undefined;
  private first?: Buffer;
  private more?: Buffer[];
  private done = false;
  private failure?: Error;
  private abortRequest?: (err?: Error) => void;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (x: Exchange) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** Ends the exchange with `err` (deadline, abort): settles now, and stops the request wherever it is. */
  cancel(err: Error): void {
    this.failure ??= err;
    this.abortRequest?.(this.failure);
    this.fail(this.failure);
  }

  handleEvent(): void {
    this.cancel(abortError());
  }

  onConnect(abort: (err?: Error) => void): void {
    // Called when the request gets a connection; one cancelled while it queued is dropped here.
    if (this.failure) abort(this.failure);
    else this.abortRequest = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[] | string[]): boolean {
    if (statusCode < 200) return true;
    this.statusCode = statusCode;
    let ct: string | undefined;
    let ra: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      // Length first: only two header names matter, and most names have other lengths.
      if (k.length === 12 && ct === undefined && lower(k) === 'content-type') ct = String(raw[i + 1]);
      else if (k.length === 11 && ra === undefined && lower(k) === 'retry-after') ra = String(raw[i + 1]);
    }
    this.contentType = ct ?? '';
    this.retryAfter = ra !== undefined && /^\s*\d+\s*$/.test(ra) ? Number(ra.trim()) : undefined;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.first) this.first = chunk;
    else (this.more ??= [this.first]).push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.done) return;
    this.finish();
    const text = this.more ? Buffer.concat(this.more).toString('utf8') : this.first ? this.first.toString('utf8') : '';
    this.resolve({ statusCode: this.statusCode, contentType: this.contentType, retryAfter: this.retryAfter, text });
  }

  onError(err: Error): void {
    this.fail(err);
  }

  private fail(err: unknown): void {
    if (this.done) return;
    this.finish();
    this.reject(this.failure ?? (this.signal?.aborted ? abortError() : err));
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this);
  }
}

function lower(k: Buffer | string): string {
  return (typeof k === 'string' ? k : k.toString('latin1')).toLowerCase();
}

const http2Cancel = 8; // NGHTTP2_CANCEL

function abortError(): Error {
  const e = new Error('request aborted');
  e.name = 'AbortError';
  return e;
}

async function readBody(res: Readable, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  // Plain listeners, not `for await`: an async iterator per response costs more than the small bodies it reads.
  return new Promise<string>((resolve, reject) => {
    let done = false;
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      reject(signal?.aborted ? abortError() : err);
    };
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', fail);
    res.on('close', () => {
      if (!done) fail(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}

function decode(ct: string, text: string): unknown {
  if (text === '') return undefined;
  if (ct.includes('json') || (!ct && /^\s*[{[]/.test(text))) return JSON.parse(text);
  return text;
}

/**
 * Turns an error answer into an {@link ApiError}: the server's `Status` when the body is one (code, reason,
 * message, details kept verbatim), else a synthetic error with client-go's reason for the code and the body text.
 */
export function toApiError(statusCode: number, text: string): ApiError {
  let parsed: Partial<Status> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<Status>;
  } catch {
    parsed = undefined;
  }
  if (parsed && parsed.kind === 'Status') {
    return new ApiError(parsed.code || statusCode, parsed.reason || REASONS[statusCode] || 'Unknown', parsed.message ?? '', parsed.details);
  }
  const body = text.length > 512 ? text.slice(0, 512) + '…' : text;
  return new ApiError(statusCode, REASONS[statusCode] ?? 'Unknown', body || `the server responded with status ${statusCode}`);
}

/** True for 404 answers (client-go `apierrors.IsNotFound`). */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.code === 404;
}

/**
 * True for the 403 the NamespaceLifecycle admission plugin answers when creating in a namespace being deleted
 * (client-go `apierrors.HasStatusCause(err, NamespaceTerminatingCause)`).
 */
export function isNamespaceTerminating(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.code !== 403) return false;
  const causes = (err.details as { causes?: Array<{ type?: string; reason?: string }> } | undefined)?.causes ?? [];
  return causes.some((c) => c.type === 'NamespaceTerminating' || c.reason === 'NamespaceTerminating') || /being terminated/.test(err.message);
}

/** True for 409 AlreadyExists answers (client-go `apierrors.IsAlreadyExists`). */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === 'AlreadyExists';
}

/** True for 409 Conflict answers — a stale resourceVersion (client-go `apierrors.IsConflict`). */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason !== 'AlreadyExists';
}

/** True for 410 answers: the resourceVersion was compacted (client-go `apierrors.IsResourceExpired`/`IsGone`). */
export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.code === 410;
}
