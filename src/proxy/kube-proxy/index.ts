/**
 * Skiff's per-node service proxy in iptables mode (upstream kube-proxy `--proxy-mode=iptables`). The node agent
 * calls {@link startKubeProxy}; `skiff agent --cleanup-proxy`-style tooling calls {@link cleanupKubeProxy}.
 */

export { cleanupKubeProxy, jumpRules, startKubeProxy, type KubeProxy, type KubeProxyOptions } from './proxier.js';
export {
  buildCleanup, buildRules, DEFAULT_AFFINITY_TIMEOUT_SECONDS, DEFAULT_MASQUERADE_MARK, resolveServicePorts, skipService,
  type BuiltRules, type ProxyState, type ResolvedEndpoint, type ServicePortInfo,
} from './rules.js';
export { execHost, RestoreError, type JumpRule, type ProxyHost } from './host.js';
