/**
 * Client ends of the streaming protocols, as kubectl drives them (client-go `remotecommand` and `portforward`):
 * used by the streaming server's tests and by end-to-end checks that run without kubectl. Not used by the agent.
 */
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketConnection } from './websocket.js';
import { Channel, channelMessage } from './channel.js';
import { SpdySession, type SpdyStream } from './spdy.js';

/** Sends an upgrade request; resolves with the switched socket, or rejects with the status and body. */
export function upgrade(url: string, method: string, headers: Record<string, string | string[]>): Promise<{ socket: Duplex; head: Buffer; headers: http.IncomingHttpHeaders }> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({ method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers: { Connection: 'Upgrade', ...headers }, rejectUnauthorized: false, agent: false });
    req.on('upgrade', (res, socket, head) => resolve({ socket, head, headers: res.headers }));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a client WebSocket with `protocols`. */
export async function connectWebSocket(url: string, protocols: string[]): Promise<{ ws: WebSocketConnection; protocol: string | undefined }> {
  const { socket, head, headers } = await upgrade(url, 'GET', {
    Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': protocols.join(', '),
  });
  const ws = new WebSocketConnection(socket, 'client');
  if (head.length) ws.feed(head);
  return { ws, protocol: headers['sec-websocket-protocol'] as string | undefined };
}

/** The outcome of a remote command as a client sees it. */
export interface ExecOutcome {
  stdout: string;
  stderr: string;
  /** The raw error-channel payload (a metav1.Status JSON for v4+). */
  status: string;
}

/** Runs exec/attach over WebSocket `v5.channel.k8s.io`, sending `stdin` then closing it. */
export async function execWebSocket(url: string, stdin?: string, protocol = 'v5.channel.k8s.io'): Promise<ExecOutcome> {
  const { ws } = await connectWebSocket(url, [protocol]);
  const out: ExecOutcome = { stdout: '', stderr: '', status: '' };
  ws.on('message', (m: Buffer) => {
    if (m[0] === Channel.STDOUT) out.stdout += m.subarray(1).toString();
    else if (m[0] === Channel.STDERR) out.stderr += m.subarray(1).toString();
    else if (m[0] === Channel.ERROR) out.status += m.subarray(1).toString();
  });
  if (stdin !== undefined) {
    ws.send(channelMessage(Channel.STDIN, stdin));
    ws.send(Buffer.from([Channel.CLOSE, Channel.STDIN]));
  }
  await new Promise((r) => ws.once('close', r));
  return out;
}

/** Starts a client SPDY session on an upgraded socket. */
export function spdyClient(socket: Duplex, head: Buffer): SpdySession {
  const s = new SpdySession(socket, 'client');
  s.on('error', (e) => { if (process.env.SPDY_DEBUG) console.error('client spdy error', e); });
  socket.on('data', (d: Buffer) => s.receive(d));
  socket.on('close', () => s.transportClosed());
  socket.on('error', () => socket.destroy());
  if (head.length) s.receive(head);
  return s;
}

function collect(s: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    let t = '';
    s.on('data', (d: Buffer) => { t += d; });
    s.on('end', () => resolve(t));
    s.on('close', () => resolve(t));
  });
}

/** Runs exec over SPDY/3.1 with protocol v4, as kubectl ≤ 1.29 does. */
export async function execSpdy(url: string, stdin?: string): Promise<ExecOutcome> {
  const { socket, head } = await upgrade(url, 'POST', { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': ['v4.channel.k8s.io', 'v3.channel.k8s.io'] });
  const s = spdyClient(socket, head);
  const error = s.openStream({ streamtype: 'error' });
  error.end();
  const q = new URL(url).searchParams;
  const stdout = q.get('stdout') === 'true' ? s.openStream({ streamtype: 'stdout' }) : undefined;
  if (stdout) stdout.end();
  const stderr = q.get('stderr') === 'true' ? s.openStream({ streamtype: 'stderr' }) : undefined;
  if (stderr) stderr.end();
  if (q.get('stdin') === 'true') {
    const si = s.openStream({ streamtype: 'stdin' });
    si.end(stdin ?? '');
  }
  const [o, e, st] = await Promise.all([stdout ? collect(stdout) : '', stderr ? collect(stderr) : '', collect(error)]);
  socket.destroy();
  return { stdout: o, stderr: e, status: st };
}

/** Opens one port-forward connection (a data + error stream pair) on a session. */
export function forwardStreams(s: SpdySession, port: number, requestId: number): { data: SpdyStream; error: SpdyStream } {
  const error = s.openStream({ streamtype: 'error', port: String(port), requestid: String(requestId) });
  error.end();
  const data = s.openStream({ streamtype: 'data', port: String(port), requestid: String(requestId) });
  return { data, error };
}

/** A port-forward SPDY session over a WebSocket (`SPDY/3.1+portforward.k8s.io`). */
export async function portForwardWebSocket(url: string): Promise<SpdySession> {
  const { ws } = await connectWebSocket(url, ['SPDY/3.1+portforward.k8s.io']);
  const s = new SpdySession({ write: (b: Buffer) => ws.send(b), end: () => ws.close(), destroy: () => ws.terminate() }, 'client');
  s.on('error', () => undefined);
  ws.on('message', (m: Buffer) => s.receive(m));
  ws.on('close', () => s.transportClosed());
  return s;
}

/** A port-forward session over plain SPDY/3.1. */
export async function portForwardSpdy(url: string): Promise<SpdySession> {
  const { socket, head } = await upgrade(url, 'POST', { Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' });
  return spdyClient(socket, head);
}
