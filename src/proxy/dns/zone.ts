/**
 * The cluster zone's answers: the records the "Kubernetes DNS-Based Service Discovery" specification defines, as
 * CoreDNS's `kubernetes` plugin serves them (its default Corefile: `kubernetes cluster.local in-addr.arpa ip6.arpa
 * { pods insecure; fallthrough in-addr.arpa ip6.arpa }`). Pure: it reads Services and EndpointSlices through a
 * {@link ZoneView} and returns records, so every rule is testable without sockets or an apiserver.
 *
 * - `<svc>.<ns>.svc.<zone>`: A/AAAA → the ClusterIPs; headless → one record per ready endpoint address;
 *   ExternalName → a CNAME to `spec.externalName` (chased: in-zone targets here, others through {@link Resolution.chase}).
 * - `<host>.<svc>.<ns>.svc.<zone>`: ready endpoints whose `hostname` (or dashed IP when unset) is `host`.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV (and `<svc>.<ns>.svc.<zone>` SRV for every port), with the
 *   targets' addresses as additional records.
 * - `<a-b-c-d>.<ns>.pod.<zone>`: A for the dashed address without checking a pod exists (`pods insecure`).
 * - PTR under in-addr.arpa/ip6.arpa for ClusterIPs and endpoint addresses; other reverse names fall through.
 * - Unknown names → NXDOMAIN, known names without records of the asked type → NODATA; both carry the zone's SOA.
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { Answer, Question, RecordType, SoaAnswer } from 'dns-packet';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';

/** The cluster state the zone answers from (informer listers in production, arrays in tests). */
export interface ZoneView {
  service(namespace: string, name: string): Service | undefined;
  /** Every Service (PTR lookups and namespace existence). */
  services(): Service[];
  /** The EndpointSlices labelled `kubernetes.io/service-name: name` in `namespace`. */
  slicesFor(namespace: string, name: string): EndpointSlice[];
  /** Every EndpointSlice (PTR lookups). */
  slices(): EndpointSlice[];
}

/** DNS response codes the zone produces (RFC 1035 §4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The zone's answer to one question. */
export interface Resolution {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /**
   * An ExternalName CNAME pointing outside the zone: the server should ask the upstreams for `name`/`type` and
   * append their answers, as CoreDNS does through its upstream lookup.
   */
  chase?: { name: string; type: RecordType };
}

/** Options of a {@link ClusterZone}. */
export interface ClusterZoneOptions {
  /** The cluster domain, e.g. `cluster.local`. */
  domain: string;
  /** TTL of every record and the SOA minimum (CoreDNS default 5). */
  ttl: number;
  view: ZoneView;
  /** SOA serial (CoreDNS: the time of the last change seen). */
  serial?: () => number;
}

/** The version of the Kubernetes DNS schema served at `dns-version.<zone>` TXT. */
export const DNS_SCHEMA_VERSION = '1.1.0';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MAX_CNAME_DEPTH = 8;

/** A ready endpoint address of a service, with its DNS name label (hostname or dashed IP). */
interface EndpointAddr {
  ip: string;
  host: string;
}

/** See the module comment. */
export class ClusterZone {
  readonly domain: string;
  private readonly ttl: number;
  private readonly view: ZoneView;
  private readonly serial: () => number;

