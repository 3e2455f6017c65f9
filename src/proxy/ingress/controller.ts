/**
 * Skiff's built-in Ingress controller (the role Traefik plays in k3s, with ingress-nginx's semantics): informers on
 * Ingresses, IngressClasses, Services, EndpointSlices and Secrets feed an HTTP and an HTTPS listener on the node.
 * Every request re-reads the informer caches (the routing table is rebuilt lazily after an Ingress or class change),
 * so updates apply as soon as the watch delivers them, without a restart. Routing rules: `routes.ts`; endpoint
 * resolution: `endpoints.ts`; forwarding and retries: `proxy.ts`; SNI certificates: `tls.ts`.
 *
 * With `writeStatus`, each served Ingress gets `status.loadBalancer.ingress` = the status addresses (or this node's
 * InternalIP/ExternalIP), patched through the status subresource only when it differs — the way k3s's Traefik
 * publishes the node address.
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls, { type SecureContext } from 'node:tls';
import type { Node, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';
import { selfSignedCertificate } from '../../apiserver/auth/pki.js';
import { keyOf, splitKey } from '../../client/cache.js';
import type { DynamicClient } from '../../client/dynamic.js';
import { Informer } from '../../client/informer.js';
import { defaultLogger, type Logger } from '../../client/log.js';
import { WorkQueue } from '../../client/workqueue.js';
import { resolveBackend, SERVICE_NAME_LABEL, type BackendListers } from './endpoints.js';
import { forwardRequest, forwardUpgrade, sendError, sendRawError, type ForwardOptions } from './proxy.js';
import { buildRouteTable, isOurIngress, type RouteTable } from './routes.js';
import { ContextCache } from './tls.js';

/** Options of {@link startIngressController}. */
export interface IngressControllerOptions {
  client: DynamicClient;
  /** This node; its addresses are the default status addresses. */
  nodeName: string;
  /** Listen address (default `0.0.0.0`). */
  host?: string;
  /** HTTP port (default 80; 0 picks a free port). */
  httpPort?: number;
  /** HTTPS port (default 443; 0 picks a free port). */
  httpsPort?: number;
  /** Publish `status.loadBalancer` on served Ingresses (one writer per cluster, or the same addresses everywhere). */
  writeStatus?: boolean;
  /** Addresses to publish (IPs become `ip`, names `hostname`); default: the node's InternalIP/ExternalIP. */
  statusAddresses?: string[];
  log?: Logger;
}

/** A running controller. */
export interface IngressController {
  httpPort: number;
  httpsPort: number;
  /** Closes the listeners (and open connections) and stops the informers. */
  stop(): Promise<void>;
}

/** How often the same problem (missing Service, broken Secret, …) is logged at most. */
const WARN_INTERVAL_MS = 30_000;

type Obj = { metadata?: { name?: string; namespace?: string } };

