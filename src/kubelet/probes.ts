/**
 * Container probes, as the kubelet's prober: one {@link ProbeWorker} per (container instance, probe kind) runs the
 * probe every `periodSeconds` after `initialDelaySeconds`, with `timeoutSeconds`, and flips its result only after
 * `successThreshold` consecutive successes or `failureThreshold` consecutive failures. Readiness starts as failure,
 * liveness as success, startup as failure; while a startup probe has not succeeded the other two do not run
 * (upstream semantics). Handlers: exec (runtime execSync; exit 0), httpGet (2xx/3xx), tcpSocket (connect), grpc
 * (grpc.health.v1.Health/Check over HTTP/2; SERVING). Pod-network handlers dial through the runtime's portForward
 * when the pod has its own network namespace, else the pod IP (or 127.0.0.1) directly.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Container, HTTPGetAction, Probe } from 'kubernetes-types/core/v1.js';
import type { RuntimeService } from './runtime/types.js';

/** Which probe. */
export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** Where and how a probe reaches its container. */
export interface ProbeTarget {
  runtime: RuntimeService;
  containerId: string;
  sandboxId: string;
  /** The pod's IP ('' when the pod has no routable IP; then portForward is used). */
  podIP: string;
  /** The sandbox shares the host network (hostNetwork or host mode). */
  hostNetwork: boolean;
  container: Container;
}

/** The outcome of one probe run: success, or failure with an upstream-style message. */
export interface ProbeOutcome {
  ok: boolean;
  message?: string;
}

function resolvePort(port: number | string, c: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = c.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`couldn't find port ${port} in container ${c.name}`);
  return p.containerPort;
}

/** A connected socket to `port` in the pod (see the module comment). */
async function dial(t: ProbeTarget, host: string | undefined, port: number, timeoutMs: number): Promise<Duplex> {
  const direct = host || (t.hostNetwork ? '127.0.0.1' : t.podIP);
  const withTimeout = <T>(p: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dial tcp ${direct || 'pod'}:${port}: i/o timeout`)), timeoutMs);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  // No routable pod IP (host mode without the pod network): the runtime relays through a helper process it starts
  // in the pod's network namespace. Starting that helper is Skiff's cost, not the container's answer time, so it gets
  // its own bound (10 s) instead of eating into timeoutSeconds — on a loaded node it alone can take over a second.
  if (!direct) {
    const relay = await new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dial tcp pod:${port}: port-forward relay did not start within 10s`)), Math.max(timeoutMs, 10_000));
      t.runtime.portForward(t.sandboxId, port).then(
        (v) => { clearTimeout(timer); resolve(v); },
        (e) => { clearTimeout(timer); reject(e); },
      );
    });
    return relay;
  }
  return withTimeout(
    new Promise<Duplex>((resolve, reject) => {
      const s = net.connect(port, direct);
      s.once('connect', () => resolve(s));
      s.once('error', (e) => reject(new Error(`dial tcp ${direct}:${port}: ${e.message}`)));
    }),
  );
}

