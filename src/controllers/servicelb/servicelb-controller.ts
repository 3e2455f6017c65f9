/**
 * The service load balancer (k3s `pkg/cloudprovider/servicelb.go`, minus its DaemonSet of proxy pods): every
 * Service of type LoadBalancer that names no other `loadBalancerClass` is published on the nodes themselves —
 * `status.loadBalancer.ingress` lists the InternalIP of every Ready node (`ipMode: VIP`, so kube-proxy handles the
 * traffic on the node), kept current as nodes come, go and change readiness, and cleared when the Service stops
 * being a LoadBalancer. Nodes labelled `node.kubernetes.io/exclude-from-external-load-balancers` are left out, as
 * upstream's service controller does.
 */
import type { Node, Service, LoadBalancerIngress } from 'kubernetes-types/core/v1.js';
import { controllerFor } from '../../client/controller.js';
import type { MetaObject } from '../../client/cache.js';
import { isNotFound } from '../../client/rest.js';
import type { ControllerContext, Runnable } from '../types.js';
import { sameJson } from '../../util/same-json.js';

/** The controller's name (`--controllers=service-lb`). */
export const NAME = 'service-lb';
export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** True when `svc` is a LoadBalancer this controller serves (no other implementation named). */
export function servesService(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;
}

function nodeReady(n: Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The ingress entries for `nodes`: the InternalIP of each ready, non-excluded node, sorted and de-duplicated. */
export function ingressFor(nodes: Node[]): LoadBalancerIngress[] {
  const ips = new Set<string>();
  for (const n of nodes) {
    if (!nodeReady(n) || n.metadata?.deletionTimestamp || n.metadata?.labels?.[EXCLUDE_LABEL] !== undefined) continue;
    const ip = (n.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address;
    if (ip) ips.add(ip);
  }
  return [...ips].sort().map((ip) => ({ ip, ipMode: 'VIP' }));
}

export function newServiceLBController(ctx: ControllerContext): Runnable {
  const services = ctx.informers.for<Service & MetaObject>('v1', 'Service');
  const nodes = ctx.informers.for<Node & MetaObject>('v1', 'Node');
  const client = ctx.client.resource<Service>('v1', 'Service');
  const log = ctx.logger(NAME);
  // Any node change may change every LoadBalancer's addresses.
  const allLoadBalancers = () => services.lister.list()
    .filter((s) => servesService(s) || (s.status?.loadBalancer?.ingress?.length ?? 0) > 0)
    .map((s) => ({ namespace: s.metadata?.namespace, name: s.metadata?.name ?? '' }));
  return controllerFor(services, { name: NAME, workers: 2, logger: log, clock: ctx.clock })
    .watches(nodes, () => allLoadBalancers())
    .complete({
      async reconcile(req) {
        const svc = services.lister.get(req.namespace, req.name);
        if (!svc || svc.metadata?.deletionTimestamp) return;
        let want: LoadBalancerIngress[] | undefined;
        if (servesService(svc)) want = ingressFor(nodes.lister.list());
        else if (svc.spec?.type !== 'LoadBalancer') want = [];
        else return; // another implementation's class: not ours to touch
        const have = svc.status?.loadBalancer?.ingress ?? [];
        if (sameJson(have, want)) return;
        const next: Service = { ...structuredClone(svc), status: { ...(svc.status ?? {}), loadBalancer: want.length ? { ingress: want } : {} } };
        try {
          await client.updateStatus(req.namespace, next);
        } catch (e) {
          if (isNotFound(e)) return;
          throw e; // a conflict requeues with backoff and re-reads the cache
        }
        log.info({ service: `${req.namespace}/${req.name}`, ingress: want.map((i) => i.ip) }, 'UPDATE load balancer status');
      },
    });
}
