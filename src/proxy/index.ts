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

/**
 * Starts the parts that are enabled (see the module comment). A part that fails to start (iptables busy, the DNS
 * address not yet up, the ingress port taken) is retried in the background with a doubling delay up to 30 s, each
 * failure logged: a node without its Service rules is broken, so giving up silently is not an option.
 */
export async function startNodeProxy(o: NodeProxyOptions): Promise<NodeProxy> {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const out: NodeProxy = { stop: async () => {} };
  const parts: Array<{ name: string; start?: () => Promise<unknown>; set: (v: unknown) => void }> = [
    {
      name: 'kube-proxy',
      start: o.kubeProxy ? () => startKubeProxy({ client: o.client, nodeName: o.nodeName, nodeIPs: o.nodeIPs, clusterCIDR: o.clusterCIDR, chainPrefix: (o.kubeProxy as { chainPrefix?: string }).chainPrefix, log: o.log }) : undefined,
      set: (v) => (out.kubeProxy = v as KubeProxy),
    },
    {
      name: 'cluster DNS',
      start: o.dns ? () => {
        const d = o.dns as { host: string; port?: number };
        return startClusterDns({
          client: o.client,
          domain: o.clusterDomain,
          listen: [{ host: d.host, port: d.port ?? 53 }],
          registerEndpoint: { nodeName: o.nodeName, address: d.host, ...(d.port ? { port: d.port } : {}) },
          log: o.log,
        });
      } : undefined,
      set: (v) => (out.dns = v as ClusterDns),
    },
    {
      name: 'ingress controller',
      start: o.ingress ? () => {
        const i = o.ingress as { host?: string; httpPort?: number; httpsPort?: number; writeStatus?: boolean };
        return startIngressController({
          client: o.client,
          nodeName: o.nodeName,
          host: i.host ?? '0.0.0.0',
          httpPort: i.httpPort ?? 80,
          httpsPort: i.httpsPort ?? 443,
          writeStatus: i.writeStatus ?? true,
          statusAddresses: o.nodeIPs.slice(0, 1),
          log: o.log,
        });
      } : undefined,
      set: (v) => (out.ingress = v as IngressController),
    },
  ];
  const attempt = async (p: (typeof parts)[number], delayMs: number): Promise<void> => {
    try {
      const v = await p.start!();
      if (stopped) {
        await (v as { stop(): Promise<void> }).stop();
        return;
      }
      p.set(v);
      if (delayMs > 1000) o.log.info({}, `${p.name} started`);
    } catch (err) {
      if (stopped) return;
      o.log.error({ err: String(err), retryInMs: delayMs }, `${p.name} failed to start; retrying`);
      const t = setTimeout(() => {
        timers.delete(t);
        void attempt(p, Math.min(delayMs * 2, 30_000));
      }, delayMs);
      t.unref();
      timers.add(t);
    }
  };
  await Promise.all(parts.filter((p) => p.start).map((p) => attempt(p, 1000)));
  out.stop = async (opts) => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    await Promise.allSettled([out.kubeProxy?.stop(), out.dns?.stop(), out.ingress?.stop()]);
    if (opts?.cleanup && o.kubeProxy) {
      await cleanupKubeProxy({ chainPrefix: o.kubeProxy.chainPrefix }).catch((e) => o.log.warn({ err: String(e) }, 'kube-proxy cleanup failed'));
    }
  };
  return out;
}

export { cleanupKubeProxy };
