/**
 * The `skiff` command: `skiff server` starts a whole one-machine cluster; `skiff kubectl …` runs the installed
 * kubectl against it (like `k3s kubectl`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDataDir, startServer } from '../server/server.js';
import { KUBE_VERSION } from '../apiserver/core.js';
import { DEFAULT_SQLITE_FILE, newBackend } from '../store/index.js';
import { parseLabels, parseTaints } from '../kubelet/agent.js';
import { parsePortRange } from '../apiserver/allocators/index.js';

const USAGE = `Usage: skiff <command> [flags]

Commands:
  server    Start a cluster on this machine (apiserver on an embedded store; writes DATA_DIR/kubeconfig.yaml)
  kubectl   Run kubectl against the local cluster (uses DATA_DIR/kubeconfig.yaml)
  controller-manager  Run the controllers against a cluster (with leader election)
  scheduler Run the scheduler against a cluster (with leader election)
  agent     Join a cluster as a node: kubelet on this machine (skiff agent --server URL --token T)
  network-cleanup  Remove a stopped node's pods and its pod network, Service rules (like kube-proxy --cleanup)
  compact   Compact the store of a stopped server (drops history up to a revision, like etcdctl compact)
  version   Print the version

skiff server flags:
  --data-dir DIR        state, certificates and kubeconfig (default $SKIFF_DATA_DIR, else ~/.skiff)
  --bind-address ADDR   address to serve HTTPS on (default 0.0.0.0, all interfaces)
  --https-port PORT     port to serve on (default 6443; 0 picks a free port)
  --datastore URL       sqlite:// (default, DATA_DIR/state.db), sqlite:///path/file.db, or memory://
  --disable-agent       do not run a node agent in this process
  --disable-controller-manager
                        do not run the controllers in this process (run \`skiff controller-manager\` instead)

  --disable-scheduler   do not run the scheduler in this process (run \`skiff scheduler\` instead)

  --node-labels k=v,…  labels of the in-process node (e.g. a node pool: skiff.dev/pool=gpu)
  --node-taints k=v:Effect,…  taints of the in-process node
  --fake-gpus N         advertise N fake nvidia.com/gpu devices (tests and demos)
  --service-cidr CIDR   Service ClusterIP range (default 10.43.0.0/16; 10.43.0.1 is the kubernetes Service)
  --service-node-port-range MIN-MAX
                        NodePort range (default 30000-32767)
  --cluster-dns IP      the kube-dns Service IP (default 10.43.0.10)
  --cluster-cidr CIDR   pod network; each node gets a /24 of it (default 10.42.0.0/16)
  --cluster-domain D    cluster DNS domain (default cluster.local)
  --pod-network MODE    bridge (pods get IPs through the CNI bridge plugin; needs root and
                        containernetworking-plugins) or none (pods share the host network); default
                        bridge when possible
  --bridge-name NAME    the node bridge of the pod network (default skiff0)
  --node-ip IP          the node's InternalIP (default: the first non-loopback IPv4 address)
  --disable-kube-proxy  no iptables Service proxy on this node
  --proxy-chain-prefix P  prefix of the Service proxy's iptables chains (default SKIFF)
  --disable-ingress     no built-in Ingress controller on this node
  --ingress-http-port N, --ingress-https-port N
                        ports of the Ingress controller (default 80 and 443; 0 = any free port)

skiff agent flags:
  --server URL          the apiserver (https://HOST:PORT)
  --token T             the join token printed by skiff server (DATA_DIR/tls/node-token)
  --node-name N         node name (default: hostname)
  --node-labels, --node-taints, --fake-gpus  as for skiff server
  --cluster-cidr, --cluster-dns, --cluster-domain, --pod-network, --bridge-name, --disable-kube-proxy,
  --proxy-chain-prefix, --disable-ingress, --ingress-http-port, --ingress-https-port  as for skiff server
  --data-dir DIR        agent state (default ~/.skiff-agent)

skiff scheduler flags:
  --kubeconfig PATH     cluster to schedule for (default DATA_DIR/kubeconfig.yaml)
  --leader-elect        elect a leader on kube-system/skiff-scheduler (default true; =false to disable)

skiff controller-manager flags:
  --kubeconfig PATH     cluster to manage (default DATA_DIR/kubeconfig.yaml)
  --leader-elect        elect a leader on kube-system/skiff-controller-manager (default true; =false to disable)
  --controllers LIST    comma-separated controller names, or * (default *)
  --cluster-cidr CIDR   pod network the nodeipam controller splits into one /24 per node (default 10.42.0.0/16)
  --root-ca-file PATH   CA (PEM) published as kube-root-ca.crt in every namespace (default: the kubeconfig's CA)
`;

/** The subcommands that parse their own flags (`kubectl` hands its arguments, `--help` included, to kubectl). */
const FLAG_COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  server: (a) => serverCommand(a),
  compact: (a) => compactCommand(a),
  'controller-manager': (a) => controllerManagerCommand(a),
  scheduler: (a) => schedulerCommand(a),
  agent: (a) => agentCommand(a),
  'network-cleanup': (a) => networkCleanupCommand(a),
};

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const command = cmd !== undefined && Object.hasOwn(FLAG_COMMANDS, cmd) ? FLAG_COMMANDS[cmd] : undefined;
  if (command && rest.some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    if (command) await command(rest);
    else await otherCommand(cmd, rest);
  } catch (err) {
    // A flag parseArgs does not know, a missing value or a stray argument: say so, with the usage, not a stack trace.
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`skiff ${cmd}: ${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    // Anything else that ends a command (a missing file, a bad flag value, an unreachable server) is one line; a
    // stack trace only for what looks like a bug in skiff itself.
    const e = err as Error;
    const bug = e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || e instanceof SyntaxError;
    process.stderr.write(`skiff ${cmd}: ${bug ? e.stack : e?.message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

async function otherCommand(cmd: string | undefined, rest: string[]): Promise<void> {
  switch (cmd) {
    case 'kubectl': return kubectlCommand(rest);
    case 'version':
    case '--version':
      console.log(`skiff ${process.env.npm_package_version ?? '0.1.0'} (Kubernetes API ${KUBE_VERSION.gitVersion})`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`skiff: unknown command "${cmd}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

async function serverCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'bind-address': { type: 'string', default: '0.0.0.0' },
      'https-port': { type: 'string', default: '6443' },
      datastore: { type: 'string' },
      'disable-agent': { type: 'boolean', default: false },
      'disable-controller-manager': { type: 'boolean', default: false },
      'disable-scheduler': { type: 'boolean', default: false },
      'node-labels': { type: 'string' },
      'node-taints': { type: 'string' },
      'fake-gpus': { type: 'string' },
      'log-level': { type: 'string' },
      'service-cidr': { type: 'string' },
      'service-node-port-range': { type: 'string' },
      'cluster-dns': { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'cluster-domain': { type: 'string' },
      'pod-network': { type: 'string' },
      'bridge-name': { type: 'string' },
      'disable-kube-proxy': { type: 'boolean', default: false },
      'node-ip': { type: 'string' },
      'disable-ingress': { type: 'boolean', default: false },
      'proxy-chain-prefix': { type: 'string' },
      'ingress-http-port': { type: 'string' },
      'ingress-https-port': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values['https-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`skiff server: invalid --https-port "${values['https-port']}"\n`);
    process.exitCode = 2;
    return;
  }
  let serviceNodePortRange: { min: number; max: number } | undefined;
  try {
    serviceNodePortRange = values['service-node-port-range'] ? parsePortRange(values['service-node-port-range']) : undefined;
  } catch (e) {
    process.stderr.write(`skiff server: --service-node-port-range: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const srv = await startServer({
    dataDir,
    bindAddress: values['bind-address'],
    httpsPort: port,
    datastore: values.datastore ?? 'sqlite://',
    disableAgent: values['disable-agent'],
    disableControllerManager: values['disable-controller-manager'],
    disableScheduler: values['disable-scheduler'],
    nodeLabels: parseLabels(values['node-labels']),
    nodeTaints: parseTaints(values['node-taints']),
    fakeGpus: values['fake-gpus'] ? Number(values['fake-gpus']) : undefined,
    logLevel: values['log-level'],
    serviceCIDR: values['service-cidr'],
    serviceNodePortRange,
    clusterDNS: values['cluster-dns'],
    ...networkFlags(values),
  });
  process.stdout.write(
    `Skiff is running at ${srv.url}\n` +
    `Kubeconfig written to ${srv.kubeconfigPath}\n` +
    `Use it with:\n  export KUBECONFIG=${srv.kubeconfigPath}\n  kubectl get namespaces\n` +
    `or: skiff kubectl --data-dir ${dataDir} get namespaces\n` +
    `Join another machine as a node with:\n  skiff agent --server ${srv.url} --token ${srv.nodeToken}\n`,
  );
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`skiff: ${sig} received, shutting down\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    srv.close().then(() => process.exit(0), (e) => { process.stderr.write(`skiff: shutdown failed: ${e}\n`); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

async function kubectlCommand(args: string[]): Promise<void> {
  // `--data-dir DIR` (before other args) selects the cluster; everything else goes to kubectl unchanged.
  let dataDir = defaultDataDir();
  const rest = [...args];
  if (rest[0] === '--data-dir' && rest[1]) { dataDir = rest[1]; rest.splice(0, 2); }
  else if (rest[0]?.startsWith('--data-dir=')) { dataDir = rest[0].slice('--data-dir='.length); rest.splice(0, 1); }
  const kubectl = process.env.SKIFF_KUBECTL || findOnPath('kubectl');
  if (!kubectl) {
    process.stderr.write('skiff kubectl: kubectl was not found on PATH. Install kubectl (https://kubernetes.io/docs/tasks/tools/) or set SKIFF_KUBECTL to its path.\n');
    process.exitCode = 1;
    return;
  }
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  if (!existsSync(kubeconfig)) {
    process.stderr.write(`skiff kubectl: ${kubeconfig} does not exist; start the cluster with \`skiff server --data-dir ${dataDir}\` first.\n`);
    process.exitCode = 1;
    return;
  }
  const child = spawn(kubectl, rest, { stdio: 'inherit', env: { ...process.env, KUBECONFIG: process.env.KUBECONFIG && rest.includes('--kubeconfig') ? process.env.KUBECONFIG : kubeconfig } });
  await new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      process.exitCode = code ?? (signal ? 128 : 1);
      resolve();
    });
    child.on('error', (e) => {
      process.stderr.write(`skiff kubectl: failed to run ${kubectl}: ${e.message}\n`);
      process.exitCode = 1;
      resolve();
    });
  });
}

