/**
 * Serving `port-forward` (kubelet `pkg/kubelet/cri/streaming/portforward`): the client opens, per local connection, a
 * pair of SPDY streams with headers `streamtype=error|data`, `port=N`, `requestid=K`; once both of a pair arrived the
 * server dials the port in the pod's network namespace and copies bytes both ways on the data stream, writing any
 * failure as text on the error stream. The SPDY session runs over raw TCP (`Upgrade: SPDY/3.1`) or over a WebSocket
 * whose binary messages carry the SPDY bytes (`SPDY/3.1+portforward.k8s.io`), exactly as kubectl 1.31+ tunnels it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession, type SpdyStream } from './spdy.js';
import { acceptSpdy } from './remote-command.js';
import { acceptWebSocket } from './websocket.js';
import { PORT_FORWARD_PROTOCOL, PORT_FORWARD_WS_PROTOCOL } from './channel.js';

/** Dials `port` in the pod's network namespace. */
export type PortDialer = (port: number) => Promise<Duplex>;

/** How long the second stream of a pair may lag the first (upstream: the stream creation timeout). */
const PAIR_TIMEOUT_MS = 30_000;

/** Serves port-forward streams on an established SPDY session. */
export function servePortForwardSession(spdy: SpdySession, dial: PortDialer): void {
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  spdy.on('stream', (s: SpdyStream) => {
    void s.reply({});
    const type = s.headers['streamtype'];
    const id = s.headers['requestid'] ?? '';
    const port = Number(s.headers['port']);
    if ((type !== 'data' && type !== 'error') || !Number.isInteger(port) || port <= 0 || port > 65535) {
      s.reset();
      return;
    }
    let pair = pairs.get(id);
    if (!pair) {
      pair = {
        timer: setTimeout(() => {
          const p = pairs.get(id);
          pairs.delete(id);
          if (p?.error) { p.error.end(`timeout waiting for the data stream of request ${id}`); }
          p?.data?.reset();
        }, PAIR_TIMEOUT_MS),
      };
      pairs.set(id, pair);
    }
    if (pair[type]) { s.reset(); return; }
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      forward(pair.data, pair.error, port, dial);
    }
  });
  spdy.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
}

function forward(data: SpdyStream, error: SpdyStream, port: number, dial: PortDialer): void {
  error.resume(); // the client never writes on it; consume its FIN
  dial(port).then(
    (conn) => {
      conn.on('error', (e: Error) => {
        if (!error.writableEnded) error.end(`error forwarding port ${port}: ${e.message}`);
        data.end();
      });
      data.pipe(conn);
      conn.pipe(data);
      conn.on('close', () => { if (!error.writableEnded) error.end(); });
      data.on('close', () => conn.destroy());
    },
    (e: Error) => {
      error.end(`error forwarding port ${port} to pod: ${e.message}`);
      data.end();
    },
  );
}

/** Answers a plain `Upgrade: SPDY/3.1` port-forward request. */
export function servePortForwardSpdy(socket: Duplex, head: Buffer, dial: PortDialer): void {
  servePortForwardSession(acceptSpdy(socket, head, PORT_FORWARD_PROTOCOL), dial);
}

/** Answers a WebSocket port-forward request: SPDY frames travel as binary messages. */
export function servePortForwardWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, dial: PortDialer): void {
  const ws = acceptWebSocket(req, socket, head, PORT_FORWARD_WS_PROTOCOL);
  const spdy = new SpdySession({
    write: (b: Buffer) => ws.send(b),
    end: () => ws.close(1000),
    destroy: () => ws.terminate(),
  }, 'server');
  spdy.on('error', () => undefined);
  ws.on('message', (m: Buffer) => spdy.receive(m));
  ws.on('close', () => spdy.transportClosed());
  servePortForwardSession(spdy, dial);
}
