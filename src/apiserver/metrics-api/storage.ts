/**
 * What metrics-server keeps between scrapes (its pkg/storage): per node and per container the last two readings of
 * cumulative CPU time and working-set memory. Usage is the CPU rate between the two readings and the newest memory
 * value; `window` is the time between the readings and `timestamp` the newest one. A restarted container (new start
 * time, or CPU time that went down) counts from its start with zero CPU, as metrics-server does.
 */
import { parsePrometheusText } from './prometheus.js';

/** One reading. `cpuNanos` is cumulative CPU time. */
export interface MetricsPoint {
  timestampMs: number;
  cpuNanos?: number;
  memoryBytes?: number;
  startTimeMs?: number;
}

/** Usage derived from two readings. */
export interface Usage {
  timestampMs: number;
  windowMs: number;
  /** CPU rate in nanocores (1e9 = one core). */
  cpuNanoCores: number;
  memoryBytes: number;
}

/** One decoded `/metrics/resource` scrape of a node. */
export interface NodeScrape {
  node?: MetricsPoint;
  /** `namespace/pod` → container name → reading. */
  pods: Map<string, Map<string, MetricsPoint>>;
}

/** Decodes a kubelet `/metrics/resource` body; samples without a timestamp get `scrapeTimeMs`. */
export function decodeResourceMetrics(text: string, scrapeTimeMs: number): NodeScrape {
  const out: NodeScrape = { pods: new Map() };
  const container = (l: Record<string, string>): MetricsPoint | undefined => {
    if (!l.namespace || !l.pod || !l.container) return undefined;
    const key = `${l.namespace}/${l.pod}`;
    let cs = out.pods.get(key);
    if (!cs) out.pods.set(key, (cs = new Map()));
    let p = cs.get(l.container);
    if (!p) cs.set(l.container, (p = { timestampMs: 0 }));
    return p;
  };
  for (const s of parsePrometheusText(text)) {
    const ts = s.timestampMs ?? scrapeTimeMs;
    switch (s.name) {
      case 'node_cpu_usage_seconds_total':
        out.node = { ...(out.node ?? {}), timestampMs: Math.max(out.node?.timestampMs ?? 0, ts), cpuNanos: Math.round(s.value * 1e9) };
        break;
      case 'node_memory_working_set_bytes':
        out.node = { ...(out.node ?? { timestampMs: ts }), memoryBytes: s.value };
        break;
      case 'container_cpu_usage_seconds_total': {
        const p = container(s.labels);
        if (p) { p.cpuNanos = Math.round(s.value * 1e9); p.timestampMs = Math.max(p.timestampMs, ts); }
        break;
      }
      case 'container_memory_working_set_bytes': {
        const p = container(s.labels);
        if (p) { p.memoryBytes = s.value; if (!p.timestampMs) p.timestampMs = ts; }
        break;
      }
      case 'container_start_time_seconds': {
        const p = container(s.labels);
        if (p) p.startTimeMs = Math.round(s.value * 1000);
        break;
      }
    }
  }
  return out;
}

interface Series {
  prev?: MetricsPoint;
  last: MetricsPoint;
}

function advance(s: Series | undefined, p: MetricsPoint): Series {
  if (!s) return { last: p };
  if (p.timestampMs <= s.last.timestampMs) return s; // nothing new
  const restarted = (p.startTimeMs !== undefined && s.last.startTimeMs !== undefined && p.startTimeMs !== s.last.startTimeMs)
    || (p.cpuNanos !== undefined && s.last.cpuNanos !== undefined && p.cpuNanos < s.last.cpuNanos);
  if (restarted) {
    // Count from the start of the new instance when its start time is known and before this reading.
    const start = p.startTimeMs;
    return { last: p, ...(start !== undefined && start < p.timestampMs ? { prev: { timestampMs: start, cpuNanos: 0 } } : {}) };
  }
  return { prev: s.last, last: p };
}

function usageOf(s: Series | undefined): Usage | undefined {
  if (!s?.prev || s.last.cpuNanos === undefined || s.prev.cpuNanos === undefined || s.last.memoryBytes === undefined) return undefined;
  const windowMs = s.last.timestampMs - s.prev.timestampMs;
  if (windowMs <= 0) return undefined;
  return {
    timestampMs: s.last.timestampMs,
    windowMs,
    cpuNanoCores: Math.max(0, Math.floor(((s.last.cpuNanos - s.prev.cpuNanos) * 1000) / windowMs)),
    memoryBytes: s.last.memoryBytes,
  };
}

/** Usage of one pod: its containers with enough readings, by name. */
export interface PodUsage {
  timestampMs: number;
  windowMs: number;
  containers: Array<{ name: string } & Usage>;
}

/** The readings of every scraped node and its pods. */
export class MetricsStorage {
  private readonly nodes = new Map<string, Series>();
  /** `namespace/pod` → the node that reported it and its containers. */
  private readonly pods = new Map<string, { node: string; containers: Map<string, Series> }>();

  /** Records a node's scrape; its pods that are no longer reported are forgotten. */
  store(nodeName: string, scrape: NodeScrape): void {
    if (scrape.node) this.nodes.set(nodeName, advance(this.nodes.get(nodeName), scrape.node));
    for (const [key, pod] of this.pods) if (pod.node === nodeName && !scrape.pods.has(key)) this.pods.delete(key);
    for (const [key, cs] of scrape.pods) {
      const old = this.pods.get(key);
      const containers = new Map<string, Series>();
      for (const [name, p] of cs) containers.set(name, advance(old?.node === nodeName ? old.containers.get(name) : undefined, p));
      this.pods.set(key, { node: nodeName, containers });
    }
  }

  /** Forgets nodes (and their pods) not in `keep` (deleted or no longer Ready). */
  retainNodes(keep: Set<string>): void {
    for (const n of this.nodes.keys()) if (!keep.has(n)) this.nodes.delete(n);
    for (const [k, p] of this.pods) if (!keep.has(p.node)) this.pods.delete(k);
  }

  nodeUsage(name: string): Usage | undefined {
    return usageOf(this.nodes.get(name));
  }

  podUsage(namespace: string, name: string): PodUsage | undefined {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return undefined;
    const containers: PodUsage['containers'] = [];
    for (const [cname, s] of [...pod.containers].sort(([a], [b]) => a.localeCompare(b))) {
      const u = usageOf(s);
      if (u) containers.push({ name: cname, ...u });
    }
    if (!containers.length) return undefined;
    return {
      timestampMs: Math.max(...containers.map((c) => c.timestampMs)),
      windowMs: Math.max(...containers.map((c) => c.windowMs)),
      containers,
    };
  }
}
