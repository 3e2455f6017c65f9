/**
 * Connects the kubelet's streaming server (logs, exec, attach, port-forward) to the runtime: pod/container names are
 * resolved through the labels the pod workers put on every sandbox and container.
 */
import type { RuntimeService } from './runtime/types.js';
import type { StreamingBackend } from './server/streaming-server.js';
import { LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE } from './pod-worker.js';

export function runtimeStreamingBackend(runtime: RuntimeService): StreamingBackend {
  const containers = async (ns: string, pod: string, container: string) => {
    const all = await runtime.listContainers({ labelSelector: { [LABEL_POD_NAMESPACE]: ns, [LABEL_POD_NAME]: pod, [LABEL_CONTAINER_NAME]: container } });
    return all.sort((a, b) => b.createdAt - a.createdAt); // newest instance first
  };
  return {
    async containerId(ns, pod, container) {
      const cs = await containers(ns, pod, container);
      return (cs.find((c) => c.state === 'CONTAINER_RUNNING') ?? cs[0])?.id;
    },
    async sandboxId(ns, pod) {
      const sbs = await runtime.listPodSandbox();
      const mine = sbs.filter((s) => s.metadata.namespace === ns && s.metadata.name === pod).sort((a, b) => b.createdAt - a.createdAt);
      return (mine.find((s) => s.state === 'SANDBOX_READY') ?? mine[0])?.id;
    },
    async logPath(ns, pod, container, previous) {
      const cs = await containers(ns, pod, container);
      // The newest instance is the current one; `--previous` is the one before it.
      return (previous ? cs[1]?.logPath : cs[0]?.logPath) || undefined;
    },
  };
}
