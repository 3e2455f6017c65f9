/**
 * Connects the kubelet's resource metrics endpoints (`/metrics/resource`, `/stats/summary`, see
 * server/resource-metrics.ts) to the runtime: CRI `ListContainerStats` gives each running container's usage, the
 * labels the pod workers put on containers name its pod, and /proc gives the node's — the data upstream's kubelet
 * takes from the CRI and cAdvisor.
 */
import { hostname } from 'node:os';
import type { RuntimeService } from './runtime/types.js';
import type { ContainerUsage, NodeUsage, ResourceStatsProvider } from './server/resource-metrics.js';
import { bootTimeSeconds, readNodeUsage } from './runtime/process/stats.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './pod-worker.js';

/** The runtime calls the provider needs. */
export type StatsRuntime = Pick<RuntimeService, 'listContainerStats' | 'listContainers'>;

/** Options of {@link runtimeStatsProvider}. */
export interface RuntimeStatsOptions {
  /** Reported in `/stats/summary`; default the host name, lower-cased as the agent's default node name. */
  nodeName?: string;
  /** /proc root (tests). */
  procRoot?: string;
}

/** A {@link ResourceStatsProvider} over a CRI-shaped runtime. Containers not made by the kubelet (no pod labels) are skipped. */
export function runtimeStatsProvider(runtime: StatsRuntime, o: RuntimeStatsOptions = {}): ResourceStatsProvider {
  const procRoot = o.procRoot ?? '/proc';
  return {
    nodeName: (o.nodeName ?? hostname()).toLowerCase(),
    async containers(): Promise<ContainerUsage[]> {
      const [stats, statuses] = await Promise.all([runtime.listContainerStats(), runtime.listContainers({ state: 'CONTAINER_RUNNING' })]);
      const started = new Map(statuses.map((s) => [s.id, s.startedAt]));
      const out: ContainerUsage[] = [];
      for (const s of stats) {
        const l = s.attributes.labels;
        const namespace = l[LABEL_POD_NAMESPACE];
        const pod = l[LABEL_POD_NAME];
        if (!namespace || !pod) continue;
        const startedAt = started.get(s.attributes.id);
        if (startedAt === undefined) continue; // exited between the two calls
        out.push({
          id: s.attributes.id,
          namespace,
          pod,
          podUid: l[LABEL_POD_UID] ?? '',
          container: l[LABEL_CONTAINER_NAME] ?? s.attributes.metadata.name,
          startTimeNs: startedAt,
          cpu: s.cpu,
          memory: s.memory,
        });
      }
      return out;
    },
    async node(): Promise<NodeUsage> {
      const u = await readNodeUsage(procRoot);
      const boot = bootTimeSeconds(procRoot);
      return {
        timestampNs: Date.now() * 1e6,
        cpuUsageNanos: u.cpuUsageNanos,
        workingSetBytes: u.workingSetBytes,
        usageBytes: u.memoryUsageBytes,
        availableBytes: u.availableBytes,
        ...(boot !== undefined ? { startTimeNs: boot * 1e9 } : {}),
      };
    },
  };
}
