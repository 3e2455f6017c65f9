/**
 * The upgrade path of `pods/exec`, `pods/attach` and `pods/portforward`: a transparent proxy to the kubelet, like
 * kube-apiserver's `UpgradeAwareHandler`. The apiserver authenticates and checks the request (pod, container,
 * node), then replays the request line and headers to the kubelet and splices the two sockets — the WebSocket and
 * SPDY protocols live only in the kubelet, and the kubelet's own answer (101, or an HTTP error that makes kubectl
 * fall back from WebSocket to SPDY) reaches kubectl byte for byte.
 *
 * Node's HTTP server hands upgrade requests to an `upgrade` listener with the raw socket instead of a response;
 * {@link handleUpgradeRequest} gives them a ServerResponse on that socket so they run through the normal pipeline
 * (authentication, routing, Status errors) and remembers the socket for {@link proxyUpgrade}.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { errors } from '../../api/errors.js';
import type { ApiServerCore } from '../core.js';
import type { RequestContext } from '../context.js';
import { forwardedQuery, getPod, kubeletFor, kubeletTlsOptions, selectContainer } from './kubelet.js';

const UPGRADES = new WeakMap<IncomingMessage, { socket: Duplex; head: Buffer }>();

/** Mount as `server.on('upgrade', (req, socket, head) => handleUpgradeRequest(core, req, socket, head))`. */
export function handleUpgradeRequest(core: ApiServerCore, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const res = new ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  // A reply written here (an error Status) ends the connection: nothing else is parsed on an upgrade socket.
  res.on('finish', () => socket.end());
  UPGRADES.set(req, { socket, head });
  core.handle(req, res);
}

/** Headers not replayed to the kubelet: hop-by-hop framing we rewrite, and the user's credentials. */
const DROP = new Set(['host', 'authorization', 'content-length', 'transfer-encoding']);

/** Serves `pods/exec|attach|portforward` by splicing the client's connection onto the kubelet's. */
export async function proxyUpgrade(ctx: RequestContext): Promise<void> {
  const { req, ri, query } = ctx;
  const up = UPGRADES.get(req);
  if (!up) throw errors.badRequest('Upgrade request required');
  const sub = ri.subresource!;
  const pod = await getPod(ctx.core, ri.namespace!, ri.name!);
  const phase = pod.status?.phase;
  if (sub !== 'portforward' && (phase === 'Succeeded' || phase === 'Failed')) {
    throw errors.badRequest(`cannot ${sub} into a container in a completed pod; current phase is ${phase}`);
  }
  const ns = encodeURIComponent(ri.namespace!);
  const name = encodeURIComponent(ri.name!);
  let path: string;
  if (sub === 'portforward') path = `/portForward/${ns}/${name}${forwardedQuery(query)}`;
  else path = `/${sub}/${ns}/${name}/${encodeURIComponent(selectContainer(pod, query.get('container')))}${forwardedQuery(query)}`;
  const loc = await kubeletFor(ctx.core, pod);

  const kubelet = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: loc.host, port: loc.port, ...kubeletTlsOptions(ctx.core), servername: isIpLike(loc.host) ? undefined : loc.host });
    s.once('secureConnect', () => resolve(s));
    s.once('error', (e) => reject(errors.internal(`error dialing the kubelet of node "${loc.nodeName}" at ${loc.host}:${loc.port}: ${e.message}`)));
  });
  kubelet.on('error', () => { kubelet.destroy(); up.socket.destroy(); });
  const lines = [`${req.method} ${path} HTTP/1.1`, `Host: ${loc.host}:${loc.port}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!DROP.has(req.rawHeaders[i]!.toLowerCase())) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  kubelet.write(lines.join('\r\n') + '\r\n\r\n');
  if (up.head.length) kubelet.write(up.head);
  // From here on the connection belongs to the tunnel, not to the HTTP response.
  ctx.res.detachSocket(up.socket as Socket);
  ctx.res.removeAllListeners('finish');
  kubelet.pipe(up.socket);
  up.socket.pipe(kubelet);
  up.socket.on('close', () => kubelet.destroy());
  kubelet.on('close', () => up.socket.destroy());
  ctx.res.statusCode = 101;
}

function isIpLike(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
