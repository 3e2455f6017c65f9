/**
 * `skiff server`: one process that runs the apiserver over HTTPS on an embedded store, writes an admin kubeconfig,
 * and (in later issues) the controllers, scheduler and a local node agent — the k3s shape.
 */
import { firstHost, parseCidr } from '../api/cidr.js';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:https';
import http2 from 'node:http2';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { homedir, hostname } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { ensurePki, Pki } from '../apiserver/auth/pki.js';
import { createAuthenticator, serviceAccountUser } from '../apiserver/auth/authn.js';
import { issueServiceAccountTokenAuto, verifyServiceAccountToken } from '../apiserver/auth/tokens.js';
import { renderKubeconfig, writeKubeconfig } from '../apiserver/auth/kubeconfig.js';
import { ApiServerCore } from '../apiserver/core.js';
import { handleUpgradeRequest } from '../apiserver/proxy/index.js';
import { configureKubeletClient } from '../apiserver/proxy/kubelet.js';
import { admissionChain } from '../apiserver/admission/index.js';
import { advertiseAddress, installServiceNetworking } from '../apiserver/allocators/index.js';
import { newBackend } from '../store/index.js';
import { startCompactor } from '../store/compactor.js';
import type { Backend } from '../store/types.js';
import { bootstrapCluster } from './bootstrap.js';
import { DynamicClient } from '../client/dynamic.js';
import { http2Enabled } from '../client/h2.js';
import type { Logger } from '../client/log.js';
import { ALL_CONTROLLERS, ControllerManager } from '../controllers/index.js';
import { startScheduler, type RunningScheduler } from '../scheduler/index.js';
import { startAgent, type RunningAgent } from '../kubelet/agent.js';

/** Adapts the server's pino logger to the client library's Logger for one component. */
function childLogger(log: pino.Logger, component: string): Logger {
  const c = log.child({ component });
  return { debug: (o, m) => c.debug(o, m), info: (o, m) => c.info(o, m), warn: (o, m) => c.warn(o, m), error: (o, m) => c.error(o, m) };
}

export interface ServerOptions {
  /** Labels and taints of the in-process node, and fake GPUs to advertise (tests and demos). */
  nodeLabels?: Record<string, string>;
  nodeTaints?: Array<{ key: string; value?: string; effect: string }>;
  fakeGpus?: number;
  /** Do not run the scheduler in this process (run `skiff scheduler` elsewhere). */
  disableScheduler?: boolean;
  /** Do not run the controller-manager in this process (run `skiff controller-manager` elsewhere). */
  disableControllerManager?: boolean;
  dataDir?: string;
  bindAddress?: string;
  httpsPort?: number;
  datastore?: string;
  disableAgent?: boolean;
  /** Log level for pino (default info; SKIFF_LOG_LEVEL overrides). */
  logLevel?: string;
  /** `--service-cidr` (default 10.43.0.0/16). */
  serviceCIDR?: string;
  /** `--service-node-port-range` (default 30000-32767). */
  serviceNodePortRange?: { min: number; max: number };
  /** `--cluster-dns`: the kube-dns Service IP (default 10.43.0.10). */
  clusterDNS?: string;
  /** Address the `kubernetes` Service's endpoints advertise (default: see `advertiseAddress`). */
  advertiseAddress?: string;
  /** `--cluster-cidr`: the pod network, one /24 per node (default 10.42.0.0/16). */
  clusterCIDR?: string;
  /** `--cluster-domain` (default cluster.local). */
  clusterDomain?: string;
  /** `--pod-network`: the in-process agent's pod network (default: bridge when root with CNI plugins, else none). */
  podNetwork?: 'bridge' | 'none';
  /** `--bridge-name`: the node bridge (default skiff0). */
  bridgeName?: string;
  /** `--disable-kube-proxy` (false), `--proxy-chain-prefix`, Ingress ports or `--disable-ingress` (false). */
  kubeProxy?: boolean;
  proxyChainPrefix?: string;
  /** `--node-ip` of the in-process node. */
  nodeIP?: string;
  ingress?: false | { httpPort?: number; httpsPort?: number };
}

