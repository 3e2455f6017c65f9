import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, NodeSelectorTerm, PodSpec, Taint } from 'kubernetes-types/core/v1.js';
import { nodeShouldRunDaemonPod, pinToNode, targetNodeName, withDaemonTolerations } from './eligibility.js';

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = [], unschedulable = false): Node {
  return { metadata: { name, labels }, spec: { taints, unschedulable } };
}
function ds(spec: Partial<PodSpec> = {}): DaemonSet {
  return {
    metadata: { name: 'd', namespace: 'default' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c' }], ...spec } } },
  };
}
const required = (...terms: NodeSelectorTerm[]): Partial<PodSpec> => ({
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } },
});

const cases: Array<{ name: string; node: Node; ds: DaemonSet; run: boolean; stay: boolean }> = [
  { name: 'plain node', node: node('n'), ds: ds(), run: true, stay: true },
  { name: 'nodeSelector matches', node: node('n', { disk: 'ssd' }), ds: ds({ nodeSelector: { disk: 'ssd' } }), run: true, stay: true },
  { name: 'nodeSelector misses', node: node('n', { disk: 'hdd' }), ds: ds({ nodeSelector: { disk: 'ssd' } }), run: false, stay: false },
  { name: 'In', node: node('n', { zone: 'a' }), ds: ds(required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] })), run: true, stay: true },
  { name: 'NotIn', node: node('n', { zone: 'a' }), ds: ds(required({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })), run: false, stay: false },
  { name: 'Exists', node: node('n', { gpu: '' }), ds: ds(required({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] })), run: true, stay: true },
  { name: 'DoesNotExist', node: node('n', { gpu: '' }), ds: ds(required({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] })), run: false, stay: false },
  { name: 'Gt', node: node('n', { cores: '8' }), ds: ds(required({ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['4'] }] })), run: true, stay: true },
  { name: 'Lt', node: node('n', { cores: '8' }), ds: ds(required({ matchExpressions: [{ key: 'cores', operator: 'Lt', values: ['4'] }] })), run: false, stay: false },
  {
    name: 'terms are ORed',
    node: node('n', { zone: 'b' }),
    ds: ds(required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] })),
    run: true, stay: true,
  },
  { name: 'matchFields metadata.name hit', node: node('n1'), ds: ds(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] })), run: true, stay: true },
  { name: 'matchFields metadata.name miss', node: node('n2'), ds: ds(required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] })), run: false, stay: false },
  { name: 'untolerated NoSchedule taint keeps existing pods', node: node('n', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]), ds: ds(), run: false, stay: true },
  { name: 'untolerated NoExecute taint evicts', node: node('n', {}, [{ key: 'k', value: 'v', effect: 'NoExecute' }]), ds: ds(), run: false, stay: false },
  { name: 'PreferNoSchedule taint is ignored', node: node('n', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]), ds: ds(), run: true, stay: true },
  {
    name: 'tolerated taint (Equal)',
    node: node('n', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]),
    ds: ds({ tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }),
    run: true, stay: true,
  },
  { name: 'tolerated taint (Exists, any key)', node: node('n', {}, [{ key: 'k', effect: 'NoExecute' }]), ds: ds({ tolerations: [{ operator: 'Exists' }] }), run: true, stay: true },
  { name: 'toleration with the wrong value', node: node('n', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]), ds: ds({ tolerations: [{ key: 'k', value: 'x' }] }), run: false, stay: true },
  { name: 'cordoned node (unschedulable taint) is tolerated by default', node: node('n', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }], true), ds: ds(), run: true, stay: true },
  { name: 'not-ready NoExecute is tolerated by default', node: node('n', {}, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }]), ds: ds(), run: true, stay: true },
  { name: 'template nodeName elsewhere', node: node('n'), ds: ds({ nodeName: 'other' }), run: false, stay: false },
];

for (const c of cases) {
  test(`nodeShouldRunDaemonPod: ${c.name}`, () => {
    assert.deepEqual(nodeShouldRunDaemonPod(c.node, c.ds), { shouldRun: c.run, shouldContinueRunning: c.stay });
  });
}

test('pinToNode replaces the required node selector with the node-name term, as upstream', () => {
  const aff = pinToNode({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
    { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['old'] }] },
  ] } } }, 'n1');
  assert.deepEqual(aff.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [
    { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
  ]);
  assert.equal(targetNodeName({ containers: [], affinity: pinToNode(undefined, 'n2') }), 'n2');
  assert.equal(targetNodeName({ containers: [], nodeName: 'bound' }), 'bound');
});

test('withDaemonTolerations adds the six defaults, network-unavailable for hostNetwork, without duplicates', () => {
  const t = withDaemonTolerations({ containers: [], tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }] });
  assert.equal(t.length, 6);
  assert.ok(t.every((x) => x.tolerationSeconds === undefined));
  assert.equal(withDaemonTolerations({ containers: [], hostNetwork: true }).length, 7);
});
