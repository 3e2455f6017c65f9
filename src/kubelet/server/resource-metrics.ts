/**
 * The kubelet's resource metrics endpoints, as kubelet 1.32 serves them on its port:
 * - `GET /metrics/resource`: Prometheus text (pkg/kubelet/metrics/collectors/resource_metrics.go) with the STABLE
 *   series metrics-server scrapes — container_cpu_usage_seconds_total, container_memory_working_set_bytes,
 *   container_start_time_seconds, node_*, pod_* and resource_scrape_error — each sample stamped with the time
 *   its value was read (milliseconds), so the scraper computes CPU rates over the real interval.
 * - `GET /stats/summary`: the Summary API JSON (k8s.io/kubelet/pkg/apis/stats/v1alpha1), node and pods with cpu and
 *   memory only; `usageNanoCores` is the rate since the previous read of the same container.
 * The data comes from a {@link ResourceStatsProvider} (resource-stats.ts adapts the runtime).
 */
import type { ServerResponse } from 'node:http';
import type { CpuUsage, MemoryUsage } from '../runtime/types.js';

/** One running container's usage, with the pod it belongs to. */
export interface ContainerUsage {
  id: string;
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  /** Nanoseconds since the epoch. */
  startTimeNs: number;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
}

/** The node's usage. */
export interface NodeUsage {
  timestampNs: number;
  cpuUsageNanos?: number;
  workingSetBytes?: number;
  usageBytes?: number;
  availableBytes?: number;
  startTimeNs?: number;
}

/** Where the endpoints read usage from. */
export interface ResourceStatsProvider {
  nodeName: string;
  containers(): Promise<ContainerUsage[]>;
  node(): Promise<NodeUsage>;
}

/** Content type of the Prometheus text exposition format 0.0.4, as the kubelet answers. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Formats a float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does (what Prometheus' expfmt writes): shortest
 * digits, in exponent form (two-digit exponent) when the decimal exponent is < -4 or >= 6 — `12000000` is written
 * `1.2e+07`, `2.5` stays `2.5`.
 */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const [mant, e] = v.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

type Sample = { labels: Array<[string, string]>; value: number; tsMs: number };

