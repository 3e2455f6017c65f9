/**
 * API discovery as kube-apiserver 1.32 serves it: aggregated (`apidiscovery.k8s.io/v2`, KEP-3352, with its exact
 * Content-Type) and the legacy APIVersions/APIGroupList/APIResourceList documents.
 */
import { RESOURCES, ResourceInfo, groupVersions as storedGroupVersions } from '../api/resources.js';
import { METRICS_RESOURCES } from './metrics-api/resources.js';

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** The stored kinds of a group-version plus the computed metrics.k8s.io kinds (metrics-api/resources.ts). */
function resourcesOf(group: string, version: string): ResourceInfo[] {
  return [...RESOURCES, ...METRICS_RESOURCES].filter((r) => r.group === group && r.version === version);
}

/** Group → versions of the stored kinds, then the computed ones (metrics.k8s.io, listed last as an aggregated API is). */
function groupVersions(): Map<string, string[]> {
  const m = storedGroupVersions();
  for (const r of METRICS_RESOURCES) {
    const vs = m.get(r.group) ?? [];
    if (!vs.includes(r.version)) vs.push(r.version);
    m.set(r.group, vs);
  }
  return m;
}

function aggregatedResource(r: ResourceInfo) {
  const out: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
  };
  if (r.shortNames.length) out.shortNames = r.shortNames;
  if (r.categories.length) out.categories = r.categories;
  if (r.subresources.length) {
    out.subresources = r.subresources.map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: s.verbs,
    }));
  }
  return out;
}

function aggregatedGroup(group: string, versions: string[]) {
  return {
    metadata: { name: group, creationTimestamp: null },
    versions: versions.map((v) => ({ version: v, resources: resourcesOf(group, v).map(aggregatedResource), freshness: 'Current' })),
  };
}

let cache: { api?: string; apis?: string } = {};

/** `/api` (core only) or `/apis` (every named group) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(which: 'api' | 'apis'): string {
  const hit = cache[which];
  if (hit) return hit;
  const items: unknown[] = [];
  for (const [group, versions] of groupVersions()) {
    if ((which === 'api') !== (group === '')) continue;
    items.push(aggregatedGroup(group, versions));
  }
  const body = JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items });
  cache[which] = body;
  return body;
}

export function legacyApiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function legacyGroupList(): unknown {
  const groups: unknown[] = [];
  for (const [group, versions] of groupVersions()) {
    if (group === '') continue;
    const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    groups.push({ name: group, versions: gvs, preferredVersion: gvs[0] });
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function legacyGroup(group: string): unknown | undefined {
  const versions = groupVersions().get(group);
  if (!versions || group === '') return undefined;
  const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: gvs, preferredVersion: gvs[0] };
}

/** APIResourceList for one group-version; subresources are listed as `pods/status` entries, as upstream. */
export function resourceList(group: string, version: string): unknown | undefined {
  const rs = resourcesOf(group, version);
  if (rs.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const r of rs) {
    const e: Record<string, unknown> = { name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs };
    if (r.shortNames.length) e.shortNames = r.shortNames;
    if (r.categories.length) e.categories = r.categories;
    resources.push(e);
    for (const s of r.subresources) {
      const se: Record<string, unknown> = { name: `${r.resource}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs };
      // Upstream sets both when the subresource serves another group-version's kind (e.g. autoscaling/v1 Scale).
      if (s.group !== r.group || s.version !== r.version) {
        se.group = s.group;
        se.version = s.version;
      }
      resources.push(se);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

export function resetDiscoveryCache(): void {
  cache = {};
}
