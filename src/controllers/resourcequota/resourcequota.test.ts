import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, ResourceQuota, Service } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv } from '../testing.js';
import { calculateUsage, definition, podUsage, type ObjectSource } from './index.js';

const NS = 'q';

function pod(name: string, res: { requests?: Record<string, string>; limits?: Record<string, string> } = {}, extra: Partial<Pod['spec']> = {}, phase?: string): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { containers: [{ name: 'c', image: 'x', resources: res }], ...extra },
    status: phase ? { phase } : undefined,
  };
}

const quota = (hard: Record<string, string>, spec: Partial<ResourceQuota['spec']> = {}): ResourceQuota => ({ metadata: { name: 'q', namespace: NS }, spec: { hard, ...spec } });

test('calculateUsage: table', () => {
  const pods: Pod[] = [
    pod('a', { requests: { cpu: '500m', memory: '128Mi', 'nvidia.com/gpu': '1' }, limits: { cpu: '1', memory: '256Mi', 'nvidia.com/gpu': '1' } }),
    pod('b', { requests: { cpu: '1', memory: '256Mi' } }, { activeDeadlineSeconds: 60, priorityClassName: 'high' }),
    pod('c', {}),
    pod('done', { requests: { cpu: '4' } }, {}, 'Succeeded'),
    // An init container that needs more than the app containers raises the pod's request.
    pod('init', { requests: { cpu: '100m' } }, { initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '2' } } }] }),
  ];
  const svcs: Service[] = [
    { metadata: { name: 's1' }, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 443 }] } },
    { metadata: { name: 's2' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
    { metadata: { name: 's3' }, spec: { ports: [{ port: 80 }] } },
  ];
  const source: ObjectSource = (resource, group) => {
    if (group === '' && resource === 'pods') return pods;
    if (group === '' && resource === 'services') return svcs;
    if (group === '' && resource === 'configmaps') return [{}, {}];
    if (group === 'apps' && resource === 'deployments') return [{}];
    if (group === '' && resource === 'replicationcontrollers') return null;
    return [];
  };
  const cases: Array<{ name: string; q: ResourceQuota; want: Record<string, string> }> = [
    {
      name: 'compute over running pods',
      q: quota({ pods: '10', 'count/pods': '10', 'requests.cpu': '10', cpu: '10', 'limits.cpu': '10', 'requests.memory': '1Gi', memory: '1Gi', 'limits.memory': '1Gi', 'requests.nvidia.com/gpu': '4' }),
      want: { pods: '4', 'count/pods': '5', 'requests.cpu': '3500m', cpu: '3500m', 'limits.cpu': '1', 'requests.memory': '384Mi', memory: '384Mi', 'limits.memory': '256Mi', 'requests.nvidia.com/gpu': '1' },
    },
    {
      name: 'object counts',
      q: quota({ configmaps: '5', 'count/configmaps': '5', services: '5', 'services.nodeports': '5', 'services.loadbalancers': '1', 'count/deployments.apps': '2', secrets: '1', replicationcontrollers: '1', 'unknown.example.com/thing': '3' }),
      want: { configmaps: '2', 'count/configmaps': '2', services: '3', 'services.nodeports': '3', 'services.loadbalancers': '1', 'count/deployments.apps': '1', secrets: '0', replicationcontrollers: '0' },
    },
    { name: 'Terminating scope', q: quota({ pods: '5', 'requests.cpu': '5' }, { scopes: ['Terminating'] }), want: { pods: '1', 'requests.cpu': '1' } },
    { name: 'NotTerminating scope', q: quota({ pods: '5' }, { scopes: ['NotTerminating'] }), want: { pods: '3' } },
    { name: 'BestEffort scope', q: quota({ pods: '5' }, { scopes: ['BestEffort'] }), want: { pods: '1' } },
    { name: 'NotBestEffort scope', q: quota({ pods: '5' }, { scopes: ['NotBestEffort'] }), want: { pods: '3' } },
    { name: 'PriorityClass In', q: quota({ pods: '5', configmaps: '5' }, { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } }), want: { pods: '1' } },
    { name: 'PriorityClass DoesNotExist', q: quota({ pods: '5' }, { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'DoesNotExist' }] } }), want: { pods: '3' } },
  ];
  for (const c of cases) assert.deepEqual(calculateUsage(c.q, source, Date.now()), c.want, c.name);
  // A source not synced yet means "try again".
  assert.equal(calculateUsage(quota({ pods: '1' }), () => undefined, 0), undefined);
  // Terminal pods only count toward count/pods.
  assert.deepEqual([...podUsage(pods[3]!, 0).keys()], ['count/pods']);
});

test('quota status follows pods, configmaps, cpu, memory and GPUs', async () => {
  const env = await startControllerTestEnv();
  try {
    await env.run([definition]);
    await env.client.resource('v1', 'Namespace').create(undefined, { metadata: { name: NS } } as never);
    const quotas = env.client.resource<ResourceQuota>('v1', 'ResourceQuota');
    const pods = env.client.resource<Pod>('v1', 'Pod');
    const cms = env.client.resource('v1', 'ConfigMap');
    await quotas.create(NS, quota({ pods: '10', configmaps: '10', 'requests.cpu': '4', 'requests.memory': '4Gi', 'limits.memory': '8Gi', 'requests.nvidia.com/gpu': '2', 'count/deployments.apps': '3' }));
    const used = async () => (await quotas.get(NS, 'q')).status?.used;
    await env.eventually(async () => (await used())?.pods === '0', 10_000, 'initial status');
    const st = (await quotas.get(NS, 'q')).status!;
    assert.equal(st.hard?.['requests.cpu'], '4');
    // The namespace's default ServiceAccount token is not a ConfigMap; kube-root-ca.crt may be, so compare deltas.
    const baseCms = Number(st.used!.configmaps);

    await pods.create(NS, pod('a', { requests: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' }, limits: { memory: '2Gi', 'nvidia.com/gpu': '1' } }));
    await pods.create(NS, pod('b', { requests: { cpu: '250m', memory: '512Mi' } }));
    await cms.create(NS, { metadata: { name: 'cm1' } } as never);
    await env.eventually(async () => {
      const u = await used();
      return u?.pods === '2' && u['requests.cpu'] === '750m' && u['requests.memory'] === '1536Mi' && u['limits.memory'] === '2Gi'
        && u['requests.nvidia.com/gpu'] === '1' && u.configmaps === String(baseCms + 1) && u['count/deployments.apps'] === '0';
    }, 10_000, 'usage after creates');

    // A pod that finished no longer uses compute quota; a deleted one neither.
    const a = await pods.get(NS, 'a');
    await pods.updateStatus(NS, { ...a, status: { phase: 'Succeeded' } });
    await pods.delete(NS, 'b');
    await env.eventually(async () => {
      const u = await used();
      return u?.pods === '0' && u['requests.cpu'] === '0' && u['requests.nvidia.com/gpu'] === '0';
    }, 10_000, 'usage after completion');

    // Raising hard is reflected in status.hard.
    await quotas.patch(NS, 'q', 'merge', { spec: { hard: { pods: '20' } } });
    await env.eventually(async () => (await quotas.get(NS, 'q')).status?.hard?.pods === '20', 10_000, 'hard follows spec');
  } finally {
    await env.close();
  }
});
