/**
 * Serving `exec` and `attach` (kubelet `pkg/kubelet/cri/streaming/remotecommand`): the container runtime gives a
 * StreamSession (stdio streams, resize, exit code) and this file pumps it over either transport kubectl uses:
 * - WebSocket `v5.channel.k8s.io` / v4 … (kubectl 1.30+): one-byte channel prefix per binary message, resize on
 *   channel 4, the final status on channel 3, `[255, 0]` closes stdin (v5);
 * - SPDY/3.1 (kubectl ≤ 1.29 and the fallback): one stream per `streamtype` header (error, stdin, stdout, stderr,
 *   resize), the status written on the error stream.
 * Both end the same way as upstream: all output flushed, then the status, then the connection closes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { StreamOptions, StreamSession } from '../runtime/types.js';
import { acceptWebSocket, offeredProtocols, type WebSocketConnection } from './websocket.js';
import {
  Channel,
  channelMessage,
  parseChannelMessage,
  parseResize,
  pickProtocol,
  protocolVersion,
  REMOTE_COMMAND_PROTOCOLS,
  statusPayload,
  type RemoteCommandProtocol,
  type RemoteCommandResult,
} from './channel.js';
import { SpdySession, type SpdyStream } from './spdy.js';

/** Starts the exec'd process or the attach; a rejection is reported to the client as a Failure status. */
export type SessionStarter = (opts: StreamOptions) => Promise<StreamSession>;

/** How long the client may take to open the SPDY streams it announced (upstream: 30 s stream creation timeout). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Which streams the client asked for, from the query (`stdin=true&stdout=true&stderr=true&tty=true`). */
export function streamOptionsFromQuery(q: URLSearchParams): StreamOptions {
  const on = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  const tty = on('tty');
  return { stdin: on('stdin'), stdout: on('stdout'), stderr: on('stderr') && !tty, tty };
}

/** Resolves once a readable has ended (or immediately for null). */
function ended(r: Readable | null): Promise<void> {
  if (!r || r.readableEnded || r.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    r.once('end', resolve);
    r.once('close', resolve);
    r.once('error', () => resolve());
  });
}

/** Waits for the process to exit and its output to drain, and turns that into the result. */
async function outcome(session: StreamSession, command: string[] | undefined): Promise<RemoteCommandResult> {
  try {
    const exitCode = await session.exit;
    await Promise.race([Promise.all([ended(session.stdout), ended(session.stderr)]), new Promise((r) => setTimeout(r, 2000))]);
    return { exitCode, command };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Chooses the WebSocket subprotocol; undefined when the client offered none we speak. */
export function chooseWebSocketProtocol(req: IncomingMessage): RemoteCommandProtocol | undefined {
  return pickProtocol(offeredProtocols(req), REMOTE_COMMAND_PROTOCOLS);
}

/** Serves exec/attach over a WebSocket upgrade. The caller checked that a protocol could be chosen. */
export function serveRemoteCommandWebSocket(
  req: IncomingMessage, socket: Duplex, head: Buffer, protocol: RemoteCommandProtocol,
  opts: StreamOptions, start: SessionStarter, command?: string[],
): void {
  const ws = acceptWebSocket(req, socket, head, protocol);
  const version = protocolVersion(protocol);
  let session: StreamSession | undefined;
  const pendingStdin: Buffer[] = [];
  let stdinClosed = false;
  const finish = (result: RemoteCommandResult) => {
    if (!ws.isOpen) return;
    const payload = statusPayload(result, version);
    if (payload.length || version < 4) ws.send(channelMessage(Channel.ERROR, payload));
    ws.close(1000);
  };
  ws.on('message', (msg: Buffer) => {
    const m = parseChannelMessage(msg);
    if (!m) return;
    if (m.channel === Channel.STDIN) {
      if (session?.stdin) session.stdin.write(m.data);
      else if (!session) pendingStdin.push(m.data);
    } else if (m.channel === Channel.RESIZE) {
      const r = parseResize(m.data);
      if (r) session?.resize(r.width, r.height);
    } else if (m.channel === Channel.CLOSE && m.data[0] === Channel.STDIN) {
      stdinClosed = true;
      session?.stdin?.end();
    }
  });
  ws.on('close', () => session?.close());
  start(opts).then(
    (s) => {
      session = s;
      if (!ws.isOpen) { s.close(); return; }
      s.stdin?.on('error', () => undefined);
      for (const b of pendingStdin.splice(0)) s.stdin?.write(b);
      if (stdinClosed) s.stdin?.end();
      pump(ws, s.stdout, Channel.STDOUT);
      pump(ws, s.stderr, Channel.STDERR);
      void outcome(s, command).then(finish);
    },
    (e: Error) => finish({ error: e.message }),
  );
}

function pump(ws: WebSocketConnection, r: Readable | null, channel: number): void {
  if (!r) return;
  r.on('data', (d: Buffer) => {
    if (!ws.send(channelMessage(channel, d))) {
      // Backpressure: stop reading the process until the socket drained.
      r.pause();
      ws.socket.once('drain', () => r.resume());
    }
  });
  r.on('error', () => undefined);
}

/** The SPDY exec protocol versions we answer to (`X-Stream-Protocol-Version`), most preferred first. */
export const SPDY_REMOTE_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;

/** The `X-Stream-Protocol-Version` values of a request (repeated headers and comma lists both allowed). */
export function streamProtocolVersions(req: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'x-stream-protocol-version') out.push(...req.rawHeaders[i + 1]!.split(',').map((s) => s.trim()).filter(Boolean));
  }
  return out;
}