/**
 * `skiff compact [--data-dir DIR] [--datastore URL] [--revision N]`: offline compaction of a stopped server's store
 * (default: up to the newest revision). Reads and watches from older resourceVersions then get 410 Expired.
 */
async function compactCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' }, datastore: { type: 'string', default: 'sqlite://' }, revision: { type: 'string' } }, strict: true });
  const dataDir = values['data-dir'] ?? defaultDataDir();
  // Compacting must not create a store: a mistyped data dir is an error, not a fresh empty database.
  const ds = values.datastore!;
  if (ds === 'sqlite://' && !existsSync(join(dataDir, DEFAULT_SQLITE_FILE))) {
    throw new Error(`no Skiff store in ${dataDir} (${join(dataDir, DEFAULT_SQLITE_FILE)} does not exist)`);
  }
  const backend = newBackend(ds, dataDir);
  await backend.start();
  try {
    const current = await backend.currentRevision();
    const rev = values.revision ? Number(values.revision) : current;
    if (!Number.isInteger(rev) || rev < 1 || rev > current) {
      throw new Error(current < 1 ? 'the store is empty: nothing to compact' : `invalid --revision ${values.revision} (the current revision is ${current})`);
    }
    await backend.compact(rev);
    process.stdout.write(`compacted at revision ${rev}\n`);
  } finally {
    await backend.close();
  }
}