  constructor(o: ClusterZoneOptions) {
    this.domain = trimDot(o.domain).toLowerCase();
    this.ttl = o.ttl;
    this.view = o.view;
    this.serial = o.serial ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Whether `name` is the cluster zone or below it (those names are never forwarded). */
  inZone(name: string): boolean {
    const n = trimDot(name).toLowerCase();
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /**
   * Answers `q`, or returns undefined when the name is not the zone's to answer (forward it upstream): names
   * outside the zone and reverse names that map to no ClusterIP or endpoint (CoreDNS `fallthrough in-addr.arpa`).
   */
  resolve(q: Question): Resolution | undefined {
    const name = trimDot(q.name);
    const lower = name.toLowerCase();
    if (lower.endsWith('.in-addr.arpa') || lower.endsWith('.ip6.arpa')) return this.reverse(name, q.type);
    if (!this.inZone(lower)) return undefined;
    return this.forward(name, q.type, 0);
  }

  /** The zone's SOA record (authority section of negative answers, RFC 2308). */
  soa(): SoaAnswer {
    return {
      type: 'SOA', name: this.domain, ttl: this.ttl,
      data: {
        mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: this.serial() >>> 0,
        refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl,
      },
    };
  }

  private forward(name: string, type: RecordType, depth: number): Resolution {
    const lower = name.toLowerCase();
    const rel = lower === this.domain ? [] : lower.slice(0, -(this.domain.length + 1)).split('.');
    const labels = rel.reverse(); // from the zone outwards: ['svc', ns, svc, ...]
    if (labels.length === 0) return this.apex(name, type);
    if (labels.length === 1 && labels[0] === 'dns-version') {
      return type === 'TXT' ? this.ok([{ type: 'TXT', name, ttl: this.ttl, data: DNS_SCHEMA_VERSION }]) : this.nodata();
    }
    if (labels[0] === 'dns') {
      if (labels.length === 1) return this.nodata();
      if (labels.length === 2 && labels[1] === 'ns') return this.addresses(name, type, this.dnsServerIPs());
      return this.nxdomain();
    }
    if (labels[0] === 'svc') return this.svcTree(name, type, labels.slice(1), depth);
    if (labels[0] === 'pod') return this.podTree(name, type, labels.slice(1));
    return this.nxdomain();
  }

  private apex(name: string, type: RecordType): Resolution {
    if (type === 'SOA') return this.ok([{ ...this.soa(), name }]);
    if (type === 'NS') {
      const ns = `ns.dns.${this.domain}`;
      return { ...this.ok([{ type: 'NS', name, ttl: this.ttl, data: ns }]), additionals: this.addressRecords(ns, 'A', this.dnsServerIPs()) };
    }
    return this.nodata();
  }

  /** The kube-dns Service's ClusterIPs: the address `ns.dns.<zone>` names. */
  private dnsServerIPs(): string[] {
    const s = this.view.service('kube-system', 'kube-dns');
    return s ? clusterIPs(s) : [];
  }

  /** `labels` = [ns, svc, endpoint-or-proto, port] below `svc.<zone>`. */
  private svcTree(name: string, type: RecordType, labels: string[], depth: number): Resolution {
    if (labels.length === 0) return this.nodata();
    const ns = labels[0]!;
    if (labels.length === 1) return this.view.services().some((s) => s.metadata?.namespace === ns) ? this.nodata() : this.nxdomain();
    const svc = this.view.service(ns, labels[1]!);
    if (!svc || labels.length > 4) return this.nxdomain();
    if (labels.length === 2) return this.serviceRecords(name, type, svc, depth);
    const third = labels[2]!;
    if (third.startsWith('_')) {
      const proto = third.slice(1);
      if (labels.length === 3) return this.servicePorts(svc).some((p) => p.proto === proto) ? this.nodata() : this.nxdomain();
      const port = labels[3]!;
      if (!port.startsWith('_')) return this.nxdomain();
      return this.srv(name, type, svc, port.slice(1), proto);
    }
    if (labels.length === 4) return this.nxdomain();
    const ips = this.readyEndpoints(svc).filter((e) => e.host === third).map((e) => e.ip);
    if (ips.length === 0) return this.nxdomain();
    return this.addresses(name, type, ips);
  }

  private serviceRecords(name: string, type: RecordType, svc: Service, depth: number): Resolution {
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') {
      const target = trimDot(spec.externalName ?? '');
      if (!target) return this.nxdomain();
      const cname: Answer = { type: 'CNAME', name, ttl: this.ttl, data: target };
      if (type === 'CNAME') return this.ok([cname]);
      if (this.inZone(target)) {
        if (depth >= MAX_CNAME_DEPTH) return this.ok([cname]);
        const next = this.forward(target, type, depth + 1);
        return { ...next, rcode: next.rcode, answers: [cname, ...next.answers] };
      }
      return { ...this.ok([cname]), chase: { name: target, type } };
    }
    if (type === 'SRV') return this.srv(name, type, svc, undefined, undefined);
    if (isHeadless(svc)) {
      const eps = this.readyEndpoints(svc);
      // CoreDNS answers NXDOMAIN for a headless service without ready endpoints (its findServices finds no item).
      if (eps.length === 0) return this.nxdomain();
      return this.addresses(name, type, eps.map((e) => e.ip));
    }
    const ips = clusterIPs(svc);
    if (ips.length === 0) return this.nxdomain();
    return this.addresses(name, type, ips);
  }

  /** SRV records for a port name/protocol, or every port when `port` is undefined. */
  private srv(name: string, type: RecordType, svc: Service, port: string | undefined, proto: string | undefined): Resolution {
    const ns = svc.metadata!.namespace!;
    const svcName = `${svc.metadata!.name}.${ns}.svc.${this.domain}`;
    const match = (p: { name: string; proto: string }) => port === undefined || (p.name === port && p.proto === proto);
    const targets: Array<{ target: string; port: number; ips: string[] }> = [];
    if (isHeadless(svc)) {
      const seen = new Set<string>();
      for (const slice of this.view.slicesFor(ns, svc.metadata!.name!)) {
        for (const p of slice.ports ?? []) {
          if (p.port === undefined || p.port === null || !match({ name: p.name ?? '', proto: (p.protocol ?? 'TCP').toLowerCase() })) continue;
          for (const e of sliceEndpoints(slice)) {
            const key = `${e.host}/${e.ip}/${p.port}`;
            if (seen.has(key)) continue;
            seen.add(key);
            targets.push({ target: `${e.host}.${svcName}`, port: p.port, ips: [e.ip] });
          }
        }
      }
    } else {
      const ips = clusterIPs(svc);
      if (ips.length > 0) for (const p of this.servicePorts(svc)) if (match(p)) targets.push({ target: svcName, port: p.port, ips });
    }
    if (targets.length === 0) return port === undefined ? this.nodata() : this.nxdomain();
    if (type !== 'SRV') return this.nodata();
    const weight = Math.max(1, Math.floor(100 / targets.length));
    const answers: Answer[] = targets.map((t) => ({ type: 'SRV', name, ttl: this.ttl, data: { priority: 0, weight, port: t.port, target: t.target } }));
    const additionals: Answer[] = [];
    const added = new Set<string>();
    for (const t of targets) {
      for (const rr of [...this.addressRecords(t.target, 'A', t.ips), ...this.addressRecords(t.target, 'AAAA', t.ips)]) {
        const key = `${rr.name} ${rr.type} ${String((rr as { data: unknown }).data)}`;
        if (!added.has(key)) {
          added.add(key);
          additionals.push(rr);
        }
      }
    }
    return { ...this.ok(answers), additionals };
  }

  /** `labels` = [ns, dashed-ip] below `pod.<zone>` (pods insecure: any well-formed address answers). */
  private podTree(name: string, type: RecordType, labels: string[]): Resolution {
    if (labels.length < 2) return this.nodata();
    if (labels.length > 2) return this.nxdomain();
    const ip = undashIP(labels[1]!);
    if (!ip) return this.nxdomain();
    return this.addresses(name, type, [ip]);
  }

  private reverse(name: string, type: RecordType): Resolution | undefined {
    const ip = reverseToIP(name.toLowerCase());
    if (!ip) return undefined;
    const names: string[] = [];
    for (const s of this.view.services()) {
      if (!isHeadless(s) && clusterIPs(s).some((c) => sameIP(c, ip))) names.push(`${s.metadata!.name}.${s.metadata!.namespace}.svc.${this.domain}`);
    }
    const seen = new Set<string>();
    for (const slice of this.view.slices()) {
      const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!svc) continue;
      for (const e of sliceEndpoints(slice)) {
        const n = `${e.host}.${svc}.${slice.metadata!.namespace}.svc.${this.domain}`;
        if (sameIP(e.ip, ip) && !seen.has(n)) {
          seen.add(n);
          names.push(n);
        }
      }
    }
    if (names.length === 0) return undefined;
    if (type !== 'PTR') return this.nodata();
    return this.ok(names.map((n) => ({ type: 'PTR', name, ttl: this.ttl, data: n })));
  }

