/**
 * A bench's `skiff server` sets up this node's network: a bridge, routes, iptables chains. Like a CNI bridge and
 * kube-proxy's rules, it outlives the server. A bench that set it up removes it when done (`skiff network-cleanup`,
 * as `kube-proxy --cleanup`), so a run leaves the host as it found it. A skiff node network that was already there
 * — another cluster on this host — is left alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Call before starting the server; call the returned function with its data dir once it has exited. A server started
 * with its own `--bridge-name`, `--cluster-cidr` or `--proxy-chain-prefix` passes the same flags here.
 */
export function hostNetworkGuard(skiffBin: string, net: { bridgeName?: string; clusterCIDR?: string; chainPrefix?: string } = {}): (dataDir: string) => void {
  const bridgeName = net.bridgeName ?? 'skiff0';
  const existed = existsSync(`/sys/class/net/${bridgeName}`);
  const flags = [`--bridge-name=${bridgeName}`];
  if (net.clusterCIDR) flags.push(`--cluster-cidr=${net.clusterCIDR}`);
  if (net.chainPrefix) flags.push(`--proxy-chain-prefix=${net.chainPrefix}`);
  return (dataDir) => {
    if (existed || process.platform !== 'linux' || process.getuid?.() !== 0) return;
    const r = spawnSync(process.execPath, [skiffBin, 'network-cleanup', '--data-dir', dataDir, ...flags], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) process.stderr.write(`bench: skiff network-cleanup failed (exit ${r.status}): ${r.stderr}\n`);
  };
}
