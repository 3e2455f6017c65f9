/**
 * End-to-end harness: starts a real `skiff server` process on a temp data dir and a free port, and runs the real
 * kubectl against it with the kubeconfig the server wrote. Tests that need kubectl skip loudly without it.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SKIFF_BIN = join(ROOT, 'bin', 'skiff.js');

/** Path of a specific kubectl minor (`kubectl.1.33`) next to the real binary, or the dispatcher for undefined. */
export function kubectlPath(minor?: string): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  if (!p) return undefined;
  if (!minor) return p;
  const real = realpathSync(p);
  const candidate = join(dirname(real), `kubectl.1.${minor}`);
  return existsSync(candidate) ? candidate : undefined;
}

export const KUBECTL = kubectlPath();
/** Reason string for `{ skip }` when kubectl is absent. */
export const NO_KUBECTL = KUBECTL ? false : 'kubectl is not installed on PATH: kubectl end-to-end tests SKIPPED';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestServer {
  url: string;
  dataDir: string;
  /** kubectl's private cache/HOME directory (removed by {@link cleanup}). */
  cacheDir: string;
  kubeconfig: string;
  proc: ChildProcess;
  /** Runs kubectl (dispatcher by default) with this server's kubeconfig and a private cache dir. */
  kubectl(args: string[], opts?: { input?: string; env?: Record<string, string>; binary?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Like kubectl() but throws with stderr when the exit code is not 0. */
  k(args: string[], opts?: { input?: string; env?: Record<string, string>; binary?: string }): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts the server again on the same data dir and port (after stop). */
  restart(): Promise<void>;
}

export interface StartOptions {
  /** Run the in-process node agent (default: off, tests simulate nodes). */
  withAgent?: boolean;
  datastore?: string;
  dataDir?: string;
  extraArgs?: string[];
  port?: number;
}

function waitForReady(proc: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`skiff server did not become ready in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /Skiff is running at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr!.on('data', (d) => { err += d; if (err.length > 100_000) err = err.slice(-50_000); });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`skiff server exited with ${code} before ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

export async function startServer(o: StartOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-e2e-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'skiff-kcache-'));
  let port = o.port ?? 0;
  const launch = async () => {
    // Tests play the node themselves unless they ask for the in-process agent (`withAgent`).
    const agentArgs = o.withAgent || (o.extraArgs ?? []).includes('--disable-agent') ? [] : ['--disable-agent'];
    // No pod network (bridge, routes, iptables) unless the test opts in with its own --pod-network, --cluster-cidr
    // and --bridge-name, so tests never touch the host's network by accident.
    if (!(o.extraArgs ?? []).some((a) => a === '--pod-network' || a.startsWith('--pod-network='))) agentArgs.push('--pod-network=none');
    const proc = spawn(process.execPath, [SKIFF_BIN, 'server', '--data-dir', dataDir, '--https-port', String(port), '--datastore', o.datastore ?? 'memory://', '--log-level', 'warn', ...agentArgs, ...(o.extraArgs ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    });
    const url = await waitForReady(proc, 20_000);
    port = Number(new URL(url).port);
    return { proc, url };
  };
  let { proc, url } = await launch();
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const kubectl: TestServer['kubectl'] = (args, opts = {}) => new Promise((resolve) => {
    const bin = opts.binary ?? KUBECTL ?? 'kubectl';
    const child = spawn(bin, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
      env: { ...process.env, HOME: cacheDir, ...(opts.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    if (opts.input !== undefined) child.stdin.end(opts.input); else child.stdin.end();
  });
  const server: TestServer = {
    url,
    dataDir,
    cacheDir,
    kubeconfig,
    proc,
    kubectl,
    async k(args, opts) {
      const r = await kubectl(args, opts);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      const p = server.proc;
      if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
      return new Promise((resolve) => {
        p.once('exit', (code) => resolve(code));
        p.kill(signal);
      });
    },
    async restart() {
      ({ proc, url } = await launch());
      server.proc = proc;
      server.url = url;
    },
  };
  return server;
}

export function cleanup(s: TestServer | undefined): Promise<void> {
  if (!s) return Promise.resolve();
  return s.stop('SIGKILL').then(() => {
    rmSync(s.dataDir, { recursive: true, force: true });
    rmSync(s.cacheDir, { recursive: true, force: true });
  });
}

export function readKubeconfig(s: TestServer): string {
  return readFileSync(s.kubeconfig, 'utf8');
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Admin TLS material read from the server's kubeconfig-adjacent files. */
export function adminTls(s: TestServer): { ca: string; cert: string; key: string } {
  const dir = join(s.dataDir, 'tls');
  const pick = (names: string[]) => {
    for (const n of names) { const p = join(dir, n); if (existsSync(p)) return readFileSync(p, 'utf8'); }
    throw new Error(`none of ${names.join(', ')} in ${dir}`);
  };
  return { ca: pick(['ca.crt', 'server-ca.crt']), cert: pick(['admin.crt', 'client-admin.crt']), key: pick(['admin.key', 'client-admin.key']) };
}

/** A raw HTTPS request with the admin client certificate (or none when `anonymous`). */
export async function request(s: TestServer, method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string>; anonymous?: boolean; timeoutMs?: number } = {}): Promise<HttpResult> {
  const https = await import('node:https');
  const tls = adminTls(s);
  const u = new URL(path, s.url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      method, hostname: u.hostname, port: u.port, path: u.pathname + u.search,
      ca: tls.ca, cert: opts.anonymous ? undefined : tls.cert, key: opts.anonymous ? undefined : tls.key,
      headers: { ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...(opts.headers ?? {}) }, agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body); else req.end();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `f` until it returns a truthy value and returns that; errors thrown by `f` count as "not yet" and the last
 * one is named in the timeout error, as is `o.detail()` (e.g. a child process's stderr) when given.
 */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  o: { intervalMs?: number; detail?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const detail = o.detail?.() ?? '';
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}${detail ? `\n${detail}` : ''}`);
    }
    await sleep(o.intervalMs ?? 300);
  }
}