/**
 * `skiff controller-manager`: the controllers alone, against any Skiff (or Kubernetes) apiserver. With leader
 * election (the default) several can run and only the holder of the Lease acts; like kube-controller-manager it
 * exits when it loses the Lease, so a supervisor restarts it as a standby.
 */
async function controllerManagerCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      'data-dir': { type: 'string' },
      'leader-elect': { type: 'string', default: 'true' },
      controllers: { type: 'string', default: '*' },
      'lease-duration': { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'root-ca-file': { type: 'string' },
    },
    strict: true,
  });
  const { DynamicClient } = await import('../client/dynamic.js');
  const { loadKubeconfig } = await import('../client/config.js');
  const { ALL_CONTROLLERS, ControllerManager } = await import('../controllers/index.js');
  const clusterCIDR = networkFlags({ 'cluster-cidr': values['cluster-cidr'] }).clusterCIDR;
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG ?? join(values['data-dir'] ?? defaultDataDir(), 'kubeconfig.yaml');
  const client = new DynamicClient(loadKubeconfig(kubeconfig), { rateLimit: false });
  const wanted = values.controllers === '*' ? undefined : new Set(values.controllers!.split(',').map((s) => s.trim()));
  const controllers = ALL_CONTROLLERS.filter((c) => !wanted || wanted.has(c.name));
  if (wanted) for (const n of wanted) if (!ALL_CONTROLLERS.some((c) => c.name === n)) throw new Error(`unknown controller "${n}"; known: ${ALL_CONTROLLERS.map((c) => c.name).join(', ')}`);
  const leaseMs = values['lease-duration'] ? Number(values['lease-duration']) * 1000 : undefined;
  const manager = new ControllerManager({
    client,
    controllers,
    // The CA root-ca-cert-publisher puts in every namespace's kube-root-ca.crt: --root-ca-file, else (as upstream)
    // the CA of the kubeconfig's cluster.
    config: { rootCACertPem: values['root-ca-file'] ? readFileSync(values['root-ca-file'], 'utf8') : client.rest.config.ca, ...(clusterCIDR ? { clusterCIDR } : {}) },
    leaderElection: values['leader-elect'] === 'false' ? false : { leaseDurationMs: leaseMs, renewDeadlineMs: leaseMs ? Math.floor(leaseMs * 2 / 3) : undefined, retryPeriodMs: leaseMs ? Math.max(200, Math.floor(leaseMs / 7.5)) : undefined },
    onLostLeadership: () => { process.stderr.write('skiff controller-manager: leadership lost, exiting\n'); process.exit(1); },
  });
  manager.start();
  process.stdout.write(`skiff controller-manager running (${controllers.length} controllers, identity ${manager.identity})\n`);
  const stop = () => { manager.stop().finally(() => { client.close(); process.exit(0); }); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * `skiff scheduler`: the scheduler alone (kube-scheduler's shape), with leader election on
 * kube-system/skiff-scheduler; it exits when it loses the Lease so a supervisor restarts it as a standby.
 */
async function schedulerCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { kubeconfig: { type: 'string' }, 'data-dir': { type: 'string' }, 'leader-elect': { type: 'string', default: 'true' } }, strict: true });
  const { DynamicClient } = await import('../client/dynamic.js');
  const { loadKubeconfig } = await import('../client/config.js');
  const { startScheduler } = await import('../scheduler/index.js');
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG ?? join(values['data-dir'] ?? defaultDataDir(), 'kubeconfig.yaml');
  const client = new DynamicClient(loadKubeconfig(kubeconfig), { rateLimit: false });
  const running = await startScheduler({
    client,
    leaderElection: values['leader-elect'] === 'false' ? false : {},
    onLeadershipLost: () => { process.stderr.write('skiff scheduler: leadership lost, exiting\n'); process.exit(1); },
  });
  process.stdout.write('skiff scheduler running\n');
  const stop = () => { running.stop().finally(() => { client.close(); process.exit(0); }); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * `skiff agent --server URL --token T`: joins a cluster as a node. The token (SKIFF10<ca sha256>::<secret>) pins the
 * cluster CA: the agent fetches /cacerts, checks its hash, and only then trusts the server and presents the secret.
 */
async function agentCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string' }, token: { type: 'string' }, 'node-name': { type: 'string' }, 'node-labels': { type: 'string' },
      'node-taints': { type: 'string' }, 'fake-gpus': { type: 'string' }, 'data-dir': { type: 'string' },
      'cluster-cidr': { type: 'string' }, 'cluster-dns': { type: 'string' }, 'cluster-domain': { type: 'string' },
      'pod-network': { type: 'string' }, 'bridge-name': { type: 'string' },
      'disable-kube-proxy': { type: 'boolean', default: false }, 'disable-ingress': { type: 'boolean', default: false }, 'node-ip': { type: 'string' },
      'proxy-chain-prefix': { type: 'string' }, 'ingress-http-port': { type: 'string' }, 'ingress-https-port': { type: 'string' },
    },
    strict: true,
  });
  if (!values.server || !values.token) {
    process.stderr.write('skiff agent: --server and --token are required (see the output of skiff server)\n');
    process.exitCode = 2;
    return;
  }
  const m = /^SKIFF10([0-9a-f]{64})::(.+)$/.exec(values.token);
  if (!m) {
    process.stderr.write('skiff agent: malformed --token (expected SKIFF10<ca hash>::<secret>)\n');
    process.exitCode = 2;
    return;
  }
  const ca = await fetchCa(values.server);
  const { caHash } = await import('../server/server.js');
  if (caHash(ca) !== m[1]) {
    process.stderr.write(`skiff agent: the server's CA does not match the token's hash; refusing to join ${values.server}\n`);
    process.exitCode = 1;
    return;
  }
  const { DynamicClient } = await import('../client/dynamic.js');
  const { startAgent } = await import('../kubelet/agent.js');
  const client = new DynamicClient({ server: values.server, ca, token: m[2] }, { rateLimit: false });
  const { homedir } = await import('node:os');
  const agent = await startAgent({
    client,
    nodeName: values['node-name'],
    dataDir: values['data-dir'] ?? join(homedir(), '.skiff-agent'),
    labels: parseLabels(values['node-labels']),
    taints: parseTaints(values['node-taints']),
    fakeGpus: values['fake-gpus'] ? Number(values['fake-gpus']) : undefined,
    clientCa: ca,
    handleSignals: true,
    ...networkFlags(values),
    clusterDNS: values['cluster-dns'],
  });
  process.stdout.write(`skiff agent running as node ${agent.nodeName}\n`);
}