function family(name: string, help: string, type: 'counter' | 'gauge', samples: Sample[]): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  for (const s of samples) {
    const labels = s.labels.length ? `{${s.labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
    out += `${name}${labels} ${goFloat(s.value)} ${Math.floor(s.tsMs)}\n`;
  }
  return out;
}

const ms = (ns: number) => ns / 1e6;

/** Renders `/metrics/resource` (families in name order, series sorted by labels, as the Go registry gathers them). */
export function formatResourceMetrics(node: NodeUsage, containers: ContainerUsage[], scrapeError = false): string {
  const sorted = [...containers].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod) || a.container.localeCompare(b.container));
  const cLabels = (c: ContainerUsage): Array<[string, string]> => [['container', c.container], ['namespace', c.namespace], ['pod', c.pod]];
  const cpu: Sample[] = [];
  const mem: Sample[] = [];
  const start: Sample[] = [];
  const pods = new Map<string, { namespace: string; pod: string; cpu?: Sample; mem?: Sample }>();
  for (const c of sorted) {
    const key = `${c.namespace}/${c.pod}`;
    const p = pods.get(key) ?? { namespace: c.namespace, pod: c.pod };
    pods.set(key, p);
    const podLabels: Array<[string, string]> = [['namespace', c.namespace], ['pod', c.pod]];
    if (c.cpu?.usageCoreNanoSeconds !== undefined) {
      const v = c.cpu.usageCoreNanoSeconds / 1e9;
      cpu.push({ labels: cLabels(c), value: v, tsMs: ms(c.cpu.timestamp) });
      p.cpu = p.cpu ? { ...p.cpu, value: p.cpu.value + v, tsMs: Math.max(p.cpu.tsMs, ms(c.cpu.timestamp)) } : { labels: podLabels, value: v, tsMs: ms(c.cpu.timestamp) };
    }
    if (c.memory?.workingSetBytes !== undefined) {
      const v = c.memory.workingSetBytes;
      mem.push({ labels: cLabels(c), value: v, tsMs: ms(c.memory.timestamp) });
      p.mem = p.mem ? { ...p.mem, value: p.mem.value + v, tsMs: Math.max(p.mem.tsMs, ms(c.memory.timestamp)) } : { labels: podLabels, value: v, tsMs: ms(c.memory.timestamp) };
    }
    // Only containers with usage are reported, as the kubelet skips containers without cpu/memory stats.
    if (c.cpu || c.memory) start.push({ labels: cLabels(c), value: c.startTimeNs / 1e9, tsMs: ms(c.startTimeNs) });
  }
  const podList = [...pods.values()];
  let out = '';
  out += family('container_cpu_usage_seconds_total', '[STABLE] Cumulative cpu time consumed by the container in core-seconds', 'counter', cpu);
  out += family('container_memory_working_set_bytes', '[STABLE] Current working set of the container in bytes', 'gauge', mem);
  out += family('container_start_time_seconds', '[STABLE] Start time of the container since unix epoch in seconds', 'gauge', start);
  const nodeTs = ms(node.timestampNs);
  out += family('node_cpu_usage_seconds_total', '[STABLE] Cumulative cpu time consumed by the node in core-seconds', 'counter',
    node.cpuUsageNanos !== undefined ? [{ labels: [], value: node.cpuUsageNanos / 1e9, tsMs: nodeTs }] : []);
  out += family('node_memory_working_set_bytes', '[STABLE] Current working set of the node in bytes', 'gauge',
    node.workingSetBytes !== undefined ? [{ labels: [], value: node.workingSetBytes, tsMs: nodeTs }] : []);
  out += family('pod_cpu_usage_seconds_total', '[STABLE] Cumulative cpu time consumed by the pod in core-seconds', 'counter', podList.flatMap((p) => (p.cpu ? [p.cpu] : [])));
  out += family('pod_memory_working_set_bytes', '[STABLE] Current working set of the pod in bytes', 'gauge', podList.flatMap((p) => (p.mem ? [p.mem] : [])));
  // resource_scrape_error carries no timestamp upstream.
  out += `# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\nresource_scrape_error ${scrapeError ? 1 : 0}\n`;
  return out;
}

const rfc3339 = (ns: number) => new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Remembers the previous cumulative CPU reading per key to derive `usageNanoCores`, as cAdvisor does. */
class RateTracker {
  private prev = new Map<string, { ts: number; cum: number }>();
  rate(key: string, ts: number, cum: number): number | undefined {
    const p = this.prev.get(key);
    this.prev.set(key, { ts, cum });
    if (!p || ts <= p.ts || cum < p.cum) return undefined;
    return Math.round(((cum - p.cum) / (ts - p.ts)) * 1e9);
  }
  retain(keys: Set<string>): void {
    for (const k of this.prev.keys()) if (!keys.has(k)) this.prev.delete(k);
  }
}

function cpuStats(rates: RateTracker, key: string, ts: number | undefined, cum: number | undefined) {
  if (ts === undefined || cum === undefined) return undefined;
  const r = rates.rate(key, ts, cum);
  return { time: rfc3339(ts), ...(r !== undefined ? { usageNanoCores: r } : {}), usageCoreNanoSeconds: Math.round(cum) };
}

function memStats(ts: number | undefined, m: { workingSetBytes?: number; usageBytes?: number; rssBytes?: number; availableBytes?: number }) {
  if (ts === undefined || m.workingSetBytes === undefined) return undefined;
  const out: Record<string, unknown> = { time: rfc3339(ts) };
  if (m.availableBytes !== undefined) out.availableBytes = m.availableBytes;
  if (m.usageBytes !== undefined) out.usageBytes = m.usageBytes;
  out.workingSetBytes = m.workingSetBytes;
  if (m.rssBytes !== undefined) out.rssBytes = m.rssBytes;
  return out;
}