class IngressRuntime {
  readonly ingresses: Informer<Ingress & Obj>;
  readonly classes: Informer<IngressClass & Obj>;
  readonly services: Informer<Service & Obj>;
  readonly slices: Informer<EndpointSlice & Obj>;
  readonly secrets: Informer<Secret & Obj>;
  private readonly log: Logger;
  private readonly queue = new WorkQueue({ name: 'ingress-status' });
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, timeout: 60_000 });
  private readonly contexts = new ContextCache();
  private readonly rr = new Map<string, number>();
  private readonly warned = new Map<string, number>();
  private generation = 0;
  private built?: { generation: number; table: RouteTable };
  private nodeAddresses?: string[];
  private ready = false;
  private readonly listers: BackendListers;

  constructor(
    private readonly o: IngressControllerOptions,
    private readonly defaultContext: SecureContext,
  ) {
    this.log = o.log ?? defaultLogger('ingress');
    const logger = this.log;
    this.ingresses = new Informer(o.client.resource<Ingress & Obj>('networking.k8s.io/v1', 'Ingress'), { logger });
    this.classes = new Informer(o.client.resource<IngressClass & Obj>('networking.k8s.io/v1', 'IngressClass'), { logger });
    this.services = new Informer(o.client.resource<Service & Obj>('v1', 'Service'), { logger });
    this.slices = new Informer(o.client.resource<EndpointSlice & Obj>('discovery.k8s.io/v1', 'EndpointSlice'), { logger });
    this.secrets = new Informer(o.client.resource<Secret & Obj>('v1', 'Secret'), { logger });
    const bump = () => void this.generation++;
    const enqueue = (i: Ingress & Obj) => {
      if (o.writeStatus) this.queue.add(keyOf(i as never));
    };
    this.ingresses.addEventHandler({
      onAdd: (i) => (bump(), enqueue(i)),
      onUpdate: (_, i) => (bump(), enqueue(i)),
      onDelete: bump,
    });
    const allIngresses = () => {
      bump();
      for (const i of this.ingresses.lister.list()) enqueue(i);
    };
    this.classes.addEventHandler({ onAdd: allIngresses, onUpdate: allIngresses, onDelete: allIngresses });
    this.listers = {
      service: (ns, name) => this.services.lister.get(ns, name),
      slices: (ns, name) => this.slices.lister.list(ns, `${SERVICE_NAME_LABEL}=${name}`),
    };
  }

  private get informers() {
    return [this.ingresses, this.classes, this.services, this.slices, this.secrets] as Informer<Obj & { metadata?: object }>[];
  }

  async start(): Promise<void> {
    for (const inf of this.informers) inf.start();
    for (const inf of this.informers) if (!(await inf.waitForSync())) return;
    this.ready = true;
    if (this.o.writeStatus) void this.statusWorker();
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.informers.map((i) => i.stop()));
    this.agent.destroy();
  }

  /** Logs `msg` at warn level, at most once per {@link WARN_INTERVAL_MS} for the same key. */
  private warnOnce(key: string, obj: object, msg: string): void {
    const now = Date.now();
    if ((this.warned.get(key) ?? 0) + WARN_INTERVAL_MS > now) return;
    this.warned.set(key, now);
    this.log.warn(obj, msg);
  }

  /** The routing table, rebuilt when an Ingress or IngressClass changed since the last build. */
  table(): RouteTable {
    if (this.built?.generation === this.generation) return this.built.table;
    const generation = this.generation;
    const classes = this.classes.lister.list();
    const ours = this.ingresses.lister.list().filter((i) => isOurIngress(i, classes));
    const table = buildRouteTable(ours);
    for (const p of table.problems) this.warnOnce(`path:${p.ingress}:${p.message}`, { ingress: p.ingress }, `ingress: ${p.message}`);
    this.contexts.retain(new Set([...table.tls.values()].map((b) => `${b.namespace}/${b.secretName}`)));
    this.built = { generation, table };
    this.log.debug({ ingresses: ours.length, paths: table.size, tlsHosts: table.tls.size }, 'ingress: routing table rebuilt');
    return table;
  }

  private nextIndex(key: string, n: number): number {
    const i = this.rr.get(key) ?? 0;
    this.rr.set(key, (i + 1) % 1_000_000_007);
    return i % n;
  }

  /** Routes a request; answers 404/503 itself or returns the targets to forward to. */
  private route(req: IncomingMessage): { status: number } | { targets: { host: string; port: number }[]; start: number } {
    if (!this.ready) return { status: 503 };
    const m = this.table().match(req.headers.host, req.url);
    if (!m) return { status: 404 };
    const r = resolveBackend(m.namespace, m.backend, this.listers);
    if (!r.ok) {
      this.warnOnce(`backend:${r.reason}`, { ingress: m.ingress, host: req.headers.host, path: m.path }, `ingress: ${r.reason}`);
      return { status: r.status };
    }
    return { targets: r.targets, start: this.nextIndex(r.key, r.targets.length) };
  }

  private forwardOptions(proto: 'http' | 'https', port: number): ForwardOptions {
    return { agent: this.agent, proto, port, connectTimeoutMs: 5_000, log: this.log };
  }

  handle(req: IncomingMessage, res: ServerResponse, proto: 'http' | 'https', port: number): void {
    const r = this.route(req);
    if ('status' in r) return sendError(res, r.status);
    forwardRequest(req, res, r.targets, r.start, this.forwardOptions(proto, port));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proto: 'http' | 'https', port: number): void {
    const r = this.route(req);
    if ('status' in r) return sendRawError(socket, r.status);
    forwardUpgrade(req, socket, head, r.targets, r.start, this.forwardOptions(proto, port));
  }

  /** SNI: the certificate of the host's `spec.tls` Secret, else the default certificate. */
  sni(serverName: string): SecureContext {
    const binding = this.ready ? this.table().tlsFor(serverName) : undefined;
    if (!binding) return this.defaultContext;
    const secret = this.secrets.lister.get(binding.namespace, binding.secretName);
    const r = this.contexts.get(binding, secret);
    if (r.ok) return r.context;
    this.warnOnce(`tls:${r.reason}`, { ingress: binding.ingress, host: serverName }, `ingress: ${r.reason}; serving the default certificate`);
    return this.defaultContext;
  }

  // ---- status ---------------------------------------------------------------------------------------------------

  private async statusWorker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.syncStatus(key);
        this.queue.forget(key);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, ingress: key }, 'ingress: status update failed; retrying');
        this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async addresses(): Promise<string[]> {
    if (this.o.statusAddresses) return this.o.statusAddresses;
    if (this.nodeAddresses) return this.nodeAddresses;
    const node = await this.o.client.resource<Node>('v1', 'Node').get(undefined, this.o.nodeName);
    const all = node.status?.addresses ?? [];
    const pick = all.filter((a) => a.type === 'InternalIP');
    const found = (pick.length ? pick : all.filter((a) => a.type === 'ExternalIP')).map((a) => a.address);
    if (found.length === 0) throw new Error(`node ${this.o.nodeName} has no InternalIP or ExternalIP address yet`);
    return (this.nodeAddresses = found);
  }

  private async syncStatus(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const ing = this.ingresses.lister.get(namespace, name);
    if (!ing) return;
    const ours = isOurIngress(ing, this.classes.lister.list());
    const want: IngressLoadBalancerIngress[] = (await this.addresses()).map((a) => (isIP(a) ? { ip: a } : { hostname: a }));
    const have = ing.status?.loadBalancer?.ingress ?? [];
    const same = sameAddresses(have, want);
    let next: IngressLoadBalancerIngress[] | null;
    if (ours) {
      if (same) return;
      next = want;
    } else {
      // An Ingress moved to another class: take back only what this controller published.
      if (!same || have.length === 0) return;
      next = null;
    }
    await this.ingresses.client.patch(namespace, name, 'merge', { status: { loadBalancer: { ingress: next } } }, { subresource: 'status' });
    this.log.info({ ingress: key, addresses: next?.map((a) => a.ip ?? a.hostname) ?? [] }, 'ingress: status updated');
  }
}

