/**
 * Finding the kubelet that serves a pod's streaming endpoints, as kube-apiserver's `pod.ResourceLocation` /
 * `LogLocation` / `streamLocation` do: the pod's spec.nodeName → the Node's `status.addresses` (InternalIP first,
 * then Hostname/ExternalIP) and `status.daemonEndpoints.kubeletEndpoint.Port` (10250 when unset), plus the
 * container checks and messages upstream gives before any byte reaches the node.
 */
import { errors, type KObject } from '../../api/errors.js';
import { findResource } from '../../api/resources.js';
import type { ApiServerCore } from '../core.js';

/** TLS material the apiserver presents to kubelets (upstream `--kubelet-client-certificate/-key`, `--kubelet-certificate-authority`). */
export interface KubeletClientConfig {
  cert?: string;
  key?: string;
  /**
   * CA that signed the kubelets' serving certificates. Without it the kubelet's certificate is not verified — what
   * kube-apiserver does when `--kubelet-certificate-authority` is not set (kubelets self-sign by default).
   */
  ca?: string;
}

const CLIENT_CONFIG = new WeakMap<ApiServerCore, KubeletClientConfig>();

/** Sets how `core` authenticates to kubelets (call once at startup; defaults to no client cert, no verification). */
export function configureKubeletClient(core: ApiServerCore, cfg: KubeletClientConfig): void {
  CLIENT_CONFIG.set(core, cfg);
}

/** TLS options for a connection from `core` to a kubelet. */
export function kubeletTlsOptions(core: ApiServerCore): { cert?: string; key?: string; ca?: string; rejectUnauthorized: boolean } {
  const c = CLIENT_CONFIG.get(core) ?? {};
  return { cert: c.cert, key: c.key, ca: c.ca, rejectUnauthorized: !!c.ca };
}

/** Where a node's kubelet listens. */
export interface KubeletLocation {
  host: string;
  port: number;
  nodeName: string;
}

const PODS = () => findResource('', 'v1', 'pods')!;
const NODES = () => findResource('', 'v1', 'nodes')!;

/** Reads the pod (404 as a Status when absent). */
export function getPod(core: ApiServerCore, namespace: string, name: string): Promise<KObject> {
  return core.registry.get(PODS(), namespace, name);
}

/** The kubelet of the node the pod is bound to. */
export async function kubeletFor(core: ApiServerCore, pod: KObject): Promise<KubeletLocation> {
  const nodeName = pod.spec?.nodeName as string | undefined;
  if (!nodeName) throw errors.badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
  let node: KObject;
  try {
    node = await core.registry.get(NODES(), undefined, nodeName);
  } catch {
    throw errors.badRequest(`node "${nodeName}" not found for pod ${pod.metadata.name}`);
  }
  const addrs = (node.status?.addresses ?? []) as { type: string; address: string }[];
  const pick = ['InternalIP', 'Hostname', 'ExternalIP'].map((t) => addrs.find((a) => a.type === t)).find(Boolean);
  if (!pick) throw errors.badRequest(`node "${nodeName}" has no addresses to reach its kubelet`);
  const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port) || 10250;
  return { host: pick.address, port, nodeName };
}

type Container = { name: string };

/**
 * The container a request addresses: the `container` parameter (checked against the pod's containers, init
 * containers and ephemeral containers), else the `kubectl.kubernetes.io/default-container` annotation, else the only
 * container; several containers and no name → upstream's 400 message listing them.
 */
export function selectContainer(pod: KObject, requested: string | null): string {
  const spec = pod.spec ?? {};
  const containers = (spec.containers ?? []) as Container[];
  const inits = (spec.initContainers ?? []) as Container[];
  const ephemeral = (spec.ephemeralContainers ?? []) as Container[];
  const name = pod.metadata.name;
  if (requested) {
    if (![...containers, ...inits, ...ephemeral].some((c) => c.name === requested)) {
      throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
    }
    return requested;
  }
  const annotated = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && containers.some((c) => c.name === annotated)) return annotated;
  if (containers.length === 1) return containers[0]!.name;
  const list = (cs: Container[]) => `[${cs.map((c) => c.name).join(' ')}]`;
  let msg = `a container name must be specified for pod ${name}, choose one of: ${list(containers)}`;
  if (inits.length) msg += ` or one of the init containers: ${list(inits)}`;
  if (ephemeral.length) msg += ` or one of the ephemeral containers: ${list(ephemeral)}`;
  throw errors.badRequest(msg);
}

/** The query string without `container` (it is part of the kubelet path). */
export function forwardedQuery(q: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const [k, v] of q) if (k !== 'container') out.append(k, v);
  const s = out.toString();
  return s ? `?${s}` : '';
}
