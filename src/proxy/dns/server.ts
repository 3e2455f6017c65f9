/**
 * The cluster DNS server (the role CoreDNS plays in kubeadm and k3s clusters): one per node, answering the cluster
 * zone from Service and EndpointSlice informers ({@link ClusterZone}) and forwarding every other name to the node's
 * nameservers, over UDP and TCP (RFC 7766 framing, several queries per connection, answered as they complete).
 *
 * Wire behaviour follows CoreDNS: authoritative answers with recursion available; SERVFAIL for cluster names until
 * the informers have synced; EDNS0 echoed; UDP answers larger than the client's buffer (512 bytes without EDNS0)
 * truncated with TC so the client retries over TCP; FORMERR for undecodable queries whose header is readable, and
 * silence for anything shorter or for stray responses. Nothing a client sends can stop the server.
 */

import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { defaultLogger, Informer, type DynamicClient, type Logger } from '../../client/index.js';
import { forwardQuery, parseUpstream, systemNameservers, type Upstream } from './forwarder.js';
import { DnsEndpointRegistration, type DnsEndpoint } from './register.js';
import { ClusterZone, RCODE, type Resolution } from './zone.js';

/** Options of {@link startClusterDns}. */
export interface ClusterDnsOptions {
  client: DynamicClient;
  /** Cluster domain (default `cluster.local`). */
  domain?: string;
  /** Where to serve UDP and TCP; port 0 picks one free port for both protocols. */
  listen: Array<{ host: string; port: number }>;
  /** Nameservers for other names (`ip`, `ip:port`, `[ip6]:port`); default the nameservers of /etc/resolv.conf. */
  upstreams?: string[];
  /** TTL of cluster records (CoreDNS default 5 s). */
  ttl?: number;
  log?: Logger;
  /** Publish this server as an endpoint of kube-system/kube-dns (see register.ts). */
  registerEndpoint?: DnsEndpoint;
  /** Per-upstream timeout (default 2000 ms, CoreDNS forward's read timeout). */
  upstreamTimeoutMs?: number;
  /** How long start waits for the informers before serving anyway (default 5000 ms, as CoreDNS waits at start). */
  syncTimeoutMs?: number;
}

/** A running server. */
export interface ClusterDns {
  /** The bound port of each `listen` entry (UDP and TCP share it). */
  ports: number[];
  /** Closes the sockets, stops the informers and removes the registered endpoint. */
  stop(): Promise<void>;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const OPCODE_MASK = 0x7800;
const TCP_IDLE_MS = 30_000;
const UDP_MAX_PAYLOAD = 4096;
const OUR_UDP_PAYLOAD = 1232;

/** Starts the server; resolves once every socket listens and the informers synced (or `syncTimeoutMs` passed). */
export async function startClusterDns(o: ClusterDnsOptions): Promise<ClusterDns> {
  const log = o.log ?? defaultLogger('cluster-dns');
  const services = new Informer<Service>(o.client.resource<Service>('v1', 'Service'), { logger: log });
  const slices = new Informer<EndpointSlice>(o.client.resource<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice'), { logger: log });
  let serial = Math.floor(Date.now() / 1000);
  const touch = () => void (serial = Math.max(serial, Math.floor(Date.now() / 1000)));
  for (const inf of [services, slices] as Array<Informer<Service | EndpointSlice>>) inf.addEventHandler({ onAdd: touch, onUpdate: touch, onDelete: touch });
  const zone = new ClusterZone({
    domain: o.domain ?? 'cluster.local',
    ttl: o.ttl ?? 5,
    serial: () => serial,
    view: {
      service: (ns, name) => services.lister.get(ns, name),
      services: () => services.lister.list(),
      slicesFor: (ns, name) => slices.lister.list(ns, `${SERVICE_NAME_LABEL}=${name}`),
      slices: () => slices.lister.list(),
    },
  });
  const server = new DnsServer(zone, {
    upstreams: resolveUpstreams(o, log),
    timeoutMs: o.upstreamTimeoutMs ?? 2000,
    synced: () => services.hasSynced() && slices.hasSynced(),
    log,
  });

  services.start();
  slices.start();
  const registration = o.registerEndpoint ? new DnsEndpointRegistration(o.client, slices, o.registerEndpoint, log) : undefined;
  let ports: number[];
  try {
    ports = [];
    for (const l of o.listen) ports.push(await server.listen(l.host, l.port));
  } catch (err) {
    await server.close();
    await Promise.all([services.stop(), slices.stop()]);
    throw err;
  }
  const syncTimeout = o.syncTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const synced = await Promise.race([
    Promise.all([services.waitForSync(), slices.waitForSync()]).then((r) => r.every(Boolean)),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), syncTimeout))),
  ]);
  clearTimeout(timer);
  if (!synced) log.warn({ afterMs: syncTimeout }, 'cluster DNS serving before its Service/EndpointSlice caches synced; cluster names get SERVFAIL until then');
  registration?.start();
  log.info({ listen: o.listen.map((l, i) => `${l.host}:${ports[i]}`), domain: zone.domain }, 'cluster DNS listening');

  let stopping: Promise<void> | undefined;
  return {
    ports,
    stop: () =>
      (stopping ??= (async () => {
        await server.close();
        await registration?.stop();
        await Promise.all([services.stop(), slices.stop()]);
      })()),
  };
}

