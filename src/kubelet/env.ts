/**
 * Container environment as kubelet's `makeEnvironmentVariables` builds it: `envFrom` sources first (configMaps and
 * secrets, with their prefix), then `env` entries in order, each value `$(VAR)`-expanded against what is defined so
 * far; `valueFrom` resolves fieldRef (the downward API), resourceFieldRef, configMapKeyRef and secretKeyRef, read
 * through the API. Missing non-optional references raise {@link ContainerConfigError}, which the pod worker reports
 * as waiting reason `CreateContainerConfigError`, as upstream does.
 */
import type { ConfigMap, Container, EnvVar, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../client/dynamic.js';
import { isNotFound } from '../client/rest.js';
import { parseQuantity, quantityToNumber } from '../api/quantity.js';
import type { KeyValue } from './runtime/types.js';

/** A container cannot be configured yet (reason `CreateContainerConfigError`). */
export class ContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

/** Pod-level values the downward API needs beyond the pod object. */
export interface DownwardContext {
  nodeName: string;
  podIP: string;
  hostIP: string;
  /** Node allocatable, the default of resourceFieldRef limits when a container sets none. */
  nodeAllocatable?: Record<string, string>;
}

/**
 * `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` escapes a `$`, an undefined
 * `$(VAR)` stays as written, anything else is literal.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const n = input[i + 1];
    if (n === '$') {
      out += '$';
      i++;
    } else if (n === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

function labelsText(m: Record<string, string> | undefined): string {
  // Downward API formats maps as `key="value"` lines, sorted by key (fieldpath.FormatMap).
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** Resolves a downward-API fieldRef (pod fields, as `fieldpath.ExtractFieldPathAsString` plus kubelet's extras). */
export function resolveFieldRef(pod: Pod, ref: ObjectFieldSelector, ctx: DownwardContext): string {
  const path = ref.fieldPath;
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path) ?? /^metadata\.(labels|annotations)\["(.+)"\]$/.exec(path);
  if (sub) return (sub[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[sub[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'metadata.labels': return labelsText(pod.metadata?.labels);
    case 'metadata.annotations': return labelsText(pod.metadata?.annotations);
    case 'spec.nodeName': return pod.spec?.nodeName ?? ctx.nodeName;
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return ctx.podIP;
    case 'status.podIPs': return ctx.podIP;
    case 'status.hostIP': return ctx.hostIP;
    case 'status.hostIPs': return ctx.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${path}`);
  }
}

/**
 * Resolves a resourceFieldRef (`resource.ExtractContainerResourceValue`): limits default to node allocatable,
 * cpu rounds up to the divisor (default 1), memory divides by the divisor (default 1).
 */
export function resolveResourceFieldRef(pod: Pod, container: Container | undefined, ref: ResourceFieldSelector, ctx: DownwardContext): string {
  const c = ref.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === ref.containerName) : container;
  if (!c) throw new ContainerConfigError(`container ${ref.containerName ?? ''} not found for resourceFieldRef`);
  const [kind, res] = ref.resource.split('.') as [string, string];
  const fromSpec = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[res] as string | number | undefined;
  let v: string | number | undefined = fromSpec;
  if (v === undefined && kind === 'limits') v = ctx.nodeAllocatable?.[res];
  if (v === undefined) v = 0;
  const n = quantityToNumber(parseQuantity(String(v)));
  const divisor = ref.divisor !== undefined ? quantityToNumber(parseQuantity(String(ref.divisor))) : 1;
  const r = n / (divisor || 1);
  return String(res === 'cpu' ? Math.ceil(r) : Math.ceil(r));
}

/**
 * How long a ConfigMap/Secret read is shared by the other pods of this kubelet (and reads in flight always are):
 * a burst of pods needing the same object (every pod's kube-root-ca.crt) makes one request, not one per pod —
 * what upstream's watch/TTL-based configmap and secret managers give the kubelet. Short, so an update shows in the
 * next pod start about as soon as through upstream's watch.
 */
export const SHARED_READ_TTL_MS = 500;
const sharedReads = new WeakMap<DynamicClient, Map<string, { at: number; p: Promise<unknown> }>>();

function sharedGet<T>(client: DynamicClient, kind: 'ConfigMap' | 'Secret', namespace: string, name: string): Promise<T | undefined> {
  let m = sharedReads.get(client);
  if (!m) sharedReads.set(client, (m = new Map()));
  const key = `${kind}/${namespace}/${name}`;
  const hit = m.get(key);
  if (hit && Date.now() - hit.at < SHARED_READ_TTL_MS) return hit.p as Promise<T | undefined>;
  const entry = { at: Number.POSITIVE_INFINITY, p: undefined as unknown as Promise<unknown> };
  const cache = m;
  entry.p = client.resource<T & object>('v1', kind).get(namespace, name).then(
    (obj) => {
      entry.at = Date.now(); // shared for the TTL from the answer on
      return obj as T;
    },
    (e: unknown) => {
      if (cache.get(key) === entry) cache.delete(key); // failures and absence are not remembered
      if (isNotFound(e)) return undefined;
      throw e;
    },
  );
  m.set(key, entry);
  // Entries expire lazily; drop old ones now and then so the map stays small.
  if (m.size > 256) for (const [k, v] of m) if (Date.now() - v.at >= SHARED_READ_TTL_MS) m.delete(k);
  return entry.p as Promise<T | undefined>;
}

/** Reads ConfigMaps and Secrets for one sync, caching each lookup (and sharing reads between pods, see above). */
export class ObjectSource {
  private readonly cms = new Map<string, Promise<ConfigMap | undefined>>();
  private readonly secrets = new Map<string, Promise<Secret | undefined>>();
  constructor(
    private readonly client: DynamicClient,
    private readonly namespace: string,
  ) {}

  configMap(name: string): Promise<ConfigMap | undefined> {
    let p = this.cms.get(name);
    if (!p) {
      p = sharedGet<ConfigMap>(this.client, 'ConfigMap', this.namespace, name);
      this.cms.set(name, p);
    }
    return p;
  }

  secret(name: string): Promise<Secret | undefined> {
    let p = this.secrets.get(name);
    if (!p) {
      p = sharedGet<Secret>(this.client, 'Secret', this.namespace, name);
      this.secrets.set(name, p);
    }
    return p;
  }
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** Builds a container's environment (see the module comment). */
export async function buildEnv(pod: Pod, c: Container, ctx: DownwardContext, src: ObjectSource, svcEnv?: Map<string, string>): Promise<KeyValue[]> {
  const env = new Map<string, string>();
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await src.configMap(from.configMapRef.name ?? '');
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(prefix + k, v);
    }
    if (from.secretRef) {
      const s = await src.secret(from.secretRef.name ?? '');
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) env.set(prefix + k, b64(v));
    }
  }
  // `$(VAR)` may name a service variable too (upstream's mapping function covers both); the container's own win.
  const visible = svcEnv?.size ? { get: (n: string) => env.get(n) ?? svcEnv.get(n) } : env;
  for (const e of c.env ?? []) env.set(e.name, await envValue(pod, c, e, ctx, src, visible));
  const out = [...env].map(([key, value]) => ({ key, value }));
  for (const [key, value] of svcEnv ?? []) if (!env.has(key)) out.push({ key, value });
  return out;
}

/**
 * The Docker-links style service variables kubelet injects (`getServiceEnvVarMap`): for each Service with a ClusterIP
 * in the pod's namespace when `enableServiceLinks` (default true), and always for the `kubernetes` Service of
 * `default` — `{NAME}_SERVICE_HOST`, `{NAME}_SERVICE_PORT` (first port), `{NAME}_SERVICE_PORT_{PORTNAME}`,
 * `{NAME}_PORT=tcp://ip:port` and `{NAME}_PORT_{port}_{PROTO}[_PROTO|_PORT|_ADDR]`. In-cluster clients
 * (client-go's InClusterConfig) find the apiserver through KUBERNETES_SERVICE_HOST/PORT.
 */
export function serviceEnv(services: Service[], namespace: string, enableServiceLinks = true): Map<string, string> {
  const out = new Map<string, string>();
  const pick = services.filter((svc) => {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') return false;
    const ns = svc.metadata?.namespace;
    if (ns === 'default' && svc.metadata?.name === 'kubernetes') return true;
    return enableServiceLinks && ns === namespace;
  });
  // The pod's own namespace wins over the master service of default when both define a name (upstream order).
  pick.sort((a, b) => Number(a.metadata?.namespace === namespace) - Number(b.metadata?.namespace === namespace));
  for (const svc of pick) {
    const name = svc.metadata!.name!.toUpperCase().replace(/-/g, '_');
    const ip = svc.spec!.clusterIP!;
    const ports = svc.spec?.ports ?? [];
    out.set(`${name}_SERVICE_HOST`, ip);
    if (ports[0]) out.set(`${name}_SERVICE_PORT`, String(ports[0].port));
    for (const p of ports) if (p.name) out.set(`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, String(p.port));
    if (ports[0]) out.set(`${name}_PORT`, `${(ports[0].protocol ?? 'TCP').toLowerCase()}://${ip}:${ports[0].port}`);
    for (const p of ports) {
      const proto = p.protocol ?? 'TCP';
      const base = `${name}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.set(base, `${proto.toLowerCase()}://${ip}:${p.port}`);
      out.set(`${base}_PROTO`, proto.toLowerCase());
      out.set(`${base}_PORT`, String(p.port));
      out.set(`${base}_ADDR`, ip);
    }
  }
  return out;
}

async function envValue(pod: Pod, c: Container, e: EnvVar, ctx: DownwardContext, src: ObjectSource, env: { get(name: string): string | undefined }): Promise<string> {
  if (e.value !== undefined) return expand(e.value, (n) => env.get(n));
  const vf = e.valueFrom;
  if (!vf) return '';
  if (vf.fieldRef) return resolveFieldRef(pod, vf.fieldRef, ctx);
  if (vf.resourceFieldRef) return resolveResourceFieldRef(pod, c, vf.resourceFieldRef, ctx);
  if (vf.configMapKeyRef) {
    const r = vf.configMapKeyRef;
    const cm = await src.configMap(r.name ?? '');
    const v = cm?.data?.[r.key];
    if (v === undefined) {
      if (r.optional) return '';
      throw new ContainerConfigError(cm ? `couldn't find key ${r.key} in ConfigMap ${pod.metadata?.namespace}/${r.name}` : `configmap "${r.name}" not found`);
    }
    return v;
  }
  if (vf.secretKeyRef) {
    const r = vf.secretKeyRef;
    const s = await src.secret(r.name ?? '');
    const v = s?.data?.[r.key];
    if (v === undefined) {
      if (r.optional) return '';
      throw new ContainerConfigError(s ? `couldn't find key ${r.key} in Secret ${pod.metadata?.namespace}/${r.name}` : `secret "${r.name}" not found`);
    }
    return b64(v);
  }
  return '';
}