async function httpProbe(t: ProbeTarget, a: HTTPGetAction, timeoutMs: number): Promise<ProbeOutcome> {
  const port = resolvePort(a.port, t.container);
  const sock = await dial(t, a.host, port, timeoutMs);
  const path = a.path || '/';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const h of a.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise<ProbeOutcome>((resolve) => {
    const req = http.request(
      { method: 'GET', path: path.startsWith('/') ? path : `/${path}`, headers, createConnection: () => sock as net.Socket, host: a.host || 'localhost', port },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        res.on('end', () => sock.destroy());
        resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({ ok: false, message: `Get "http://${a.host || 'pod'}:${port}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e) => resolve({ ok: false, message: `Get "http://${a.host || 'pod'}:${port}${path}": ${e.message}` }));
    req.end();
  });
}

function encodeHealthRequest(service: string): Buffer {
  const s = Buffer.from(service);
  const msg = s.length ? Buffer.concat([Buffer.from([0x0a, s.length]), s]) : Buffer.alloc(0);
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
}

/** Reads `status` (field 1, varint) of a framed HealthCheckResponse. */
function decodeHealthStatus(buf: Buffer): number {
  if (buf.length < 5) return 0;
  const msg = buf.subarray(5, 5 + buf.readUInt32BE(1));
  for (let i = 0; i < msg.length; ) {
    const tag = msg[i++]!;
    if (tag === 0x08) return msg[i]!;
    // skip other fields (varint or length-delimited)
    if ((tag & 7) === 0) while (msg[i++]! & 0x80);
    else if ((tag & 7) === 2) i += msg[i]! + 1;
    else break;
  }
  return 0;
}

async function grpcProbe(t: ProbeTarget, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const sock = await dial(t, undefined, port, timeoutMs);
  return new Promise<ProbeOutcome>((resolve) => {
    const session = http2.connect(`http://localhost:${port}`, { createConnection: () => sock });
    const done = (o: ProbeOutcome) => {
      clearTimeout(timer);
      session.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ ok: false, message: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` }), timeoutMs);
    session.on('error', (e) => done({ ok: false, message: `failed to connect service "localhost:${port}" within ${timeoutMs / 1000}s: ${e.message}` }));
    const req = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('trailers', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', (e) => done({ ok: false, message: e.message }));
    req.on('end', () => {
      if (grpcStatus && grpcStatus !== '0') return done({ ok: false, message: `rpc error: code = ${grpcStatus}` });
      const st = decodeHealthStatus(Buffer.concat(chunks));
      done(st === 1 ? { ok: true } : { ok: false, message: `service unhealthy (responded with "${['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][st] ?? st}")` });
    });
    req.end(encodeHealthRequest(service));
  });
}

/** Runs one probe once (the prober's `runProbe`). Errors count as failures with their message. */
export async function runProbe(p: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutS = p.timeoutSeconds ?? 1;
  const timeoutMs = timeoutS * 1000;
  try {
    if (p.exec) {
      const r = await t.runtime.execSync(t.containerId, p.exec.command ?? [], timeoutS);
      if (r.exitCode === 0) return { ok: true };
      const out = Buffer.concat([r.stdout, r.stderr]).toString().trim();
      return { ok: false, message: out || `command ${JSON.stringify((p.exec.command ?? []).join(' '))} exited with ${r.exitCode}` };
    }
    if (p.httpGet) return await httpProbe(t, p.httpGet, timeoutMs);
    if (p.tcpSocket) {
      const s = await dial(t, p.tcpSocket.host, resolvePort(p.tcpSocket.port, t.container), timeoutMs);
      s.destroy();
      return { ok: true };
    }
    if (p.grpc) return await grpcProbe(t, p.grpc.port, p.grpc.service ?? '', timeoutMs);
    return { ok: false, message: 'missing probe handler' };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Periodic runner of one probe of one container instance (the kubelet's prober `worker`). `onChange` fires when the
 * thresholded result flips; `result` is the current one.
 */
export class ProbeWorker {
  result: boolean;
  lastMessage = '';
  private successes = 0;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Gate: liveness/readiness wait for `started()` when the container has a startup probe. */
  private readonly gate: () => boolean;

  constructor(
    readonly kind: ProbeKind,
    readonly probe: Probe,
    private readonly target: ProbeTarget,
    private readonly onChange: (w: ProbeWorker) => void,
    gate: () => boolean = () => true,
    private readonly onFailure?: (w: ProbeWorker, message: string) => void,
  ) {
    this.result = kind === 'liveness';
    this.gate = gate;
    const delay = (probe.initialDelaySeconds ?? 0) * 1000;
    this.schedule(delay);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const period = (this.probe.periodSeconds ?? 10) * 1000;
    // A startup probe that succeeded stops running (upstream); the others run while the container lives.
    if (this.kind === 'startup' && this.result) return;
    if (this.gate()) {
      const o = await runProbe(this.probe, this.target);
      if (this.stopped) return;
      this.record(o);
    }
    this.schedule(period);
  }

  private record(o: ProbeOutcome): void {
    if (o.ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
      this.lastMessage = o.message ?? '';
      this.onFailure?.(this, this.lastMessage);
    }
    const successThreshold = this.kind === 'readiness' ? (this.probe.successThreshold ?? 1) : 1;
    const failureThreshold = this.probe.failureThreshold ?? 3;
    let next = this.result;
    if (o.ok && this.successes >= successThreshold) next = true;
    if (!o.ok && this.failures >= failureThreshold) next = false;
    if (next !== this.result) {
      this.result = next;
      // Upstream resets the failure count after acting on a liveness/startup failure.
      if (!next && this.kind !== 'readiness') this.failures = 0;
      this.onChange(this);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