/** The pod network flags shared by `skiff server` and `skiff agent` (bad values exit 2 via the thrown error). */
function networkFlags(v: {
  'cluster-cidr'?: string; 'cluster-domain'?: string; 'pod-network'?: string; 'bridge-name'?: string;
  'disable-kube-proxy'?: boolean; 'disable-ingress'?: boolean; 'node-ip'?: string; 'proxy-chain-prefix'?: string; 'ingress-http-port'?: string; 'ingress-https-port'?: string;
}): {
  clusterCIDR?: string; clusterDomain?: string; podNetwork?: 'bridge' | 'none'; bridgeName?: string;
  kubeProxy?: boolean; proxyChainPrefix?: string; ingress?: false | { httpPort?: number; httpsPort?: number }; nodeIP?: string;
} {
  const nodeIP = v['node-ip'];
  if (nodeIP !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(nodeIP)) throw new Error(`--node-ip ${JSON.stringify(nodeIP)} is not an IPv4 address`);
  const port = (name: 'ingress-http-port' | 'ingress-https-port') => {
    const x = v[name];
    if (x === undefined) return undefined;
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} ${JSON.stringify(x)} is not a port`);
    return n;
  };
  const prefix = v['proxy-chain-prefix'];
  if (prefix !== undefined && !/^[A-Z][A-Z0-9_]{0,6}$/.test(prefix)) throw new Error(`--proxy-chain-prefix ${JSON.stringify(prefix)}: 1-7 of [A-Z0-9_], starting with a letter`);
  const httpPort = port('ingress-http-port');
  const httpsPort = port('ingress-https-port');
  const mode = v['pod-network'];
  if (mode !== undefined && mode !== 'bridge' && mode !== 'none') throw new Error(`--pod-network must be bridge or none, not ${JSON.stringify(mode)}`);
  const br = v['bridge-name'];
  if (br !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(br)) throw new Error(`--bridge-name ${JSON.stringify(br)}: at most 15 of [A-Za-z0-9_.-]`);
  const cidr = v['cluster-cidr'];
  if (cidr !== undefined && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr)) throw new Error(`--cluster-cidr ${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  return {
    ...(cidr ? { clusterCIDR: cidr } : {}),
    ...(v['cluster-domain'] ? { clusterDomain: v['cluster-domain'] } : {}),
    ...(mode ? { podNetwork: mode } : {}),
    ...(br ? { bridgeName: br } : {}),
    ...(v['disable-kube-proxy'] ? { kubeProxy: false } : {}),
    ...(nodeIP ? { nodeIP } : {}),
    ...(prefix ? { proxyChainPrefix: prefix } : {}),
    ...(v['disable-ingress'] ? { ingress: false as const } : httpPort !== undefined || httpsPort !== undefined ? { ingress: { httpPort, httpsPort } } : {}),
  };
}

/**
 * `skiff network-cleanup --data-dir DIR [--bridge-name B] [--cluster-cidr C] [--proxy-chain-prefix P]`: for a node
 * whose agent is stopped (decommissioning, tests, benchmarks): stops the pods its runtime state still knows (with a
 * CNI DEL each), then removes the bridge, host-gw routes, masquerade rules and the Service proxy's chains. DIR is a
 * `skiff server` data dir (its agent lives in DIR/agent) or a `skiff agent` data dir.
 */
async function networkCleanupCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { 'data-dir': { type: 'string' }, 'bridge-name': { type: 'string' }, 'cluster-cidr': { type: 'string' }, 'proxy-chain-prefix': { type: 'string' } },
    strict: true,
  });
  const { existsSync } = await import('node:fs');
  const { homedir } = await import('node:os');
  const base = values['data-dir'] ?? defaultDataDir();
  const agentDir = existsSync(join(base, 'agent')) ? join(base, 'agent') : values['data-dir'] ? base : join(homedir(), '.skiff-agent');
  const net = networkFlags(values);
  const bridgeName = net.bridgeName ?? 'skiff0';
  const { CniPodNetwork } = await import('../kubelet/network/pod-network.js');
  const { cleanupNodeNetwork } = await import('../kubelet/network/node-network.js');
  const { ProcessRuntime } = await import('../kubelet/runtime/process/process-runtime.js');
  const { cleanupKubeProxy } = await import('../proxy/kube-proxy/index.js');
  const netDir = join(agentDir, 'network');
  let failed = false;
  if (existsSync(join(agentDir, 'runtime'))) {
    const network = new CniPodNetwork({ dataDir: netDir, bridgeName });
    const runtime = new ProcessRuntime({ stateDir: join(agentDir, 'runtime'), network });
    try {
      await runtime.purge();
    } catch (e) {
      failed = true;
      process.stderr.write(`skiff network-cleanup: stopping pods: ${(e as Error).message}\n`);
    }
    await runtime.close();
  }
  await cleanupNodeNetwork({ bridgeName, dataDir: netDir, clusterCIDR: net.clusterCIDR ?? '10.42.0.0/16' });
  await cleanupKubeProxy({ chainPrefix: net.proxyChainPrefix }).catch((e) => {
    failed = true;
    process.stderr.write(`skiff network-cleanup: iptables: ${(e as Error).message}\n`);
  });
  process.stdout.write(`removed the pod network ${bridgeName} and the Service proxy chains${failed ? ' (with errors)' : ''}\n`);
  if (failed) process.exitCode = 1;
}

/** Fetches the cluster CA without trusting the server yet (it is verified against the join token's hash). */
function fetchCa(server: string): Promise<string> {
  return new Promise((resolve, reject) => {
    import('node:https').then((https) => {
      const req = https.get(new URL('/cacerts', server), { rejectUnauthorized: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { body += d; });
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /cacerts: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
    }, reject);
  });
}
