/**
 * The Filter/Score fast paths (`FilterPlugin.filterFast`, `ScorePlugin.scoreFast`, the snapshot's NodeTable) must
 * never change a decision: per node they agree with filter()/score(), and a scheduler with them placed pods exactly as
 * one without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { FakeClock } from '../client/testing/fake-clock.js';
import { CycleState, Status, type Plugin } from './framework/interface.js';
import type { Registry } from './framework/runtime.js';
import { inTreeRegistry } from './plugins/registry.js';
import { Scheduler } from './scheduler.js';
import { FakeCluster, makeNode, makePod, seededRng, type NodeSpec } from './testing.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const ZONE = 'topology.kubernetes.io/zone';

/** A varied cluster: zones (some nodes without), taints of each effect, cordoned, small, extended resources. */
function nodeSpecs(n: number): Array<[string, NodeSpec]> {
  const out: Array<[string, NodeSpec]> = [];
  for (let i = 0; i < n; i++) {
    const s: NodeSpec = { cpu: i % 11 === 4 ? '1' : '4', memory: i % 13 === 6 ? '1Gi' : '16Gi', pods: i % 7 === 3 ? 3 : 110, labels: {} };
    if (i % 10 !== 9) s.labels![ZONE] = `z${i % 3}`;
    if (i % 17 === 2) s.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    if (i % 19 === 5) s.taints = [{ key: 'soft', value: 'x', effect: 'PreferNoSchedule' }];
    if (i % 23 === 7) s.unschedulable = true;
    if (i % 5 === 1) s.extended = { 'example.com/gpu': '2' };
    if (i % 4 === 0) s.labels!.disk = 'ssd';
    out.push([`n${i}`, s]);
  }
  return out;
}

/** Pod number `i` of a mixed workload. */
function mixedPod(i: number): Pod {
  const kind = i % 9;
  const color = String(i % 4);
  const labels: Record<string, string> = { app: kind === 6 ? 'web' : 'bench', color };
  const o: Parameters<typeof makePod>[1] = { namespace: 'ns', labels, requests: { cpu: '100m', memory: '64Mi' } };
  if (kind === 1) o.requests = { cpu: '3', memory: '2Gi' };
  if (kind === 2) o.requests = { cpu: '100m', 'example.com/gpu': '1' };
  if (kind === 3) o.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'PreferNoSchedule' }];
  if (kind === 4) o.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { color } }, topologyKey: 'kubernetes.io/hostname' }] } };
  if (kind === 6) o.affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: ZONE }] } };
  if (kind === 7) o.nodeSelector = { disk: 'ssd' };
  if (kind === 8) o.requests = {};
  if (i % 45 === 0) o.requests = { cpu: '5' }; // fits nowhere: FailedScheduling messages are compared too
  if (i % 18 === 16) o.nodeSelector = { disk: 'nvme' }; // no such node
  const p = makePod(`p${i}`, o);
  if (kind === 5) p.spec!.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'bench' } } }];
  return p;
}

function harness(registry?: Registry) {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  const s = new Scheduler({ cluster, clock, rng: seededRng(11), registry, logger: quiet });
  cluster.scheduler = s;
  for (const [name, spec] of nodeSpecs(150)) s.onNodeAdd(makeNode(name, spec));
  return { clock, cluster, s };
}

/** The in-tree registry with every fast path removed. */
function slowRegistry(): Registry {
  const out: Registry = {};
  for (const [name, f] of Object.entries(inTreeRegistry())) {
    out[name] = (args, handle) => {
      // Inherits everything (class-based plugins too) but hides the fast paths.
      return Object.assign(Object.create(f(args, handle)) as Plugin, { filterFast: undefined, scoreFast: undefined, scoreFastInto: undefined });
    };
  }
  return out;
}

const describe = (s: Status | null) => (s ? { code: s.code, reasons: s.reasons, plugin: s.plugin } : null);

