/**
 * Publishes this node's DNS server as an endpoint of the `kube-system/kube-dns` Service: one EndpointSlice
 * `kube-dns-<node>` per node, managed by `skiff-dns` (so the EndpointSlice controller leaves it alone, as it leaves
 * slices of other managers), which kube-proxy turns into DNAT rules from the kube-dns ClusterIP. The slice is kept:
 * re-created when deleted and rewritten when changed by someone else, and deleted when the server stops.
 */

import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { isIPv6 } from 'node:net';
import { Backoff, isAlreadyExists, isConflict, isNotFound, realClock, sleep, type DynamicClient, type Informer, type Logger } from '../../client/index.js';

/** The Service whose endpoints the node DNS servers are. */
export const KUBE_DNS = { namespace: 'kube-system', name: 'kube-dns' } as const;
/** `endpointslice.kubernetes.io/managed-by` of registered slices. */
export const DNS_MANAGED_BY = 'skiff-dns';

/** What to register. */
export interface DnsEndpoint {
  nodeName: string;
  address: string;
  /** The port the kube-dns Service's targetPort reaches (53). */
  port?: number;
}

/** The slice a node's DNS server should have. */
export function desiredDnsSlice(ep: DnsEndpoint): EndpointSlice {
  const port = ep.port ?? 53;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `kube-dns-${ep.nodeName}`,
      namespace: KUBE_DNS.namespace,
      labels: { 'kubernetes.io/service-name': KUBE_DNS.name, 'endpointslice.kubernetes.io/managed-by': DNS_MANAGED_BY },
    },
    addressType: isIPv6(ep.address) ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [ep.address], nodeName: ep.nodeName, conditions: { ready: true, serving: true, terminating: false } }],
    ports: [
      { name: 'dns', port, protocol: 'UDP' },
      { name: 'dns-tcp', port, protocol: 'TCP' },
    ],
  };
}

function sameContent(a: EndpointSlice, b: EndpointSlice): boolean {
  const pick = (s: EndpointSlice) =>
    JSON.stringify([s.metadata?.labels?.['kubernetes.io/service-name'], s.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], s.addressType, s.endpoints, s.ports]);
  return pick(a) === pick(b);
}

/** Keeps the slice in place while running (see the module comment). */
export class DnsEndpointRegistration {
  private readonly desired: EndpointSlice;
  private readonly stop$ = new AbortController();
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 });
  private dirty = false;
  private loop?: Promise<void>;
  private unsubscribe?: () => void;

  constructor(
    private readonly client: DynamicClient,
    private readonly slices: Informer<EndpointSlice>,
    ep: DnsEndpoint,
    private readonly log: Logger,
  ) {
    this.desired = desiredDnsSlice(ep);
  }

  private get name(): string {
    return this.desired.metadata!.name!;
  }

  /** Writes the slice and re-checks it whenever the informer sees it change or go. */
  start(): void {
    const mine = (s: EndpointSlice) => s.metadata?.namespace === KUBE_DNS.namespace && s.metadata?.name === this.name;
    this.unsubscribe = this.slices.addEventHandler({
      onUpdate: (_, s) => mine(s) && this.kick(),
      onDelete: (s) => mine(s) && this.kick(),
    });
    this.kick();
  }

  /** Resolves once the slice has been written (or the registration stopped). */
  async settled(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Stops keeping the slice and deletes it. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.stop$.abort();
    await this.loop;
    try {
      await this.api().delete(KUBE_DNS.namespace, this.name);
    } catch (err) {
      if (!isNotFound(err)) this.log.warn({ err, slice: this.name }, 'deleting the kube-dns EndpointSlice failed');
    }
  }

  private api() {
    return this.client.resource<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice');
  }

  private kick(): void {
    this.dirty = true;
    if (this.loop || this.stop$.signal.aborted) return;
    this.loop = this.run().finally(() => (this.loop = undefined));
  }

  private async run(): Promise<void> {
    while (this.dirty && !this.stop$.signal.aborted) {
      this.dirty = false;
      try {
        await this.reconcile();
        this.backoff.reset();
      } catch (err) {
        if (this.stop$.signal.aborted) return;
        const wait = this.backoff.next();
        this.log.warn({ err, slice: this.name, retryInMs: wait }, 'registering the kube-dns EndpointSlice failed; retrying');
        this.dirty = true;
        await sleep(realClock, wait, this.stop$.signal);
      }
    }
  }

  /** Reads the live object (not the cache, which may lag our own writes) and creates or rewrites it. */
  private async reconcile(): Promise<void> {
    const api = this.api();
    let current: EndpointSlice | undefined;
    try {
      current = await api.get(KUBE_DNS.namespace, this.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!current) {
      try {
        await api.create(KUBE_DNS.namespace, this.desired);
        this.log.info({ slice: this.name }, 'registered the node DNS server as a kube-dns endpoint');
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        this.dirty = true;
      }
      return;
    }
    if (sameContent(current, this.desired)) return;
    const labels = { ...current.metadata?.labels, ...this.desired.metadata!.labels };
    try {
      await api.update(KUBE_DNS.namespace, { ...this.desired, metadata: { ...current.metadata, labels } });
    } catch (err) {
      if (!isConflict(err)) throw err;
      this.dirty = true;
    }
  }
}
