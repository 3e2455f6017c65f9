/**
 * The example operator in examples/operator (built on Skiff's operator SDK) runs against a real server: it copies
 * an annotated ConfigMap into the listed namespaces, keeps the copies in sync, repairs a deleted copy, and removes
 * copies that are no longer wanted.
 */
import { after, before, test } from 'node:test';
import { DynamicClient, loadKubeconfig } from '../../src/client/index.js';
import { replicator, ANNOTATION } from '../../examples/operator/replicator.js';
import { cleanup, startServer, TestServer } from './harness.js';

let s: TestServer;
before(async () => { s = await startServer(); });
after(async () => { await cleanup(s); });

async function eventually(fn: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the example replicator operator converges copies to the annotation', async () => {
  const client = new DynamicClient(loadKubeconfig(s.kubeconfig), { rateLimit: false });
  const nss = client.resource('v1', 'Namespace');
  const cms = client.resource<{ metadata: Record<string, any>; data?: Record<string, string> }>('v1', 'ConfigMap'); // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const n of ['team-a', 'team-b']) await nss.create(undefined, { metadata: { name: n } } as never);
  const op = replicator(client);
  await op.start();
  try {
    await cms.create('default', { metadata: { name: 'settings', annotations: { [ANNOTATION]: 'team-a,team-b' } }, data: { mode: 'fast' } });
    await eventually(async () => (await cms.get('team-a', 'settings')).data?.mode === 'fast' && (await cms.get('team-b', 'settings')).data?.mode === 'fast', 'copies created');
    await cms.patch('default', 'settings', 'merge', { data: { mode: 'safe' } });
    await eventually(async () => (await cms.get('team-b', 'settings')).data?.mode === 'safe', 'copies updated');
    await cms.delete('team-a', 'settings');
    await eventually(async () => (await cms.get('team-a', 'settings')).data?.mode === 'safe', 'deleted copy repaired');
    await cms.patch('default', 'settings', 'merge', { metadata: { annotations: { [ANNOTATION]: 'team-a' } } });
    await eventually(async () => { try { await cms.get('team-b', 'settings'); return false; } catch { return true; } }, 'unwanted copy removed');
  } finally {
    await op.stop();
    client.close();
  }
});