test('fast paths agree with filter() and score() on every node for a mixed workload', async () => {
  const { clock, s } = harness();
  // Some pods already placed (affinity terms, labels, requests on nodes), through the scheduler itself.
  for (let i = 0; i < 120; i++) {
    clock.advance(1);
    s.onPodAdd(mixedPod(1000 + i));
  }
  for (let q = s.queue.tryPop(); q; q = s.queue.tryPop()) await s.scheduleOne(q);
  await s.idle();
  s.cache.updateSnapshot(s.snapshot);
  const fw = s.framework;
  const all = s.snapshot.list();
  const table = s.snapshot.table;
  let fastNodes = 0;
  let fastRejections = 0;
  let scored = 0;
  let batched = 0;
  for (let i = 0; i < 27; i++) {
    const pod = mixedPod(i);
    const state = new CycleState();
    const pre = fw.runPreFilter(state, pod, all);
    if (pre.status || pre.nodeNames) continue;
    const fast = fw.fastFilters(state, pod);
    if (i % 9 === 2) {
      assert.equal(fast, undefined, 'extended-resource requests take the slow path');
      continue;
    }
    assert.ok(fast, `pod kind ${i % 9} has a fast path`);
    const feasible = [];
    const positions: number[] = [];
    for (let at = 0; at < all.length; at++) {
      const want = fw.runFilter(state, pod, all[at]!);
      let r: boolean | Status = true;
      let j = 0;
      for (; j < fast.fns.length; j++) if ((r = fast.fns[j]!(table, at)) !== true) break;
      if (r === true) {
        assert.equal(want, null, `pod ${i} node ${at}: the fast path passed a node filter() rejects`);
        fastNodes++;
      } else if (r === false) {
        assert.deepEqual(describe(fw.runFilter(state, pod, all[at]!, fast.from[j])), describe(want), `pod ${i} node ${at}: runFilter from ${fast.names[j]}`);
      } else {
        assert.deepEqual(describe(r.withPlugin(fast.names[j]!)), describe(want), `pod ${i} node ${at}: fast rejection`);
        fastRejections++;
      }
      if (!want) {
        feasible.push(all[at]!);
        positions.push(at);
      }
    }
    if (feasible.length < 2) continue;
    const at = { table, positions };
    assert.equal(fw.runPreScore(state, pod, feasible, at), null);
    for (const { plugin } of fw.score) {
      if (state.skipScorePlugins.has(plugin.name) || !plugin.scoreFast) continue;
      const f = plugin.scoreFast(state, pod);
      if (!f) continue;
      for (let k = 0; k < feasible.length; k++) {
        assert.equal(f(table, positions[k]!), plugin.score(state, pod, feasible[k]!), `pod ${i} ${plugin.name} node ${positions[k]}`);
        scored++;
      }
      // The batch form: weight × score() added to whatever the totals held.
      const into = plugin.scoreFastInto?.(state, pod);
      if (!into) continue;
      const totals: number[] = feasible.map((_: unknown, k: number) => k);
      assert.equal(into(table, positions, feasible.length, 3, totals), true);
      for (let k = 0; k < feasible.length; k++) {
        assert.equal(totals[k], k + 3 * plugin.score(state, pod, feasible[k]!), `pod ${i} ${plugin.name} into, node ${positions[k]}`);
        batched++;
      }
    }
    // runScore with and without positions: same totals.
    const a = fw.runScore(state, pod, feasible, { perPlugin: true });
    const b = fw.runScore(state, pod, feasible, { perPlugin: false, at });
    assert.deepEqual([...b.totals!], a.totals, `pod ${i}: totals`);
  }
  assert.ok(fastNodes > 1000 && fastRejections > 10 && scored > 1000 && batched > 1000, `exercised: ${fastNodes} fast passes, ${fastRejections} fast rejections, ${scored} fast scores, ${batched} batch scores`);
});

test('a scheduler with the fast paths places pods exactly as one without them', async () => {
  const runs = [];
  for (const registry of [undefined, slowRegistry()]) {
    const { clock, cluster, s } = harness(registry);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 90; i++) {
        clock.advance(1);
        s.onPodAdd(mixedPod(round * 90 + i));
      }
      for (let q = s.queue.tryPop(); q; q = s.queue.tryPop()) await s.scheduleOne(q);
      await s.idle();
      clock.advance(1_000);
    }
    runs.push({ bindings: [...cluster.bindings].sort(), failures: cluster.events.filter((e) => e.type === 'Warning').map((e) => `${e.pod}: ${e.message}`) });
    await s.stop();
  }
  assert.ok(runs[0]!.bindings.length > 200, `bound ${runs[0]!.bindings.length}`);
  assert.ok(runs[0]!.failures.length > 0, 'some pods do not fit (messages compared too)');
  assert.deepEqual(runs[0], runs[1]);
});

test('replicas with equal requests (remembered row scores) place exactly as without the fast paths, across node changes', async () => {
  const runs = [];
  for (const registry of [undefined, slowRegistry()]) {
    const { clock, cluster, s } = harness(registry);
    const placed: string[] = [];
    s.onScheduled = (r) => placed.push(`${r.pod}=${r.node ?? '-'}`);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 60; i++) {
        clock.advance(1);
        s.onPodAdd(makePod(`r${round}-${i}`, { namespace: 'ns', labels: { app: 'rep' }, requests: { cpu: round % 3 === 2 ? '700m' : '300m', memory: '256Mi' } }));
      }
      for (let q = s.queue.tryPop(); q; q = s.queue.tryPop()) await s.scheduleOne(q);
      await s.idle();
      // Between rounds the node list changes: a node joins (positions are rebuilt), another gets more room.
      s.onNodeAdd(makeNode(`extra-${round}`, { cpu: '8', memory: '32Gi', pods: 110, labels: {} }));
      const n = `n${round * 7}`;
      s.onNodeUpdate(makeNode(n, { cpu: '4', memory: '16Gi', pods: 110, labels: {} }), makeNode(n, { cpu: '6', memory: '24Gi', pods: 110, labels: {} }));
      clock.advance(1_000);
    }
    runs.push(placed);
    await s.stop();
  }
  assert.ok(runs[0]!.filter((p) => !p.endsWith('=-')).length > 300, `placed ${runs[0]!.length}`);
  assert.deepEqual(runs[0], runs[1]);
});