export interface RunningServer {
  /** The join token agents pass to `skiff agent --token`. */
  nodeToken: string;
  url: string;
  port: number;
  dataDir: string;
  kubeconfigPath: string;
  pki: Pki;
  core: ApiServerCore;
  backend: Backend;
  close(): Promise<void>;
}

/** The node join token: created once in DATA_DIR/tls/node-token, kept across restarts. */
export function ensureNodeToken(dataDir: string, caPem: string): { token: string; secret: string } {
  const path = join(dataDir, 'tls', 'node-token');
  let secret: string;
  if (existsSync(path)) {
    secret = readFileSync(path, 'utf8').trim().split('::').pop()!;
  } else {
    secret = randomBytes(24).toString('hex');
  }
  const token = `SKIFF10${caHash(caPem)}::${secret}`;
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return { token, secret };
}

/** sha256 (hex) of the CA certificate PEM, as embedded in join tokens. */
export function caHash(caPem: string): string {
  return createHash('sha256').update(caPem).digest('hex');
}

export function defaultDataDir(): string {
  return process.env.SKIFF_DATA_DIR || join(homedir(), '.skiff');
}

export async function startServer(o: ServerOptions = {}): Promise<RunningServer> {
  const log = pino({ level: o.logLevel ?? process.env.SKIFF_LOG_LEVEL ?? 'info', base: { component: 'skiff-server' } }, pino.destination(2));
  const dataDir = o.dataDir ?? defaultDataDir();
  // All interfaces by default, as kube-apiserver and k3s: agents on other machines and pods (through the
  // `kubernetes` Service, whose endpoint is this address) must reach it.
  const bindAddress = o.bindAddress ?? '0.0.0.0';
  const port = o.httpsPort ?? 6443;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const backend = newBackend(o.datastore ?? 'sqlite://', dataDir);
  await backend.start();
  // The serving certificate also names the `kubernetes` Service's ClusterIP (the first address of the service CIDR).
  const pki = await ensurePki(dataDir, { bindAddress, serviceIp: firstHost(parseCidr(o.serviceCIDR ?? '10.43.0.0/16')) });
  const authn = createAuthenticator(pki);
  // Node join token (k3s-style): SKIFF10<sha256 of the CA>::<secret>. Agents check the CA they fetch from /cacerts
  // against the hash, then authenticate with the secret as a bearer token (user system:node:<name> comes later with
  // RBAC; for now the group system:nodes).
  const nodeToken = ensureNodeToken(dataDir, pki.caCertPem);
  authn.addToken(nodeToken.secret, { username: 'system:node-bootstrap', groups: ['system:nodes', 'system:authenticated'] });
  const certUsers = new WeakMap<object, ReturnType<typeof authn.authenticate> | null>();
  const core = new ApiServerCore({
    backend,
    caCertPem: pki.caCertPem,
    authenticate: (req) => {
      // A TLS connection's client certificate cannot change, so its identity is computed once per socket
      // (getPeerCertificate is expensive); bearer tokens are checked on every request.
      if (req.headers.authorization) return authn.authenticate(req);
      // Over HTTP/2 `req.socket` is a new proxy per stream: the session is the connection.
      const sock: object = (req as { stream?: { session?: object } }).stream?.session ?? req.socket;
      let u = certUsers.get(sock);
      if (u === undefined) {
        u = authn.authenticate(req) ?? null;
        certUsers.set(sock, u);
      }
      return u ?? undefined;
    },
    issueToken: (t) => issueServiceAccountTokenAuto(pki, { ...t, boundObject: t.boundObject as never }),
    reviewToken: (token, audiences) => {
      const c = verifyServiceAccountToken(pki, token, audiences);
      return c ? serviceAccountUser(c) : undefined;
    },
    log: (msg, fields) => log.warn(fields ?? {}, msg),
    // As kube-apiserver: Foreground/Orphan deletions always get their finalizer; the garbage collector (in this
    // process or in a separate `skiff controller-manager`) removes it.
    garbageCollectorEnabled: () => true,
  });

  core.admitCreate = admissionChain(core); // Priority admission (and later create-time admission plugins)
  // Service ClusterIP/NodePort allocation (storage hooks), before the first request can create a Service.
  const serviceNet = installServiceNetworking(core, {
    serviceCIDR: o.serviceCIDR, nodePortRange: o.serviceNodePortRange, clusterDNS: o.clusterDNS,
  });

  const server = createApiHttpServer({
    key: pki.serverKeyPem,
    cert: pki.serverCertPem,
    ca: [pki.caCertPem],
  }, core.handle);
  // Malformed HTTP/1 framing never reaches the router: answer it with a Status too, then close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) => {
    if (!socket.writable || (err.code === 'ECONNRESET')) { socket.destroy(); return; }
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `malformed HTTP request: ${err.code ?? err.message}`, reason: 'BadRequest', code: 400 });
    socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  // exec/attach/portforward arrive as upgrade requests (WebSocket or SPDY); they take the same pipeline.
  server.on('upgrade', (req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => handleUpgradeRequest(core, req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bindAddress, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const host = bindAddress === '0.0.0.0' || bindAddress === '::' ? '127.0.0.1' : bindAddress;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  core.opts.serverAddress = `${host}:${actualPort}`;

  // The apiserver presents the admin client certificate to kubelets (their streaming servers require one signed by
  // the cluster CA); it does not verify kubelet serving certificates yet (no --kubelet-certificate-authority).
  configureKubeletClient(core, { cert: pki.adminCertPem, key: pki.adminKeyPem });
  await bootstrapCluster(core);
  // Allocation repair, the `kubernetes` and `kube-dns` Services and the default IngressClass.
  await serviceNet.start({ address: o.advertiseAddress ?? advertiseAddress(bindAddress), port: actualPort });
  // /readyz is the apiserver's readiness, as upstream's: storage up, bootstrap objects written (its post-start hooks).
  // The controller-manager, scheduler and node agent are clients that start after it and report their own state
  // (leases, the Node's Ready condition); readiness does not wait for them.
  core.ready = true;
  const compactor = startCompactor(backend, { log: (msg: string, f?: Record<string, unknown>) => log.warn(f ?? {}, msg) });

  const kubeconfigPath = join(dataDir, 'kubeconfig.yaml');
  writeKubeconfig(kubeconfigPath, renderKubeconfig({ server: url, caCertPem: pki.caCertPem, clientCertPem: pki.adminCertPem, clientKeyPem: pki.adminKeyPem }));
  // The controller-manager talks to this apiserver through the client over HTTPS, as it would from another machine.
  let manager: ControllerManager | undefined;
  let client: DynamicClient | undefined;
  if (!o.disableControllerManager) {
    client = new DynamicClient({ server: url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem }, { rateLimit: false });
    // A stable identity per host and data dir: after a crash the restarted server renews its own Lease at once
    // instead of waiting for it to expire.
    const identity = `skiff-server-${hostname()}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
    // root-ca-cert-publisher publishes the cluster CA as kube-root-ca.crt in every namespace (pods' ca.crt);
    // nodeipam allocates node podCIDRs from --cluster-cidr.
    const config = { rootCACertPem: pki.caCertPem, ...(o.clusterCIDR ? { clusterCIDR: o.clusterCIDR } : {}) };
    manager = new ControllerManager({ client, controllers: ALL_CONTROLLERS, leaderElection: { identity }, config, logger: (name) => childLogger(log, name) });
    manager.start();
  }
  let scheduler: RunningScheduler | undefined;
  if (!o.disableScheduler) {
    client ??= new DynamicClient({ server: url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem }, { rateLimit: false });
    const identity = `skiff-server-${hostname()}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
    scheduler = await startScheduler({ client, leaderElection: { identity }, logger: childLogger(log, 'scheduler') });
  }
  let agent: RunningAgent | undefined;
  if (!o.disableAgent) {
    client ??= new DynamicClient({ server: url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem }, { rateLimit: false });
    agent = await startAgent({
      client, dataDir: join(dataDir, 'agent'), labels: o.nodeLabels, taints: o.nodeTaints, fakeGpus: o.fakeGpus, log: childLogger(log, 'kubelet'),
      servingCert: { cert: pki.serverCertPem, key: pki.serverKeyPem },
      clientCa: pki.caCertPem,
      podNetwork: o.podNetwork, bridgeName: o.bridgeName, clusterCIDR: o.clusterCIDR, clusterDNS: o.clusterDNS, clusterDomain: o.clusterDomain,
      kubeProxy: o.kubeProxy, proxyChainPrefix: o.proxyChainPrefix, ingress: o.ingress, nodeIP: o.nodeIP,
    });
  }
  log.info({ url, dataDir, datastore: o.datastore ?? 'sqlite://' }, 'skiff server ready');

  let closing: Promise<void> | undefined;
  return {
    url, port: actualPort, dataDir, kubeconfigPath, pki, core, backend, nodeToken: nodeToken.token,
    close() {
      closing ??= (async () => {
        core.ready = false;
        await agent?.stop();
        await manager?.stop();
        await scheduler?.stop();
        await serviceNet.stop();
        client?.close();
        compactor.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          closeAllConnections(server);
        });
        await backend.close();
      })();
      return closing;
    },
  };
}



