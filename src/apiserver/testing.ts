/**
 * Test harness for the apiserver: an ApiServerCore over a MemoryBackend, mounted on a plain `node:http` server on
 * 127.0.0.1 (HTTPS and real authentication are tested elsewhere), bootstrapped with the system namespaces.
 * Every request is an admin unless it carries the `x-test-anonymous` header.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryBackend } from '../store/memory.js';
import { bootstrapCluster } from '../server/bootstrap.js';
import { ApiServerCore, CoreOptions } from './core.js';
import type { UserInfo } from './context.js';

export const ADMIN: UserInfo = { username: 'admin', uid: 'admin-uid', groups: ['system:masters', 'system:authenticated'] };

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface RequestOptions {
  /** An object is sent as JSON (unless a content-type says otherwise and it is a string/Buffer). */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface WatchEventLine {
  type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  object: any;
}

export interface TestWatch {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: WatchEventLine[];
  /** Resolves once at least `n` events have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<WatchEventLine[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
}

export interface TestApiserver {
  core: ApiServerCore;
  backend: MemoryBackend;
  server: http.Server;
  baseUrl: string;
  request(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  watch(path: string, headers?: Record<string, string>): Promise<TestWatch>;
  close(): Promise<void>;
}

export async function startTestApiserver(extra: Partial<CoreOptions> = {}): Promise<TestApiserver> {
  const backend = new MemoryBackend();
  await backend.start();
  const core = new ApiServerCore({
    backend,
    authenticate: (req) => (req.headers['x-test-anonymous'] !== undefined ? undefined : ADMIN),
    ...extra,
  });
  await bootstrapCluster(core);
  core.ready = true;
  const server = http.createServer(core.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: false });
  const watches = new Set<TestWatch>();

  const request = (method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) payload = Buffer.from(opts.body as string);
        else {
          payload = Buffer.from(JSON.stringify(opts.body));
          if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
        }
        headers['Content-Length'] = String(payload.length);
      }
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });

  const watch = (path: string, headers: Record<string, string> = {}): Promise<TestWatch> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'GET', path, headers, agent });
      req.on('error', (e) => { if (!settled) reject(e); });
      let settled = false;
      req.on('response', (res) => {
        settled = true;
        const events: WatchEventLine[] = [];
        let buf = '';
        let ended = false;
        const waiters: Array<() => void> = [];
        const wake = () => { for (const w of waiters.splice(0)) w(); };
        let endResolve!: () => void;
        const endedP = new Promise<void>((r) => { endResolve = r; });
        const onEnd = () => { if (ended) return; ended = true; endResolve(); wake(); watches.delete(w); };
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) events.push(JSON.parse(line));
          }
          wake();
        });
        res.on('end', onEnd);
        res.on('close', onEnd);
        res.on('error', onEnd);
        const w: TestWatch = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events,
          ended: endedP,
          isEnded: () => ended,
          waitFor(n: number, timeoutMs = 3000) {
            return new Promise((ok, fail) => {
              const deadline = setTimeout(() => fail(new Error(`timed out waiting for ${n} events; got ${JSON.stringify(events.map((e) => e.type))}`)), timeoutMs);
              const check = () => {
                if (events.length >= n) { clearTimeout(deadline); ok(events.slice()); return; }
                if (ended) { clearTimeout(deadline); fail(new Error(`stream ended with ${events.length} events, wanted ${n}`)); return; }
                waiters.push(check);
              };
              check();
            });
          },
          close() { req.destroy(); res.destroy(); onEnd(); },
        };
        watches.add(w);
        resolve(w);
      });
      req.end();
    });

  return {
    core, backend, server, baseUrl: `http://127.0.0.1:${port}`, request, watch,
    async close() {
      for (const w of [...watches]) w.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
      await backend.close();
    },
  };
}

/** Shorthands for the paths the tests use most. */
export const paths = {
  cms: (ns = 'default') => `/api/v1/namespaces/${ns}/configmaps`,
  cm: (name: string, ns = 'default') => `/api/v1/namespaces/${ns}/configmaps/${name}`,
  pods: (ns = 'default') => `/api/v1/namespaces/${ns}/pods`,
  pod: (name: string, ns = 'default') => `/api/v1/namespaces/${ns}/pods/${name}`,
  deploys: (ns = 'default') => `/apis/apps/v1/namespaces/${ns}/deployments`,
  deploy: (name: string, ns = 'default') => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
};

/** A minimal valid Deployment. */
export function deployment(name: string, replicas = 1, labels: Record<string, string> = { app: 'web' }): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'c1', image: 'nginx:1' }] } },
    },
  };
}

export function configMap(name: string, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: labels ? { name, labels } : { name }, data };
}

export function pod(name: string, extraSpec: Record<string, unknown> = {}, labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: labels ? { name, labels } : { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...extraSpec },
  };
}
