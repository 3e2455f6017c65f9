/**
 * Backend resolution: an Ingress backend (`service.name` + `port.number` or `port.name`) → the Service's port →
 * the ready endpoints of the Service's EndpointSlices (label `kubernetes.io/service-name`). The slice port is the
 * one whose name equals the Service port's name, which is how a named `targetPort` resolves per pod (the same rule
 * kube-proxy uses). Endpoints whose `conditions.ready` is unset count as ready, as the EndpointSlice API says.
 * ExternalName Services resolve to their DNS name and the Service port, as ingress-nginx does.
 */

import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { IngressBackend } from 'kubernetes-types/networking/v1.js';

/** The EndpointSlice label naming the owning Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One address a request can be proxied to. */
export interface Target {
  host: string;
  port: number;
}

/** The outcome of {@link resolveBackend}: targets, or the HTTP status and reason to answer with. */
export type Resolution =
  | { ok: true; key: string; targets: Target[] }
  | { ok: false; status: 503; reason: string };

/** The listers resolution reads from (informer caches). */
export interface BackendListers {
  service(namespace: string, name: string): Service | undefined;
  slices(namespace: string, serviceName: string): EndpointSlice[];
}

/** Resolves `backend` in `namespace` to ready targets (see the module comment). */
export function resolveBackend(namespace: string, backend: IngressBackend, l: BackendListers): Resolution {
  const fail = (reason: string): Resolution => ({ ok: false, status: 503, reason });
  const ref = backend.service;
  if (!ref) {
    const r = backend.resource;
    return fail(`resource backends (${r?.kind ?? '?'} ${r?.name ?? '?'}) are not supported`);
  }
  const portLabel = ref.port?.name ?? String(ref.port?.number ?? '');
  const key = `${namespace}/${ref.name}:${portLabel}`;
  const svc = l.service(namespace, ref.name);
  if (!svc) return fail(`service ${namespace}/${ref.name} not found`);
  const svcPort = (svc.spec?.ports ?? []).find(
    (p) => (p.protocol ?? 'TCP') === 'TCP' && (ref.port?.name ? p.name === ref.port.name : p.port === ref.port?.number),
  );
  if (svc.spec?.type === 'ExternalName') {
    const port = svcPort?.port ?? ref.port?.number;
    if (!svc.spec.externalName || !port) return fail(`service ${namespace}/${ref.name} has no port ${portLabel}`);
    return { ok: true, key, targets: [{ host: svc.spec.externalName, port }] };
  }
  if (!svcPort) return fail(`service ${namespace}/${ref.name} has no TCP port ${portLabel}`);
  const wantName = svcPort.name ?? '';
  const seen = new Set<string>();
  const targets: Target[] = [];
  const slices = [...l.slices(namespace, ref.name)].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  for (const slice of slices) {
    const sp = (slice.ports ?? []).find((p) => (p.name ?? '') === wantName && (p.protocol ?? 'TCP') === 'TCP');
    if (!sp?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const host = ep.addresses?.[0];
      if (!host) continue;
      const id = `${host}:${sp.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      targets.push({ host, port: sp.port });
    }
  }
  if (targets.length === 0) return fail(`service ${namespace}/${ref.name} port ${portLabel} has no ready endpoints`);
  return { ok: true, key, targets };
}
