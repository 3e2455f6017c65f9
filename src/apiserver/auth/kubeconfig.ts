/**
 * Writes the kubeconfig `skiff server` leaves for its administrator, so kubectl and client libraries connect with the
 * cluster CA embedded and either the admin client certificate or a bearer token — no extra files to keep in sync.
 */

import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

/** Inputs of {@link renderKubeconfig}; either the client certificate pair or a token should be given. */
export interface KubeconfigOptions {
  /** API server URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  caCertPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  /** Default `skiff`. */
  clusterName?: string;
  /** Default `skiff-admin`. */
  user?: string;
  /** Default `skiff`. */
  context?: string;
  /** Default namespace for the context; omitted (kubectl then uses `default`) when not given. */
  namespace?: string;
}

/** Renders a single-cluster, single-user kubeconfig with `current-context` set, as YAML text. */
export function renderKubeconfig(opts: KubeconfigOptions): string {
  const clusterName = opts.clusterName ?? 'skiff';
  const userName = opts.user ?? 'skiff-admin';
  const contextName = opts.context ?? 'skiff';
  if ((opts.clientCertPem === undefined) !== (opts.clientKeyPem === undefined)) {
    throw new Error('kubeconfig: clientCertPem and clientKeyPem go together');
  }
  const user: Record<string, string> = {};
  if (opts.clientCertPem !== undefined && opts.clientKeyPem !== undefined) {
    user['client-certificate-data'] = b64(opts.clientCertPem);
    user['client-key-data'] = b64(opts.clientKeyPem);
  }
  if (opts.token !== undefined) user.token = opts.token;
  const context: Record<string, string> = { cluster: clusterName, user: userName };
  if (opts.namespace) context.namespace = opts.namespace;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: clusterName, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caCertPem) } },
    ],
    contexts: [{ name: contextName, context }],
    'current-context': contextName,
    preferences: {},
    users: [{ name: userName, user }],
  };
  // Long base64 strings must stay on one line: folded scalars would still parse, but the file should look like
  // what kubectl itself writes.
  return stringify(doc, { lineWidth: 0 });
}

/** Writes a kubeconfig atomically with mode 0600 (it holds credentials), creating the parent directory. */
export function writeKubeconfig(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}
