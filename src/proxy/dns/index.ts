/**
 * Cluster DNS: a per-node server for the cluster zone (CoreDNS `kubernetes` plugin semantics) that forwards other
 * names upstream and can publish itself as an endpoint of `kube-system/kube-dns`. See server.ts and zone.ts.
 */

export { startClusterDns, type ClusterDns, type ClusterDnsOptions } from './server.js';
export { ClusterZone, DNS_SCHEMA_VERSION, RCODE, type ClusterZoneOptions, type Resolution, type ZoneView } from './zone.js';
export { desiredDnsSlice, DNS_MANAGED_BY, KUBE_DNS, type DnsEndpoint } from './register.js';
export { nameserversFromResolvConf, parseUpstream, systemNameservers, type Upstream } from './forwarder.js';
