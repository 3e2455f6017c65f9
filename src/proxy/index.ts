/**
 * The per-node networking services the agent runs beside the kubelet (the "proxy" box of the architecture): the
 * iptables service proxy (kube-proxy), the cluster DNS server (listening on the node's bridge gateway and registered
 * as an endpoint of the `kube-system/kube-dns` Service) and the built-in Ingress controller. Each part can be turned
 * off; a part that fails to start is logged and the rest go on (a node without DNS still runs pods).
 */
import type { DynamicClient } from '../client/dynamic.js';
import type { Logger } from '../client/log.js';
import { startClusterDns, type ClusterDns } from './dns/index.js';
import { startIngressController, type IngressController } from './ingress/index.js';
import { cleanupKubeProxy, startKubeProxy, type KubeProxy } from './kube-proxy/index.js';

export interface NodeProxyOptions {
  client: DynamicClient;
  nodeName: string;
  nodeIPs: string[];
  clusterCIDR: string;
  clusterDomain?: string;
  /** iptables service proxy (needs root); chain prefix default `SKIFF`. */
  kubeProxy?: false | { chainPrefix?: string };
  /** Cluster DNS listening on `host:port` (the bridge gateway, port 53), registered in kube-dns's endpoints. */
  dns?: false | { host: string; port?: number };
  /** Ingress controller ports (80/443 by default; 0 = any free port). */
  ingress?: false | { host?: string; httpPort?: number; httpsPort?: number; writeStatus?: boolean };
  log: Logger;
}

export interface NodeProxy {
  kubeProxy?: KubeProxy;
  dns?: ClusterDns;
  ingress?: IngressController;
  /** Stops all parts; iptables rules stay (as when kube-proxy exits) unless `cleanup` is set. */
  stop(opts?: { cleanup?: boolean }): Promise<void>;
}

/** Starts the parts that are enabled (see the module comment). */
export async function startNodeProxy(o: NodeProxyOptions): Promise<NodeProxy> {
  const out: NodeProxy = { stop: async () => {} };
  const started = await Promise.allSettled([
    o.kubeProxy === false || o.kubeProxy === undefined
      ? Promise.resolve(undefined)
      : startKubeProxy({ client: o.client, nodeName: o.nodeName, nodeIPs: o.nodeIPs, clusterCIDR: o.clusterCIDR, chainPrefix: o.kubeProxy.chainPrefix, log: o.log }),
    o.dns === false || o.dns === undefined
      ? Promise.resolve(undefined)
      : startClusterDns({
          client: o.client,
          domain: o.clusterDomain,
          listen: [{ host: o.dns.host, port: o.dns.port ?? 53 }],
          registerEndpoint: { nodeName: o.nodeName, address: o.dns.host, ...(o.dns.port ? { port: o.dns.port } : {}) },
          log: o.log,
        }),
    o.ingress === false || o.ingress === undefined
      ? Promise.resolve(undefined)
      : startIngressController({
          client: o.client,
          nodeName: o.nodeName,
          host: o.ingress.host ?? '0.0.0.0',
          httpPort: o.ingress.httpPort ?? 80,
          httpsPort: o.ingress.httpsPort ?? 443,
          writeStatus: o.ingress.writeStatus ?? true,
          statusAddresses: o.nodeIPs.slice(0, 1),
          log: o.log,
        }),
  ]);
  const names = ['kube-proxy', 'cluster DNS', 'ingress controller'];
  started.forEach((r, i) => {
    if (r.status === 'rejected') o.log.error({ err: String(r.reason) }, `${names[i]} failed to start; continuing without it`);
  });
  const val = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
  out.kubeProxy = val(started[0]) as KubeProxy | undefined;
  out.dns = val(started[1]) as ClusterDns | undefined;
  out.ingress = val(started[2]) as IngressController | undefined;
  out.stop = async (opts) => {
    await Promise.allSettled([out.kubeProxy?.stop(), out.dns?.stop(), out.ingress?.stop()]);
    if (opts?.cleanup && o.kubeProxy) await cleanupKubeProxy({ chainPrefix: o.kubeProxy.chainPrefix }).catch((e) => o.log.warn({ err: String(e) }, 'kube-proxy cleanup failed'));
  };
  return out;
}

export { cleanupKubeProxy };