const CONNECTIONS = new WeakMap<TlsServer, Set<TLSSocket>>();

/** Resource bounds of the apiserver's HTTP/2 sessions. */
export interface H2Limits {
  /**
   * A session without open streams for this long is closed (GOAWAY; the client opens a new one): kube-apiserver's
   * `IdleTimeout` (90 s). Sessions with open streams (watches, log streams: legitimately long and quiet) never are.
   */
  idleTimeoutMs: number;
  /**
   * A new session must complete its first request's headers within this (kube-apiserver's ReadHeaderTimeout, 32 s):
   * a client that opens a session and sends nothing, or dribbles a HEADERS block, is dropped. Later requests on
   * the session are bounded by the idle timeout until their headers are complete.
   */
  firstRequestTimeoutMs: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (kube-apiserver's default: 250; clients queue streams beyond it). */
  maxConcurrentStreams: number;
}

export const H2_LIMITS: Readonly<H2Limits> = { idleTimeoutMs: 90_000, firstRequestTimeoutMs: 32_000, maxConcurrentStreams: 250 };

/**
 * Applies {@link H2Limits} timeouts to one server session: a count of its open streams (one `close` listener
 * each) and one timer that re-arms itself, so the cost per request is a counter, not a timer.
 */
function guardSession(session: http2.ServerHttp2Session, limits: H2Limits): void {
  let open = 0;
  let sawRequest = false;
  let idleSince = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    timer.unref();
  };
  const check = () => {
    timer = undefined;
    if (session.destroyed || session.closed) return;
    if (!sawRequest) {
      // No complete request since the session began: a stalled or slowloris client, never authenticated.
      session.destroy();
      return;
    }
    if (open > 0) {
      arm(limits.idleTimeoutMs);
      return;
    }
    const left = limits.idleTimeoutMs - (performance.now() - idleSince);
    if (left > 1) {
      arm(left);
      return;
    }
    // Idle: a graceful GOAWAY; with no streams open node then ends the connection. A request the client started
    // meanwhile is refused (REFUSED_STREAM semantics) and clients resend it on a new session.
    session.close();
  };
  arm(limits.firstRequestTimeoutMs);
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    if (!sawRequest) {
      sawRequest = true;
      if (timer) clearTimeout(timer);
      arm(limits.idleTimeoutMs);
    }
    open++;
    stream.once('close', () => {
      if (--open === 0) idleSince = performance.now();
    });
  });
  session.once('close', () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  });
}

