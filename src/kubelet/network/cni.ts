/**
 * A CNI invoker (the `libcni` role in containerd/CRI-O): runs the reference plugins from `containernetworking-plugins`
 * (`bridge`, `host-local`, `loopback`, `portmap`) by the CNI 1.0 protocol — the plugin binary is exec'd with
 * `CNI_COMMAND` (ADD/DEL/CHECK), `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`, `CNI_PATH` in its
 * environment and the network configuration JSON on stdin; it answers a result (ADD) or an error object on stdout.
 *
 * A network configuration list is run plugin by plugin, each getting the previous plugin's result as `prevResult`;
 * DEL runs in reverse order with the cached ADD result (libcni's cache), and `runtimeConfig` carries the
 * capabilities a plugin declares (e.g. `portMappings` for portmap).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** One plugin's configuration inside a list (`type` names the binary). */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (`.conflist`). */
export interface CniConfList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** The CNI 1.0 result of ADD. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ interface?: number; address: string; gateway?: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

/** The per-attachment arguments (libcni `RuntimeConf`). */
export interface CniRuntimeConf {
  containerId: string;
  /** Path of the network namespace; '' on DEL when it is already gone (plugins must tolerate that). */
  netns: string;
  ifName: string;
  /** `CNI_ARGS` key/values, e.g. K8S_POD_NAMESPACE (sent with IgnoreUnknown=1). */
  args?: Record<string, string>;
  /** Capability arguments, passed as `runtimeConfig` to plugins that declare the capability. */
  capabilityArgs?: Record<string, unknown>;
}

/** An error object a plugin returned (CNI spec "Error" result), or a failure to run it. */
export class CniError extends Error {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(`CNI plugin ${plugin} ${command} failed (code ${code}): ${message}${details ? `: ${details}` : ''}`);
    this.name = 'CniError';
  }
}

/** Runs CNI plugins found in `pluginDirs` (the `CNI_PATH`). */
export class CniInvoker {
  /**
   * Runs a plugin binary and collects its output; default a child_process spawn. The process runtime plugs in its
   * native launcher so the (large) agent process never forks on the pod start path.
   */
  runner?: (argv: string[], env: NodeJS.ProcessEnv, input: string, timeoutMs: number) => Promise<{ code: number | null; signal: string | null; stdout: Buffer; stderr: Buffer }>;

  constructor(
    readonly pluginDirs: string[],
    private readonly timeoutMs = 60_000,
  ) {}

  /** The plugin binary for `type`, or undefined. */
  find(type: string): string | undefined {
    if (!/^[A-Za-z0-9_.-]+$/.test(type)) return undefined;
    for (const d of this.pluginDirs) {
      const p = join(d, type);
      if (existsSync(p)) return p;
    }
    return undefined;
  }

