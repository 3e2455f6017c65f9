/**
 * A pod's DNS configuration (upstream `pkg/kubelet/network/dns`): what the sandbox's `/etc/resolv.conf` says.
 *
 *  - `ClusterFirst` (the default) for pods on the pod network and `ClusterFirstWithHostNet`: the cluster DNS
 *    Service (`--cluster-dns`, 10.43.0.10 in Skiff/k3s) as nameserver, searches `<ns>.svc.<domain> svc.<domain>
 *    <domain>` followed by the host's search domains, `options ndots:5`;
 *  - `ClusterFirst` on a hostNetwork pod, `Default`, and ClusterFirst when no cluster DNS is configured: the host's
 *    resolv.conf (nameservers, searches, options);
 *  - `None`: nothing but `spec.dnsConfig`.
 * `spec.dnsConfig` is merged in as upstream's appendDNSConfig: nameservers and searches appended without duplicates,
 * options merged by name with the pod's value winning. Search lists are capped at 32 entries (upstream's limit).
 */
import { readFileSync } from 'node:fs';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { DnsConfig } from '../runtime/types.js';

export const DEFAULT_CLUSTER_DNS = '10.43.0.10';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
const MAX_SEARCHES = 32;

/** The kubelet's DNS settings (`--cluster-dns`, `--cluster-domain`, `--resolv-conf`). */
export interface ClusterDnsSettings {
  /** Cluster DNS server IPs; empty: ClusterFirst falls back to the host's configuration, as upstream. */
  clusterDNS: string[];
  clusterDomain: string;
  /** The host's resolver configuration; default /etc/resolv.conf. */
  resolvConf?: string;
}

/** Parses resolv.conf text (nameserver, search/domain, options). */
export function parseResolvConf(text: string): Required<DnsConfig> {
  const out: Required<DnsConfig> = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...vals] = line.split(/\s+/);
    if (key === 'nameserver' && vals[0]) out.servers.push(vals[0]);
    else if (key === 'search' || key === 'domain') out.searches = vals.filter((v) => v && v !== '.');
    else if (key === 'options') out.options.push(...vals.filter(Boolean));
  }
  return out;
}

function uniq(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Merges options by name (`ndots:5` and `ndots:2` share `ndots`); later entries win, order of first appearance kept. */
export function mergeDnsOptions(base: string[], extra: string[]): string[] {
  const m = new Map<string, string>();
  for (const o of [...base, ...extra]) m.set(o.split(':')[0]!, o);
  return [...m.values()];
}

/** The effective policy kind (upstream getPodDNSType). */
export function podDnsType(pod: Pod, clusterDnsConfigured: boolean): 'cluster' | 'host' | 'none' {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'None') return 'none';
  if (policy === 'Default') return 'host';
  if (policy === 'ClusterFirst' && pod.spec?.hostNetwork) return 'host';
  return clusterDnsConfigured ? 'cluster' : 'host';
}

/** The sandbox DNSConfig for a pod (see the module comment). `hostResolv` overrides reading the host file (tests). */
export function podDnsConfig(pod: Pod, s: ClusterDnsSettings, hostResolv?: string): DnsConfig {
  const readHost = (): Required<DnsConfig> => {
    if (hostResolv !== undefined) return parseResolvConf(hostResolv);
    try {
      return parseResolvConf(readFileSync(s.resolvConf ?? '/etc/resolv.conf', 'utf8'));
    } catch {
      return { servers: [], searches: [], options: [] };
    }
  };
  let cfg: Required<DnsConfig>;
  switch (podDnsType(pod, s.clusterDNS.length > 0)) {
    case 'none':
      cfg = { servers: [], searches: [], options: [] };
      break;
    case 'host':
      cfg = readHost();
      break;
    case 'cluster': {
      const ns = pod.metadata?.namespace ?? 'default';
      const d = s.clusterDomain;
      cfg = { servers: [...s.clusterDNS], searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...readHost().searches], options: ['ndots:5'] };
      break;
    }
  }
  const pc = pod.spec?.dnsConfig;
  if (pc) {
    cfg.servers = uniq([...cfg.servers, ...(pc.nameservers ?? [])]);
    cfg.searches = uniq([...cfg.searches, ...(pc.searches ?? [])]);
    cfg.options = mergeDnsOptions(cfg.options, (pc.options ?? []).filter((o) => o.name).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name!)));
  }
  cfg.searches = uniq(cfg.searches).slice(0, MAX_SEARCHES);
  return cfg;
}
