/**
 * The HTTP forwarding half of the Ingress controller: one request to one of several endpoints, bodies streamed
 * both ways over a keep-alive agent, with the headers ingress-nginx sets (`X-Forwarded-For/-Host/-Port/-Proto`,
 * `X-Real-IP`; the client's `Host` is kept). Like nginx's `proxy_next_upstream error timeout` with 3 tries, a
 * connection failure before any response byte moves on to the next endpoint — as long as no request body byte has
 * been sent yet, so a request is never replayed half-way — and a 502 follows when every try failed. WebSocket (and
 * any `Upgrade`) requests are passed through as raw byte streams after the backend's 101.
 */

import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../client/log.js';
import type { Target } from './endpoints.js';

/** Tries per request, as ingress-nginx's `proxy-next-upstream-tries` default. */
export const MAX_ATTEMPTS = 3;

/** Headers that describe one hop, not the message (RFC 9110 §7.6.1), never forwarded. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

/** Settings shared by every forwarded request. */
export interface ForwardOptions {
  agent: http.Agent;
  /** The scheme the client used, for `X-Forwarded-Proto`. */
  proto: 'http' | 'https';
  /** The port the client connected to, for `X-Forwarded-Port`. */
  port: number;
  /** Give up connecting to one endpoint after this long (ingress-nginx `proxy-connect-timeout`: 5 s). */
  connectTimeoutMs: number;
  log: Logger;
}

/** A small plain-text error answer, like nginx's built-in error pages. */
export function sendError(res: ServerResponse, status: number, detail?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${status} ${http.STATUS_CODES[status] ?? ''}\n${detail ? detail + '\n' : ''}`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The same answer written straight to a socket, for upgrade requests (which have no ServerResponse). */
export function sendRawError(socket: Duplex, status: number, detail?: string): void {
  const body = `${status} ${http.STATUS_CODES[status] ?? ''}\n${detail ? detail + '\n' : ''}`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function stripHopByHop(headers: IncomingHttpHeaders, keepUpgrade: boolean): Record<string, string | string[]> {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || (listed.has(k) && !(keepUpgrade && k === 'upgrade'))) continue;
    out[k] = v;
  }
  if (keepUpgrade && headers.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = headers.upgrade;
  }
  return out;
}

function requestHeaders(req: IncomingMessage, o: ForwardOptions, upgrade: boolean): Record<string, string | string[]> {
  const h = stripHopByHop(req.headers, upgrade);
  const client = req.socket.remoteAddress ?? '';
  // ingress-nginx's default (use-forwarded-headers: false) replaces, rather than trusts, what the client sent.
  h['x-forwarded-for'] = client;
  h['x-real-ip'] = client;
  h['x-forwarded-host'] = req.headers.host ?? '';
  h['x-forwarded-port'] = String(o.port);
  h['x-forwarded-proto'] = o.proto;
  return h;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Calls `onConnected` once `up` has a connected socket, or fails `up` with ETIMEDOUT after the connect timeout. */
function whenConnected(up: http.ClientRequest, timeoutMs: number, onConnected: () => void): void {
  up.once('socket', (sock) => {
    if (!sock.connecting) return onConnected();
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
      up.destroy(err);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      onConnected();
    });
    sock.once('close', () => clearTimeout(timer));
  });
}

/**
 * Proxies `req` to `targets[start]`, then (on a connection failure) `targets[start+1]`, … — at most
 * {@link MAX_ATTEMPTS} distinct endpoints. Never throws; every failure ends in an answer or a closed connection.
 */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, targets: Target[], start: number, o: ForwardOptions): void {
  const tries = Math.min(MAX_ATTEMPTS, targets.length);
  const withBody = hasBody(req);
  let attempt = 0;
  let current: http.ClientRequest | undefined;
  let clientGone = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      clientGone = true;
      current?.destroy();
    }
  });
  req.on('error', (err) => {
    clientGone = true;
    o.log.debug({ err: err.message, url: req.url }, 'ingress: client request aborted');
    current?.destroy();
  });

  const tryNext = (): void => {
    const t = targets[(start + attempt) % targets.length]!;
    attempt++;
    let bodyStarted = false;
    let responded = false;
    const up = http.request({
      host: t.host,
      port: t.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req, o, false),
      agent: o.agent,
      setHost: false,
    });
    current = up;
    whenConnected(up, o.connectTimeoutMs, () => {
      if (!withBody || clientGone) return;
      bodyStarted = true;
      req.pipe(up);
    });
    if (!withBody) up.end();
    up.on('response', (ur) => {
      responded = true;
      const headers = stripHopByHop(ur.headers, false);
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, headers);
      ur.pipe(res);
      ur.on('error', (err) => {
        o.log.debug({ err, target: `${t.host}:${t.port}` }, 'ingress: backend response aborted');
        res.destroy();
      });
    });
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (clientGone) return;
      const target = `${t.host}:${t.port}`;
      if (!responded && !bodyStarted && attempt < tries) {
        o.log.debug({ err: err.message, target, attempt }, 'ingress: endpoint failed; trying the next one');
        return tryNext();
      }
      o.log.warn({ err: err.message, target, attempts: attempt, url: req.url }, 'ingress: backend request failed');
      if (!res.headersSent) sendError(res, 502, 'no endpoint answered');
      else res.destroy();
    });
  };
  tryNext();
}

/**
 * Proxies an `Upgrade` request (WebSocket): the backend's 101 and then raw bytes both ways; a non-101 answer is
 * relayed and the connection closed. Connection failures move to the next endpoint as in {@link forwardRequest}.
 */
export function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, targets: Target[], start: number, o: ForwardOptions): void {
  const tries = Math.min(MAX_ATTEMPTS, targets.length);
  let attempt = 0;
  let done = false;
  socket.on('error', (err) => o.log.debug({ err: err.message }, 'ingress: upgrade client socket error'));
  const tryNext = (): void => {
    const t = targets[(start + attempt) % targets.length]!;
    attempt++;
    const up = http.request({
      host: t.host,
      port: t.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req, o, true),
      agent: false,
      setHost: false,
    });
    up.end();
    up.on('upgrade', (ures, usock, uhead) => {
      done = true;
      const lines = [`HTTP/1.1 ${ures.statusCode ?? 101} ${ures.statusMessage ?? 'Switching Protocols'}`];
      for (let i = 0; i < ures.rawHeaders.length; i += 2) lines.push(`${ures.rawHeaders[i]}: ${ures.rawHeaders[i + 1]}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (uhead.length) socket.write(uhead);
      if (head.length) usock.write(head);
      usock.on('error', () => socket.destroy());
      socket.on('error', () => usock.destroy());
      usock.on('close', () => socket.destroy());
      socket.on('close', () => usock.destroy());
      usock.pipe(socket);
      socket.pipe(usock);
    });
    up.on('response', (ur) => {
      done = true;
      const lines = [`HTTP/1.1 ${ur.statusCode ?? 502} ${ur.statusMessage ?? ''}`];
      for (const [k, v] of Object.entries(stripHopByHop(ur.headers, false))) {
        for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
      }
      lines.push('connection: close');
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      ur.on('error', () => socket.destroy());
      ur.pipe(socket);
    });
    up.on('error', (err) => {
      if (done) return socket.destroy();
      if (attempt < tries) return tryNext();
      o.log.warn({ err: err.message, target: `${t.host}:${t.port}`, url: req.url }, 'ingress: upgrade backend failed');
      sendRawError(socket, 502, 'no endpoint answered');
    });
  };
  tryNext();
}