function sameAddresses(a: IngressLoadBalancerIngress[], b: IngressLoadBalancerIngress[]): boolean {
  const norm = (l: IngressLoadBalancerIngress[]) => l.map((x) => `${x.ip ?? ''}|${x.hostname ?? ''}`).sort().join(',');
  return norm(a) === norm(b);
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Starts the controller: binds both ports first (so a busy port fails at once), then resolves once every informer
 * has synced. Until then requests get 503. See the module comment.
 */
export async function startIngressController(o: IngressControllerOptions): Promise<IngressController> {
  const host = o.host ?? '0.0.0.0';
  const cert = await selfSignedCertificate();
  const defaultContext = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const log = o.log ?? defaultLogger('ingress');
  const rt = new IngressRuntime({ ...o, log }, defaultContext);
  let httpPort = 0;
  let httpsPort = 0;
  const httpServer = http.createServer((req, res) => rt.handle(req, res, 'http', httpPort));
  const httpsServer = https.createServer(
    { cert: cert.certPem, key: cert.keyPem, SNICallback: (name, cb) => cb(null, rt.sni(name)) },
    (req, res) => rt.handle(req, res, 'https', httpsPort),
  );
  httpServer.on('upgrade', (req, socket, head) => rt.handleUpgrade(req, socket, head, 'http', httpPort));
  httpsServer.on('upgrade', (req, socket, head) => rt.handleUpgrade(req, socket, head, 'https', httpsPort));
  for (const s of [httpServer, httpsServer]) s.on('clientError', (_err, socket) => socket.destroy());
  try {
    httpPort = await listen(httpServer, o.httpPort ?? 80, host);
    httpsPort = await listen(httpsServer, o.httpsPort ?? 443, host);
  } catch (err) {
    await Promise.all([closeServer(httpServer), closeServer(httpsServer)]);
    throw err;
  }
  await rt.start();
  log.info({ httpPort, httpsPort, host }, 'ingress controller serving');
  return {
    httpPort,
    httpsPort,
    async stop() {
      await Promise.all([closeServer(httpServer), closeServer(httpsServer)]);
      await rt.stop();
    },
  };
}