/** Completes an `Upgrade: SPDY/3.1` handshake with `protocol` and returns the server-side session. */
export function acceptSpdy(socket: Duplex, head: Buffer, protocol: string): SpdySession {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  const session = new SpdySession(socket, 'server');
  session.on('error', (e) => { if (process.env.SPDY_DEBUG) console.error('server spdy error', e); });
  socket.on('data', (d: Buffer) => session.receive(d));
  socket.on('close', () => session.transportClosed());
  socket.on('error', () => socket.destroy());
  if (head.length) session.receive(head);
  return session;
}

/** Serves exec/attach over SPDY/3.1. */
export function serveRemoteCommandSpdy(
  socket: Duplex, head: Buffer, protocol: string, opts: StreamOptions, start: SessionStarter, command?: string[],
): void {
  const version = protocolVersion(protocol as RemoteCommandProtocol);
  const spdy = acceptSpdy(socket, head, protocol);
  const want = new Set<string>(['error']);
  if (opts.stdin) want.add('stdin');
  if (opts.stdout) want.add('stdout');
  if (opts.stderr) want.add('stderr');
  if (opts.tty && version >= 3) want.add('resize');
  const streams = new Map<string, SpdyStream>();
  const timer = setTimeout(() => { void spdy.goAway(); }, STREAM_CREATION_TIMEOUT_MS);
  spdy.on('stream', (s: SpdyStream) => {
    const type = s.headers['streamtype'] ?? '';
    void s.reply({});
    if (!want.has(type) || streams.has(type)) {
      s.reset();
      return;
    }
    streams.set(type, s);
    if (streams.size === want.size) {
      clearTimeout(timer);
      run();
    }
  });
  spdy.on('close', () => clearTimeout(timer));
  let session: StreamSession | undefined;
  spdy.on('close', () => session?.close());

  const run = () => {
    const errorStream = streams.get('error')!;
    const finish = async (result: RemoteCommandResult) => {
      const payload = statusPayload(result, version);
      if (payload.length) errorStream.write(payload);
      errorStream.end();
      for (const s of streams.values()) if (!s.writableEnded) s.end();
      await spdy.goAway();
    };
    start(opts).then(
      (s) => {
        session = s;
        const stdin = streams.get('stdin');
        if (stdin && s.stdin) {
          s.stdin.on('error', () => undefined);
          stdin.pipe(s.stdin);
        } else stdin?.resume();
        const resize = streams.get('resize');
        if (resize) {
          // Newline-separated JSON objects, as Go's json.Encoder writes them.
          let buf = '';
          resize.on('data', (d: Buffer) => {
            buf += d.toString();
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const r = parseResize(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
              if (r) s.resize(r.width, r.height);
            }
            const r = buf.trim() ? parseResize(buf) : undefined;
            if (r) { buf = ''; s.resize(r.width, r.height); }
          });
        }
        for (const [name, r] of [['stdout', s.stdout], ['stderr', s.stderr]] as const) {
          const out = streams.get(name);
          if (out && r) r.pipe(out, { end: false });
          r?.on('error', () => undefined);
        }
        void outcome(s, command).then(finish);
      },
      (e: Error) => { void finish({ error: e.message }); },
    );
  };
}