/**
 * The apiserver's TLS listener: HTTP/2 and HTTP/1.1 on one port, chosen by ALPN (`h2`, `http/1.1`), as
 * kube-apiserver serves them. Both protocols reach `handler` (HTTP/2 through node's compatibility request and
 * response, which the pipeline uses like the HTTP/1 ones); HTTP/1.1 `Upgrade` requests (exec/attach/port-forward
 * over SPDY or WebSocket) fire the server's `upgrade` event exactly as on an https.Server — node's `allowHTTP1`
 * hands HTTP/1 connections to the same connection listener https uses. Clients ask for client certificates but
 * are not rejected without one (authentication decides). With {@link http2Enabled} false this is a plain
 * https.Server. Timeouts: 60 s for request headers, none for whole requests (watches and log streams are
 * long-running), 65 s idle keep-alive for HTTP/1, {@link H2_LIMITS} for HTTP/2 sessions; 32 s for TLS handshakes.
 */
export function createApiHttpServer(
  tlsOpts: { key: string; cert: string; ca: string[] },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  opts: { http2?: boolean } & Partial<H2Limits> = {},
): TlsServer {
  // A TLS handshake must finish within kube-apiserver's ReadHeaderTimeout (node's default is 120 s).
  const base = { ...tlsOpts, requestCert: true, rejectUnauthorized: false, handshakeTimeout: 32_000 };
  let server: TlsServer;
  if (opts.http2 ?? http2Enabled()) {
    const limits: H2Limits = {
      idleTimeoutMs: opts.idleTimeoutMs ?? H2_LIMITS.idleTimeoutMs,
      firstRequestTimeoutMs: opts.firstRequestTimeoutMs ?? H2_LIMITS.firstRequestTimeoutMs,
      maxConcurrentStreams: opts.maxConcurrentStreams ?? H2_LIMITS.maxConcurrentStreams,
    };
    const h2 = http2.createSecureServer({
      ...base,
      allowHTTP1: true,
      // Large windows: list answers of many MB and bursts of writes must not stall on 64 KiB flow-control windows
      // (loopback and LAN round trips are cheap, but one per 64 KiB is not). The session memory cap bounds what
      // node buffers for one client before refusing its new streams; watch fan-out to a slow reader needs room.
      settings: { initialWindowSize: 4 << 20, maxConcurrentStreams: limits.maxConcurrentStreams },
      maxSessionMemory: 256,
    }, handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
    h2.on('session', (session) => {
      session.on('error', () => undefined); // a broken session ends its streams; their requests see it
      session.once('connect', () => { try { session.setLocalWindowSize(32 << 20); } catch { /* session already gone */ } });
      guardSession(session, limits);
    });
    // HTTP/1 connections use the http.Server timeouts (node sets only headers/request ones for allowHTTP1).
    const h1 = h2 as unknown as { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number };
    h1.keepAliveTimeout = 65_000;
    h1.headersTimeout = 60_000;
    h1.requestTimeout = 0; // watches and log streams are long-running
    // TLS handshake failures: nothing to answer (node would route them to 'clientError', which speaks HTTP/1).
    h2.removeAllListeners('tlsClientError');
    h2.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
    server = h2;
  } else {
    const h1 = createServer({ ...base, ALPNProtocols: ['http/1.1'], keepAliveTimeout: 65_000 }, handler);
    h1.headersTimeout = 60_000;
    h1.requestTimeout = 0;
    server = h1;
  }
  const conns = new Set<TLSSocket>();
  CONNECTIONS.set(server, conns);
  server.on('secureConnection', (s: TLSSocket) => {
    conns.add(s);
    s.once('close', () => conns.delete(s));
  });
  return server;
}

/** Ends every connection of a server made by {@link createApiHttpServer} (HTTP/2 sessions, HTTP/1 and upgraded sockets). */
export function closeAllConnections(server: TlsServer): void {
  for (const s of CONNECTIONS.get(server) ?? []) s.destroy();
}