/** Builds `/stats/summary` (node + pods, cpu and memory); `rates` keeps the previous CPU readings across calls. */
function buildSummary(nodeName: string, node: NodeUsage, containers: ContainerUsage[], rates: RateTracker): unknown {
  const keys = new Set<string>(['node']);
  const pods = new Map<string, { ref: { name: string; namespace: string; uid: string }; start: number; cs: ContainerUsage[] }>();
  for (const c of containers) {
    const key = `${c.namespace}/${c.pod}/${c.podUid}`;
    const p = pods.get(key) ?? { ref: { name: c.pod, namespace: c.namespace, uid: c.podUid }, start: c.startTimeNs, cs: [] };
    p.start = Math.min(p.start, c.startTimeNs);
    p.cs.push(c);
    pods.set(key, p);
  }
  const podStats = [...pods.values()].map((p) => {
    const cs = p.cs.sort((a, b) => a.container.localeCompare(b.container)).map((c) => {
      keys.add(c.id);
      const out: Record<string, unknown> = { name: c.container, startTime: rfc3339(c.startTimeNs) };
      const cpu = cpuStats(rates, c.id, c.cpu?.timestamp, c.cpu?.usageCoreNanoSeconds);
      if (cpu) out.cpu = cpu;
      const mem = c.memory ? memStats(c.memory.timestamp, c.memory) : undefined;
      if (mem) out.memory = mem;
      return out;
    });
    const podKey = `pod:${p.ref.uid || `${p.ref.namespace}/${p.ref.name}`}`;
    keys.add(podKey);
    const withCpu = p.cs.filter((c) => c.cpu?.usageCoreNanoSeconds !== undefined);
    const withMem = p.cs.filter((c) => c.memory?.workingSetBytes !== undefined);
    const out: Record<string, unknown> = { podRef: p.ref, startTime: rfc3339(p.start), containers: cs };
    if (withCpu.length) {
      const ts = Math.max(...withCpu.map((c) => c.cpu!.timestamp));
      out.cpu = cpuStats(rates, podKey, ts, withCpu.reduce((s, c) => s + c.cpu!.usageCoreNanoSeconds!, 0));
    }
    if (withMem.length) {
      const sum = (f: (m: MemoryUsage) => number | undefined) => withMem.reduce((s, c) => s + (f(c.memory!) ?? 0), 0);
      out.memory = memStats(Math.max(...withMem.map((c) => c.memory!.timestamp)), {
        workingSetBytes: sum((m) => m.workingSetBytes),
        usageBytes: sum((m) => m.usageBytes),
        rssBytes: sum((m) => m.rssBytes),
      });
    }
    return out;
  });
  rates.retain(keys);
  const nodeOut: Record<string, unknown> = { nodeName };
  if (node.startTimeNs !== undefined) nodeOut.startTime = rfc3339(node.startTimeNs);
  const ncpu = cpuStats(rates, 'node', node.timestampNs, node.cpuUsageNanos);
  if (ncpu) nodeOut.cpu = ncpu;
  const nmem = memStats(node.timestampNs, node);
  if (nmem) nodeOut.memory = nmem;
  return { node: nodeOut, pods: podStats };
}

/**
 * Returns a request handler for the two endpoints: it answers (and returns true) for `/metrics/resource` and
 * `/stats/summary`, and returns false for any other path. Failures to read usage are logged by the caller's 500.
 */
export function resourceMetricsHandler(provider: ResourceStatsProvider): (method: string, path: string, res: ServerResponse) => Promise<boolean> {
  const rates = new RateTracker();
  return async (method, path, res) => {
    if (path !== '/metrics/resource' && path !== '/stats/summary' && path !== '/stats/summary/') return false;
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET' });
      res.end('405 method not allowed\n');
      return true;
    }
    const [node, containers, scrapeError] = await Promise.all([
      provider.node(),
      provider.containers().then((c) => [c, false] as const, () => [[] as ContainerUsage[], true] as const),
    ]).then(([n, [c, e]]) => [n, c, e] as const);
    if (path === '/metrics/resource') {
      const body = formatResourceMetrics(node, containers, scrapeError);
      res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT, 'Content-Length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      return true;
    }
    const body = JSON.stringify(buildSummary(provider.nodeName, node, containers, rates), null, 2);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(method === 'HEAD' ? undefined : body);
    return true;
  };
}