/** Upstreams from the options or resolv.conf, minus our own listen addresses (which would loop). */
function resolveUpstreams(o: ClusterDnsOptions, log: Logger): Upstream[] {
  const given = o.upstreams ?? systemNameservers();
  const own = new Set(o.listen.filter((l) => l.port !== 0).map((l) => `${l.host}:${l.port}`));
  const ups = given.map(parseUpstream).filter((u) => !own.has(`${u.host}:${u.port}`));
  if (ups.length === 0) log.warn({}, 'cluster DNS has no upstream nameservers; names outside the cluster get SERVFAIL');
  return ups;
}

interface DnsServerOptions {
  upstreams: Upstream[];
  timeoutMs: number;
  synced: () => boolean;
  log: Logger;
}

/** The transport and message handling around a {@link ClusterZone}. */
class DnsServer {
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private readonly stop$ = new AbortController();

  constructor(private readonly zone: ClusterZone, private readonly o: DnsServerOptions) {}

  /** Binds UDP and TCP on one port (retrying a few ephemeral ports when TCP's is taken); returns the port. */
  async listen(host: string, port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const bound = udp.address().port;
      const tcp = net.createServer((sock) => this.serveTcp(sock));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(bound, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
        throw err;
      }
      udp.on('error', (err) => this.o.log.error({ err, host, port: bound }, 'DNS UDP socket error'));
      tcp.on('error', (err) => this.o.log.error({ err, host, port: bound }, 'DNS TCP server error'));
      udp.on('message', (msg, rinfo) => this.serveUdp(udp, msg, rinfo));
      this.udp.push(udp);
      this.tcp.push(tcp);
      return (tcp.address() as AddressInfo).port;
    }
  }

  async close(): Promise<void> {
    this.stop$.abort();
    for (const s of this.udp.splice(0)) s.close();
    for (const c of this.conns) c.destroy();
    await Promise.all(this.tcp.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private serveUdp(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.handle(msg, false)
      .then((reply) => {
        if (reply && !this.stop$.signal.aborted) sock.send(reply, rinfo.port, rinfo.address, (err) => err && this.o.log.debug({ err, client: rinfo.address }, 'DNS UDP send failed'));
      })
      .catch((err) => this.o.log.error({ err }, 'DNS query handling failed'));
  }

  private serveTcp(sock: net.Socket): void {
    this.conns.add(sock);
    sock.on('close', () => this.conns.delete(sock));
    sock.on('error', (err) => this.o.log.debug({ err }, 'DNS TCP connection error'));
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        this.handle(msg, true)
          .then((reply) => {
            if (!reply || sock.destroyed) return;
            const framed = Buffer.alloc(2 + reply.length);
            framed.writeUInt16BE(reply.length, 0);
            reply.copy(framed, 2);
            sock.write(framed);
          })
          .catch((err) => this.o.log.error({ err }, 'DNS query handling failed'));
      }
    });
  }

  /** One query in, one answer out (undefined: stay silent); never throws. */
  private async handle(raw: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    try {
      return await this.answer(raw, tcp);
    } catch (err) {
      // e.g. a question name that decodes but cannot be re-encoded, or an odd record from an upstream chase.
      this.o.log.debug({ err }, 'answering a DNS query failed; answering SERVFAIL');
      return dnsPacket.encode({ type: 'response', id: raw.readUInt16BE(0), flags: (raw.readUInt16BE(2) & OPCODE_MASK) | RCODE.SERVFAIL });
    }
  }

  private async answer(raw: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    if (raw.length < 12) {
      this.o.log.debug({ bytes: raw.length }, 'dropping DNS message shorter than a header');
      return undefined;
    }
    if ((raw[2]! & 0x80) !== 0) {
      this.o.log.debug({}, 'dropping a DNS response sent to the server');
      return undefined;
    }
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch (err) {
      this.o.log.debug({ err }, 'malformed DNS query; answering FORMERR');
      return dnsPacket.encode({ type: 'response', id: raw.readUInt16BE(0), flags: (raw.readUInt16BE(2) & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED)) | RCODE.FORMERR });
    }
    const opt = query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
    const reply = (r: Pick<Resolution, 'rcode' | 'answers' | 'authorities' | 'additionals'>, authoritative: boolean) =>
      this.encode(query, r, authoritative, opt, tcp);
    const empty = (rcode: number) => reply({ rcode, answers: [], authorities: [], additionals: [] }, false);
    if (((query.flags ?? 0) & OPCODE_MASK) !== 0) return empty(RCODE.NOTIMP);
    if (query.questions?.length !== 1) return empty(RCODE.FORMERR);
    const q = query.questions[0]!;
    const cls = q.class ?? 'IN';
    const res = cls === 'IN' || cls === 'ANY' ? this.zone.resolve(q) : undefined;
    if (!res) return this.forward(raw, query, tcp, empty);
    if (!this.o.synced() && this.zone.inZone(q.name)) return empty(RCODE.SERVFAIL);
    if (res.chase) res.answers.push(...(await this.chase(res.chase.name, res.chase.type, tcp)));
    return reply(res, true);
  }

  private async forward(raw: Buffer, query: DecodedPacket, tcp: boolean, empty: (rcode: number) => Buffer): Promise<Buffer> {
    try {
      return await forwardQuery(this.o.upstreams, raw, { timeoutMs: this.o.timeoutMs, tcp, signal: this.stop$.signal });
    } catch (err) {
      if (!this.stop$.signal.aborted) this.o.log.warn({ err: (err as Error).message, name: query.questions?.[0]?.name }, 'every upstream nameserver failed; answering SERVFAIL');
      return empty(RCODE.SERVFAIL);
    }
  }

  /** The upstream answer records for an ExternalName target (none when the upstreams fail: the CNAME alone). */
  private async chase(name: string, type: Answer['type'], tcp: boolean): Promise<Answer[]> {
    const q = dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as never }] });
    try {
      const a = dnsPacket.decode(await forwardQuery(this.o.upstreams, q, { timeoutMs: this.o.timeoutMs, tcp, signal: this.stop$.signal }));
      return a.answers ?? [];
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message, name }, 'resolving an ExternalName target failed; answering the CNAME alone');
      return [];
    }
  }

  private encode(query: DecodedPacket, r: Pick<Resolution, 'rcode' | 'answers' | 'authorities' | 'additionals'>, authoritative: boolean, opt: OptAnswer | undefined, tcp: boolean): Buffer {
    let flags = ((query.flags ?? 0) & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED)) | dnsPacket.RECURSION_AVAILABLE | r.rcode;
    if (authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
    const ednsOpt: Answer[] = opt
      ? [{ type: 'OPT', name: '.', udpPayloadSize: OUR_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      : [];
    const packet: Packet = {
      type: 'response', id: query.id, flags, questions: query.questions,
      answers: r.answers, authorities: r.authorities, additionals: [...r.additionals, ...ednsOpt],
    };
    let out = dnsPacket.encode(packet);
    if (tcp) return out;
    const limit = opt ? Math.min(Math.max(opt.udpPayloadSize || 512, 512), UDP_MAX_PAYLOAD) : 512;
    if (out.length <= limit) return out;
    // Too big for the client's UDP buffer: keep what fits, set TC (RFC 2181 §9) so it retries over TCP.
    const answers = [...r.answers];
    packet.flags = flags | dnsPacket.TRUNCATED_RESPONSE;
    packet.additionals = ednsOpt;
    packet.authorities = [];
    do {
      packet.answers = answers;
      out = dnsPacket.encode(packet);
    } while (out.length > limit && answers.pop());
    return out;
  }
}
