/**
 * How a client finds and authenticates to an apiserver: from a kubeconfig file (what `kubectl` and client-go's
 * `clientcmd` read) or from the service-account files mounted into a pod (client-go `rest.InClusterConfig`).
 * The result is a plain {@link ClientConfig} with PEM text already loaded, so the REST client never touches files
 * except a rotating token file.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Connection settings for one apiserver (client-go `rest.Config` reduced to what Skiff uses). PEM fields hold the
 * certificate text itself, not a path.
 */
export interface ClientConfig {
  /** Base URL, e.g. `https://127.0.0.1:6443`; `http:` is accepted for in-process and test servers. */
  server: string;
  /** CA bundle (PEM) that signs the server's certificate; the system roots are used when absent. */
  ca?: string;
  /** Client certificate (PEM) for mutual TLS. */
  cert?: string;
  /** Private key (PEM) of {@link cert}. */
  key?: string;
  /** Bearer token sent as `Authorization: Bearer …`. */
  token?: string;
  /** A file holding the bearer token, re-read periodically because projected service-account tokens rotate. */
  tokenFile?: string;
  /** Skips server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTLSVerify?: boolean;
  /** Name to verify the server certificate against, when it differs from the URL host (`tls-server-name`). */
  tlsServerName?: string;
  /** Default namespace of the context (kubeconfig `contexts[].context.namespace`, or the pod's namespace). */
  namespace?: string;
}

interface NamedEntry<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

/** Options for {@link loadKubeconfig}. */
export interface LoadKubeconfigOptions {
  /** Use this context instead of `current-context` (like `kubectl --context`). */
  context?: string;
}

/**
 * Reads a kubeconfig file and returns the settings of its current context, matching clientcmd: `*-data` fields are
 * base64 PEM, file paths are relative to the kubeconfig's directory, `token`/`tokenFile` give bearer auth.
 * Throws with the context/cluster/user name when something is missing, never returning a half-built config.
 */
export function loadKubeconfig(path: string, opts: LoadKubeconfigOptions = {}): ClientConfig {
  const text = readFileSync(path, 'utf8');
  return parseKubeconfig(text, dirname(path), opts);
}

/** {@link loadKubeconfig} for kubeconfig text already in memory; `baseDir` resolves relative file paths. */
export function parseKubeconfig(text: string, baseDir = process.cwd(), opts: LoadKubeconfigOptions = {}): ClientConfig {
  const doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  const ctxName = opts.context ?? (doc['current-context'] as string | undefined);
  if (!ctxName) throw new Error('kubeconfig: no current-context set and no context given');
  const find = <T>(list: unknown, name: string, field: 'cluster' | 'user' | 'context', what: string): T => {
    const entry = ((list as NamedEntry<T>[] | undefined) ?? []).find((e) => e?.name === name);
    if (!entry || !entry[field]) throw new Error(`kubeconfig: ${what} "${name}" not found`);
    return entry[field] as T;
  };
  const ctx = find<Record<string, string>>(doc.contexts, ctxName, 'context', 'context');
  if (!ctx.cluster) throw new Error(`kubeconfig: context "${ctxName}" names no cluster`);
  const cluster = find<Record<string, unknown>>(doc.clusters, ctx.cluster, 'cluster', 'cluster');
  const user = ctx.user ? find<Record<string, unknown>>(doc.users, ctx.user, 'user', 'user') : {};
  const server = cluster.server as string | undefined;
  if (!server) throw new Error(`kubeconfig: cluster "${ctx.cluster}" has no server`);

  const resolve = (p: string) => (isAbsolute(p) ? p : join(baseDir, p));
  const pem = (obj: Record<string, unknown>, field: string): string | undefined => {
    const data = obj[`${field}-data`];
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64').toString('utf8');
    const file = obj[field];
    if (typeof file === 'string' && file) return readFileSync(resolve(file), 'utf8');
    return undefined;
  };

  const cfg: ClientConfig = { server: server.replace(/\/+$/, '') };
  const ca = pem(cluster, 'certificate-authority');
  if (ca) cfg.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) cfg.insecureSkipTLSVerify = true;
  if (typeof cluster['tls-server-name'] === 'string') cfg.tlsServerName = cluster['tls-server-name'];
  const cert = pem(user, 'client-certificate');
  const key = pem(user, 'client-key');
  if (cert) cfg.cert = cert;
  if (key) cfg.key = key;
  if (typeof user.token === 'string' && user.token) cfg.token = user.token;
  if (typeof user.tokenFile === 'string' && user.tokenFile) cfg.tokenFile = resolve(user.tokenFile);
  if (ctx.namespace) cfg.namespace = ctx.namespace;
  return cfg;
}

/** Where the kubelet mounts a pod's service-account credentials (client-go `rest.InClusterConfig`). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Overrides for {@link inClusterConfig}, so it can be tested outside a pod. */
export interface InClusterOptions {
  env?: Record<string, string | undefined>;
  dir?: string;
}

/**
 * The config a process inside a pod uses: `KUBERNETES_SERVICE_HOST`/`_PORT` for the address, the mounted token
 * (as a token file, re-read as it rotates), CA and namespace. Throws like client-go's `ErrNotInCluster` when the
 * environment variables are missing.
 */
export function inClusterConfig(opts: InClusterOptions = {}): ClientConfig {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error('unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined');
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const cfg: ClientConfig = {
    server: `https://${hostPart}:${port}`,
    tokenFile: join(dir, 'token'),
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
  };
  readFileSync(cfg.tokenFile!, 'utf8'); // fail now, not on the first request, when the token is absent
  try {
    cfg.namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
  } catch {
    cfg.namespace = 'default'; // the namespace file is optional, as in client-go
  }
  return cfg;
}

/**
 * The usual lookup order of clients: `$KUBECONFIG` (first file), then `~/.kube/config`, then in-cluster settings.
 */
export function loadDefaultConfig(env: Record<string, string | undefined> = process.env): ClientConfig {
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p);
  if (fromEnv) return loadKubeconfig(fromEnv);
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  try {
    return loadKubeconfig(home);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return inClusterConfig({ env });
}
