/**
 * The kubelet's streaming API (upstream `pkg/kubelet/server` + the CRI streaming server, folded together): an HTTPS
 * server on the node's kubelet port that the apiserver proxies `pods/log`, `pods/exec`, `pods/attach` and
 * `pods/portforward` to. Endpoints, as the real kubelet's:
 * - `GET /containerLogs/{ns}/{pod}/{container}?follow&tailLines&sinceSeconds&sinceTime&timestamps&previous&limitBytes`
 * - `/exec/{ns}/{pod}[/{uid}]/{container}?command=…&stdin&stdout&stderr&tty` (WebSocket v5…v1 or SPDY/3.1)
 * - `/attach/{ns}/{pod}[/{uid}]/{container}?stdin&stdout&stderr&tty`
 * - `/portForward/{ns}/{pod}[/{uid}]` (WebSocket-tunnelled SPDY or plain SPDY/3.1)
 * - `GET /metrics/resource`, `GET /stats/summary` (usage for metrics.k8s.io; resource-metrics.ts)
 * Pods and containers are resolved to runtime ids through a {@link StreamingBackend}, so the server runs against
 * any RuntimeService (the pod workers' state in the agent, a hand-made sandbox in tests).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RuntimeService, StreamOptions } from '../runtime/types.js';
import { isWebSocketRequest, offeredProtocols } from './websocket.js';
import { PORT_FORWARD_PROTOCOL, PORT_FORWARD_WS_PROTOCOL, pickProtocol } from './channel.js';
import {
  chooseWebSocketProtocol,
  serveRemoteCommandSpdy,
  serveRemoteCommandWebSocket,
  SPDY_REMOTE_COMMAND_PROTOCOLS,
  streamOptionsFromQuery,
  streamProtocolVersions,
  type SessionStarter,
} from './remote-command.js';
import { servePortForwardSpdy, servePortForwardWebSocket } from './port-forward.js';
import { logOptionsFromQuery, streamLog } from './logs.js';
import { resourceMetricsHandler, type ResourceStatsProvider } from './resource-metrics.js';
import { runtimeStatsProvider, type StatsRuntime } from '../resource-stats.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * How the streaming server finds a pod's runtime objects. Undefined means "not there": the server answers 404 (or,
 * for logs of a container that never started, 400 with upstream's wording).
 */
export interface StreamingBackend {
  /** Runtime id of the container's current instance. */
  containerId(namespace: string, pod: string, container: string): MaybePromise<string | undefined>;
  /** Runtime id of the pod's sandbox (port-forward dials inside its network namespace). */
  sandboxId(namespace: string, pod: string): MaybePromise<string | undefined>;
  /** Absolute CRI log file of the current (or, with `previous`, the last terminated) instance. */
  logPath(namespace: string, pod: string, container: string, previous: boolean): MaybePromise<string | undefined>;
  /** Whether the container still runs (follow ends once it does not); defaults to asking the runtime. */
  isRunning?(namespace: string, pod: string, container: string): MaybePromise<boolean>;
}

/** Options of {@link startStreamingServer}. */
export interface StreamingServerOptions {
  runtime: Pick<RuntimeService, 'exec' | 'attach' | 'portForward' | 'containerStatus'>;
  backend: StreamingBackend;
  /**
   * Serving certificate and key. `clientCa` makes the server require a client certificate signed by it (the
   * apiserver's kubelet client certificate, as `--client-ca-file` does upstream). Without `tls`, plain HTTP (tests).
   */
  tls?: { cert: string; key: string; clientCa?: string };
  host?: string;
  /** 0 = any free port (default 10250, the kubelet port). */
  port?: number;
  /**
   * Usage behind `/metrics/resource` and `/stats/summary` (resource-metrics.ts). Default: read from `runtime` when it
   * has `listContainerStats`/`listContainers`; false: those endpoints answer 404.
   */
  stats?: ResourceStatsProvider | false;
  /** Node name reported by `/stats/summary` with the default provider. */
  nodeName?: string;
}

