/**
 * The apiserver's proxies to kubelets: `pods/log` (streamed text) and the upgrade tunnel of `pods/exec`,
 * `pods/attach` and `pods/portforward`.
 */
export { handlePodLog } from './log.js';
export { handleUpgradeRequest, proxyUpgrade } from './upgrade.js';
export { configureKubeletClient, type KubeletClientConfig } from './kubelet.js';