  /** A/AAAA answers for `ips` by the asked type; any other type of an existing name is NODATA. */
  private addresses(name: string, type: RecordType, ips: string[]): Resolution {
    if (type !== 'A' && type !== 'AAAA') return this.nodata();
    const answers = this.addressRecords(name, type, ips);
    return answers.length ? this.ok(answers) : this.nodata();
  }

  private addressRecords(name: string, type: 'A' | 'AAAA', ips: string[]): Answer[] {
    const fits = type === 'A' ? isIPv4 : isIPv6;
    return [...new Set(ips.filter((ip) => fits(ip)))].map((ip) => ({ type, name, ttl: this.ttl, data: ip }));
  }

  private servicePorts(svc: Service): Array<{ name: string; proto: string; port: number }> {
    return (svc.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', proto: (p.protocol ?? 'TCP').toLowerCase(), port: p.port }));
  }

  /** Ready endpoint addresses over every slice of the service, de-duplicated (a pod may sit in two slices briefly). */
  private readyEndpoints(svc: Service): EndpointAddr[] {
    const out: EndpointAddr[] = [];
    const seen = new Set<string>();
    for (const slice of this.view.slicesFor(svc.metadata!.namespace!, svc.metadata!.name!)) {
      for (const e of sliceEndpoints(slice)) {
        const key = `${e.host}/${e.ip}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push(e);
        }
      }
    }
    return out;
  }

  private ok(answers: Answer[]): Resolution {
    return { rcode: RCODE.NOERROR, answers, authorities: [], additionals: [] };
  }

  private nodata(): Resolution {
    return { rcode: RCODE.NOERROR, answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nxdomain(): Resolution {
    return { rcode: RCODE.NXDOMAIN, answers: [], authorities: [this.soa()], additionals: [] };
  }
}

function trimDot(n: string): string {
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

function clusterIPs(svc: Service): string[] {
  const spec = svc.spec ?? {};
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '');
}

/**
 * Ready endpoints of one slice (a missing `ready` condition counts as ready, as the EndpointSlice API says), with
 * CoreDNS's `endpointHostname`: the endpoint's hostname, or its address with `.`/`:` replaced by `-`.
 */
function sliceEndpoints(slice: EndpointSlice): EndpointAddr[] {
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return [];
  const out: EndpointAddr[] = [];
  for (const ep of slice.endpoints ?? []) {
    if (ep.conditions?.ready === false) continue;
    const ip = ep.addresses?.[0];
    if (!ip) continue;
    out.push({ ip, host: (ep.hostname || ip.replace(/[.:]/g, '-')).toLowerCase() });
  }
  return out;
}

/** `10-42-0-5` → `10.42.0.5`; `fd00--1` → `fd00::1` (CoreDNS's pod name rule); undefined when not an address. */
function undashIP(label: string): string | undefined {
  const v4 = label.replace(/-/g, '.');
  if ((label.match(/-/g) ?? []).length === 3 && !label.includes('--') && isIPv4(v4)) return v4;
  const v6 = label.replace(/-/g, ':');
  return isIPv6(v6) ? v6 : undefined;
}

/** `5.0.42.10.in-addr.arpa` → `10.42.0.5`; nibble ip6.arpa names → an IPv6 address. */
function reverseToIP(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4) return undefined;
    const ip = parts.reverse().join('.');
    return isIPv4(ip) ? ip : undefined;
  }
  const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
  if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
  const hex = nibbles.reverse().join('');
  return hex.match(/.{4}/g)!.join(':');
}

/** Compares addresses textually after expanding IPv6 (`fd00::1` equals `fd00:0:0:0:0:0:0:1`). */
function sameIP(a: string, b: string): boolean {
  return expand(a) === expand(b);
}

function expand(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join(':');
}
