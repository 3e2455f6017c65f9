/**
 * Example operator built on Skiff's operator SDK (`src/client`): it copies every ConfigMap annotated
 * `skiff.dev/replicate-to: ns1,ns2` into the listed namespaces, keeps the copies in sync, and deletes copies that
 * are no longer wanted. It is level-triggered: each reconcile reads the source and the copies from the informers'
 * listers and converges, whatever event woke it.
 *
 * Run it against a cluster:
 *   npm run build && node dist/examples/operator/replicator.js --kubeconfig ~/.skiff/kubeconfig.yaml
 */
import { parseArgs } from 'node:util';
import {
  controllerFor, DynamicClient, EventRecorder, Informer, LeaderElector, isNotFound, loadKubeconfig, type Reconciler,
} from '../../src/client/index.js';

export const ANNOTATION = 'skiff.dev/replicate-to';
export const SOURCE_LABEL = 'skiff.dev/replica-of';

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

/** Wires the replicator on `client`; returns start/stop. */
export function replicator(client: DynamicClient) {
  const cms = client.resource<ConfigMap>('v1', 'ConfigMap');
  const informer = new Informer<ConfigMap>(cms);
  const recorder = new EventRecorder(client, { component: 'configmap-replicator' });
  const sourceKey = (cm: ConfigMap) => `${cm.metadata.namespace}.${cm.metadata.name}`;

  const reconciler: Reconciler = {
    async reconcile({ namespace, name }) {
      const src = informer.lister.get(namespace, name!);
      const key = `${namespace}.${name}`;
      const wanted = new Set((src?.metadata.annotations?.[ANNOTATION] ?? '').split(',').map((s) => s.trim()).filter((s) => s && s !== namespace));
      // Create or update the wanted copies.
      for (const ns of wanted) {
        const copy = informer.lister.get(ns, name!);
        const body: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name!, namespace: ns, labels: { [SOURCE_LABEL]: key } }, data: src!.data ?? {} };
        try {
          if (!copy) {
            await cms.create(ns, body);
            recorder.event(src!, 'Normal', 'Replicated', `Copied to namespace ${ns}`);
          } else if (copy.metadata.labels?.[SOURCE_LABEL] === key && JSON.stringify(copy.data ?? {}) !== JSON.stringify(src!.data ?? {})) {
            await cms.update(ns, { ...body, metadata: { ...body.metadata, resourceVersion: copy.metadata.resourceVersion } });
          }
        } catch (e) {
          if (isNotFound(e)) { recorder.event(src!, 'Warning', 'NamespaceMissing', `Namespace ${ns} does not exist`); continue; }
          throw e; // retried with backoff by the controller
        }
      }
      // Delete copies that are no longer wanted (or whose source is gone).
      for (const copy of informer.lister.list(undefined, `${SOURCE_LABEL}=${key}`)) {
        if (!wanted.has(copy.metadata.namespace)) {
          await cms.delete(copy.metadata.namespace, copy.metadata.name).catch((e) => { if (!isNotFound(e)) throw e; });
        }
      }
    },
  };
  // Copies map back to their source, so editing or deleting a copy is repaired.
  const controller = controllerFor(informer, { name: 'configmap-replicator' })
    .watches(informer, (cm) => {
      const src = cm.metadata?.labels?.[SOURCE_LABEL];
      if (!src) return [];
      const i = src.indexOf('.');
      return [{ namespace: src.slice(0, i), name: src.slice(i + 1) }];
    })
    .complete(reconciler);
  void sourceKey;
  return {
    async start() { informer.start(); await informer.waitForSync(); await controller.start(); },
    async stop() { await controller.stop(); await informer.stop(); await recorder.close(); },
  };
}

async function main() {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('pass --kubeconfig or set KUBECONFIG');
  const client = new DynamicClient(loadKubeconfig(kubeconfig));
  const op = replicator(client);
  const elector = new LeaderElector(client, {
    namespace: 'default', name: 'configmap-replicator', identity: `replicator-${process.pid}`, releaseOnCancel: true,
    callbacks: { onStartedLeading: () => { void op.start(); console.log('leading: replicating ConfigMaps'); }, onStoppedLeading: () => process.exit(1) },
  });
  void elector.run();
  const stop = async () => { await op.stop(); await elector.stop(); client.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
