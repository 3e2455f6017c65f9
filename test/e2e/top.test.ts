/**
 * `kubectl top` end to end: `skiff server` with its in-process agent runs a pod that burns CPU and holds memory;
 * the apiserver's metrics.k8s.io (scraping the agent's `/metrics/resource`) makes the real `kubectl top pod`,
 * `top pod -A`, `top pod --containers` and `top node` print non-zero CPU and memory for it and for the node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, NO_KUBECTL, startServer, until as untilHarness, type TestServer } from './harness.js';

let s: TestServer | undefined;

before(async () => {
  if (NO_KUBECTL) return;
  s = await startServer({ withAgent: true });
});

after(async () => {
  if (!s) return;
  // Stop the pod first: the agent leaves running containers for the next agent to adopt.
  await s.kubectl(['delete', 'pods', '--all', '--grace-period=1', '--wait=true', '--timeout=20s']);
  await s.stop('SIGTERM');
  await cleanup(s);
});

// Busy half of every 100 ms (capped at 200m by its cgroup when the agent runs as root) and holds 32 MiB.
const SPIN = 'const b = Buffer.alloc(32 << 20, 1); setInterval(() => { const end = Date.now() + 50; while (Date.now() < end); }, 100); void b;';
const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels:
    app: busy
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: node
    command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(SPIN)}]
    resources:
      requests:
        cpu: 100m
        memory: 64Mi
      limits:
        cpu: 200m
        memory: 256Mi
`;

const until = <T>(what: string, fn: () => Promise<T | false | undefined>, timeoutMs = 90_000) => untilHarness(what, fn, timeoutMs, { intervalMs: 500 });

/** The whitespace-separated cells of the output line whose cell `col` is `name` (header excluded). */
function row(out: string, col: number, name: string): string[] | undefined {
  return out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((cells) => cells[col] === name);
}

const milli = (cpu: string | undefined) => Number(/^(\d+)m$/.exec(cpu ?? '')?.[1] ?? NaN);
const mebi = (mem: string | undefined) => Number(/^(\d+)Mi$/.exec(mem ?? '')?.[1] ?? NaN);

test('kubectl top pod and top node show real usage', { skip: NO_KUBECTL }, async () => {
  await until('the node Ready', async () => (await s!.k(['get', 'nodes', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}'])).trim() === 'True');
  const nodeName = (await s!.k(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  await s!.k(['apply', '-f', '-'], { input: manifest });
  await until('busy Running', async () => (await s!.k(['get', 'pod', 'busy', '-o', 'jsonpath={.status.phase}'])).trim() === 'Running');

  // Metrics appear once two scrapes saw the pod; kubectl says "metrics not available yet" until then.
  const top = await until('kubectl top pod busy with CPU and memory', async () => {
    const r = await s!.kubectl(['top', 'pod', 'busy']);
    const cells = r.code === 0 ? row(r.stdout, 0, 'busy') : undefined;
    return cells && milli(cells[1]) > 0 && mebi(cells[2]) > 0 ? r.stdout : undefined;
  });
  assert.match(top, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
  const [, cpu, mem] = row(top, 0, 'busy')!;
  assert.ok(milli(cpu) <= 1000, `busy uses at most one core: ${cpu}`);
  assert.ok(mebi(mem) >= 32, `busy holds its 32 MiB buffer: ${mem}`);

  const all = await s!.k(['top', 'pod', '-A']);
  assert.match(all, /^NAMESPACE\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
  const allRow = row(all, 1, 'busy');
  assert.equal(allRow?.[0], 'default', all);
  assert.ok(milli(allRow?.[2]) > 0 && mebi(allRow?.[3]) > 0, all);

  const byLabel = await s!.k(['top', 'pod', '-l', 'app=busy']);
  assert.ok(row(byLabel, 0, 'busy'), byLabel);

  const containers = await s!.k(['top', 'pod', 'busy', '--containers']);
  assert.match(containers, /^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
  const cRow = row(containers, 1, 'spin');
  assert.equal(cRow?.[0], 'busy', containers);
  assert.ok(milli(cRow?.[2]) > 0 && mebi(cRow?.[3]) > 0, containers);

  const nodes = await s!.k(['top', 'node']);
  assert.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU(\(%\)|%)\s+MEMORY\(bytes\)\s+MEMORY(\(%\)|%)/);
  const nRow = row(nodes, 0, nodeName);
  assert.ok(nRow, nodes);
  assert.ok(milli(nRow[1]) > 0, `node CPU: ${nodes}`);
  assert.ok(mebi(nRow[3]) > 0, `node memory: ${nodes}`);
  assert.match(nRow[2]!, /^\d+%$/);

  // The raw API object, as metrics-server serves it.
  const raw = JSON.parse(await s!.k(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy']));
  assert.equal(raw.kind, 'PodMetrics');
  assert.equal(raw.containers[0].name, 'spin');
  assert.match(raw.window, /^\d+(\.\d+)?m?s$|^\d+m[\d.]+s$/);
});