  /** Execs one plugin (CNI "exec" protocol); resolves its parsed stdout (empty object for DEL/CHECK). */
  exec(command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION', conf: Record<string, unknown> & { type: string }, rt: CniRuntimeConf): Promise<CniResult> {
    const bin = this.find(conf.type);
    if (!bin) return Promise.reject(new CniError(conf.type, command, 0, `plugin binary not found in ${this.pluginDirs.join(':')}`));
    const args = rt.args ? ['IgnoreUnknown=1', ...Object.entries(rt.args).map(([k, v]) => `${k}=${v}`)].join(';') : '';
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt.containerId,
      CNI_NETNS: rt.netns,
      CNI_IFNAME: rt.ifName,
      CNI_ARGS: args,
      CNI_PATH: this.pluginDirs.join(':'),
    };
    const settle = (code: number | null, signal: string | null, out: string, err: string): CniResult => {
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = out.trim() ? (JSON.parse(out) as Record<string, unknown>) : undefined;
      } catch {
        /* not JSON */
      }
      if (code === 0) return (parsed ?? {}) as CniResult;
      if (parsed && typeof parsed.code === 'number') {
        throw new CniError(conf.type, command, parsed.code, String(parsed.msg ?? ''), parsed.details ? String(parsed.details) : undefined);
      }
      throw new CniError(conf.type, command, 999, `exited ${code ?? signal}`, (err || out).trim() || undefined);
    };
    if (this.runner) {
      return this.runner([bin], env, JSON.stringify(conf), this.timeoutMs).then(
        (r) => settle(r.code, r.signal, r.stdout.toString('utf8'), r.stderr.toString('utf8')),
        (e: Error) => { throw e instanceof CniError ? e : new CniError(conf.type, command, 0, e.message); },
      );
    }
    return new Promise((resolve, reject) => {
      const child = spawn(bin, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new CniError(conf.type, command, 0, e.message));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        try {
          resolve(settle(code, signal, out, err));
        } catch (e) {
          reject(e);
        }
      });
      child.stdin.on('error', () => {
        /* the plugin exited before reading stdin: reported by 'close' */
      });
      child.stdin.end(JSON.stringify(conf));
    });
  }

  /** The stdin configuration of plugin `i` of a list (libcni buildOneConfig). */
  static pluginConf(list: CniConfList, p: CniPluginConf, rt: CniRuntimeConf, prevResult?: CniResult): Record<string, unknown> & { type: string } {
    const conf: Record<string, unknown> & { type: string } = { ...p, cniVersion: list.cniVersion, name: list.name };
    if (prevResult) conf.prevResult = prevResult;
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(p.capabilities ?? {})) {
      if (on && rt.capabilityArgs && cap in rt.capabilityArgs) runtimeConfig[cap] = rt.capabilityArgs[cap];
    }
    delete conf.capabilities;
    if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
    return conf;
  }

  /** ADD of a whole list; returns the final result. On failure the already-added plugins are deleted again. */
  async addNetworkList(list: CniConfList, rt: CniRuntimeConf): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const p of list.plugins) {
      try {
        prev = await this.exec('ADD', CniInvoker.pluginConf(list, p, rt, prev), rt);
      } catch (err) {
        await this.delNetworkList(list, rt, prev).catch(() => {});
        throw err;
      }
    }
    return prev ?? {};
  }

  /** DEL of a whole list in reverse order; every plugin is tried, the first error is thrown afterwards. */
  async delNetworkList(list: CniConfList, rt: CniRuntimeConf, cachedResult?: CniResult): Promise<void> {
    let first: unknown;
    for (const p of [...list.plugins].reverse()) {
      try {
        await this.exec('DEL', CniInvoker.pluginConf(list, p, rt, cachedResult), rt);
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  }

  /** CHECK of a whole list against the cached ADD result. */
  async checkNetworkList(list: CniConfList, rt: CniRuntimeConf, cachedResult: CniResult): Promise<void> {
    for (const p of list.plugins) await this.exec('CHECK', CniInvoker.pluginConf(list, p, rt, cachedResult), rt);
  }
}

/** Options of {@link bridgeConfList}. */
export interface BridgeConfOptions {
  /** Network name (also host-local's state subdirectory). */
  name: string;
  bridge: string;
  /** The node's podCIDR. */
  subnet: string;
  /** host-local's state directory (under the agent's data dir so it survives restarts). */
  ipamDataDir: string;
  mtu?: number;
  /** Add the portmap plugin (hostPort). Default true. */
  portmap?: boolean;
}

/**
 * The pod network list containerd/k3s would configure for a host-gw setup: `bridge` (the node's bridge is the pods'
 * gateway; no ipMasq — the node network masquerades egress leaving the cluster CIDR), host-local IPAM over the
 * node's podCIDR with a default route, and `portmap` for hostPorts.
 */
export function bridgeConfList(o: BridgeConfOptions): CniConfList {
  const plugins: CniPluginConf[] = [
    {
      type: 'bridge',
      bridge: o.bridge,
      isGateway: true,
      ipMasq: false,
      hairpinMode: true,
      ...(o.mtu ? { mtu: o.mtu } : {}),
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: o.subnet }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: o.ipamDataDir,
      },
    },
  ];
  if (o.portmap !== false) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  return { cniVersion: '1.0.0', name: o.name, plugins };
}

/** The loopback network containerd attaches first to every pod (`lo` up). */
export function loopbackConfList(): CniConfList {
  return { cniVersion: '1.0.0', name: 'cni-loopback', plugins: [{ type: 'loopback' }] };
}