/** A listening streaming server. */
export interface StreamingServer {
  port: number;
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Parses `/{verb}/{ns}/{pod}[/{uid}]/{container}` (container absent for portForward). */
function parsePath(path: string): { verb: string; ns: string; pod: string; container?: string } | undefined {
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  const [verb, ns, pod] = parts;
  if (!verb || !ns || !pod) return undefined;
  if (verb === 'portForward') return parts.length <= 4 ? { verb, ns, pod } : undefined;
  if (parts.length !== 4 && parts.length !== 5) return undefined;
  return { verb, ns, pod, container: parts[parts.length - 1] };
}

function rawReply(socket: Duplex, code: number, text: string, message: string): void {
  const body = Buffer.from(message + '\n');
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

function reply(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(message + '\n');
}

/** Starts the streaming server. */
export async function startStreamingServer(o: StreamingServerOptions): Promise<StreamingServer> {
  const { backend, runtime } = o;
  const isRunning = async (ns: string, pod: string, container: string): Promise<boolean> => {
    if (backend.isRunning) return backend.isRunning(ns, pod, container);
    const id = await backend.containerId(ns, pod, container);
    if (!id) return false;
    try {
      return (await runtime.containerStatus(id)).state === 'CONTAINER_RUNNING';
    } catch {
      return false;
    }
  };

  const statsRuntime = o.runtime as Partial<StatsRuntime>;
  const stats = o.stats === false ? undefined
    : o.stats ?? (statsRuntime.listContainerStats && statsRuntime.listContainers ? runtimeStatsProvider(statsRuntime as StatsRuntime, { nodeName: o.nodeName }) : undefined);
  const resourceMetrics = stats ? resourceMetricsHandler(stats) : undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://kubelet');
      if (resourceMetrics && (await resourceMetrics(req.method ?? 'GET', url.pathname, res))) return;
      const p = parsePath(url.pathname);
      if (p?.verb === 'containerLogs' && p.container && req.method === 'GET') {
        let opts;
        try {
          opts = logOptionsFromQuery(url.searchParams);
        } catch (e) {
          return reply(res, 400, (e as Error).message);
        }
        const previous = url.searchParams.get('previous') === 'true';
        const container = p.container;
        const path = await backend.logPath(p.ns, p.pod, p.container, previous);
        if (!path) {
          return reply(res, previous ? 400 : 404, previous
            ? `previous terminated container "${p.container}" in pod "${p.pod}" not found`
            : `container "${p.container}" in pod "${p.pod}" is not available`);
        }
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
        res.flushHeaders();
        const ac = new AbortController();
        res.on('close', () => ac.abort());
        await streamLog(path, opts, res, () => (previous ? Promise.resolve(false) : isRunning(p.ns, p.pod, container)), ac.signal);
        res.end();
        return;
      }
      if (p && ['exec', 'attach', 'portForward'].includes(p.verb)) return reply(res, 400, 'Upgrade request required');
      reply(res, 404, '404 page not found');
    })().catch((e: Error) => {
      if (res.headersSent) res.destroy();
      else reply(res, 500, e.message);
    });
  };

  // Upgraded connections leave the HTTP server's bookkeeping: track them so close() ends them too.
  const upgraded = new Set<Duplex>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://kubelet');
      const p = parsePath(url.pathname);
      if (!p) return rawReply(socket, 404, 'Not Found', '404 page not found');
      const ws = isWebSocketRequest(req);
      const spdy = (req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1';
      if (!ws && !spdy) return rawReply(socket, 400, 'Bad Request', `unsupported upgrade ${JSON.stringify(req.headers.upgrade ?? '')}`);

      if (p.verb === 'portForward') {
        const sandbox = await backend.sandboxId(p.ns, p.pod);
        if (!sandbox) return rawReply(socket, 404, 'Not Found', `pod "${p.pod}" not found on this node`);
        const dial = (port: number) => runtime.portForward(sandbox, port);
        if (ws) {
          if (!offeredProtocols(req).includes(PORT_FORWARD_WS_PROTOCOL)) return rawReply(socket, 400, 'Bad Request', `unsupported subprotocol; expected ${PORT_FORWARD_WS_PROTOCOL}`);
          return servePortForwardWebSocket(req, socket, head, dial);
        }
        if (!streamProtocolVersions(req).includes(PORT_FORWARD_PROTOCOL)) return rawReply(socket, 403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(streamProtocolVersions(req))}, server supports ["${PORT_FORWARD_PROTOCOL}"]`);
        return servePortForwardSpdy(socket, head, dial);
      }

      if ((p.verb !== 'exec' && p.verb !== 'attach') || !p.container) return rawReply(socket, 404, 'Not Found', '404 page not found');
      const opts: StreamOptions = streamOptionsFromQuery(url.searchParams);
      const command = url.searchParams.getAll('command');
      if (p.verb === 'exec' && !command.length) return rawReply(socket, 400, 'Bad Request', 'you must specify at least 1 command');
      if (!opts.stdin && !opts.stdout && !opts.stderr) return rawReply(socket, 400, 'Bad Request', 'you must specify at least 1 of stdin, stdout, stderr');
      const id = await backend.containerId(p.ns, p.pod, p.container);
      if (!id) return rawReply(socket, 404, 'Not Found', `container "${p.container}" in pod "${p.pod}" not found`);
      const start: SessionStarter = (so) => (p.verb === 'exec' ? runtime.exec(id, command, so) : runtime.attach(id, so));
      if (ws) {
        const protocol = chooseWebSocketProtocol(req);
        if (!protocol) return rawReply(socket, 400, 'Bad Request', 'unable to upgrade: no supported WebSocket subprotocol offered');
        return serveRemoteCommandWebSocket(req, socket, head, protocol, opts, start, p.verb === 'exec' ? command : undefined);
      }
      const protocol = pickProtocol(streamProtocolVersions(req), SPDY_REMOTE_COMMAND_PROTOCOLS);
      if (!protocol) return rawReply(socket, 403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(streamProtocolVersions(req))}, server supports ${JSON.stringify(SPDY_REMOTE_COMMAND_PROTOCOLS)}`);
      return serveRemoteCommandSpdy(socket, head, protocol, opts, start, p.verb === 'exec' ? command : undefined);
    })().catch((e: Error) => {
      if (socket.writable) rawReply(socket, 500, 'Internal Server Error', e.message);
      else socket.destroy();
    });
  };

  const server: http.Server = o.tls
    ? https.createServer({ cert: o.tls.cert, key: o.tls.key, ca: o.tls.clientCa ? [o.tls.clientCa] : undefined, requestCert: !!o.tls.clientCa, rejectUnauthorized: !!o.tls.clientCa }, onRequest)
    : http.createServer(onRequest);
  server.on('upgrade', onUpgrade);
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 10250, o.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host ?? '127.0.0.1';
  return {
    port,
    url: `${o.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of upgraded) s.destroy();
    }),
  };
}
