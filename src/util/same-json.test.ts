import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameJson } from './same-json.js';

const byText = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

test('sameJson agrees with comparing JSON.stringify texts', () => {
  const d = new Date(0);
  const cases: Array<[unknown, unknown]> = [
    [{ a: 1, b: 2 }, { a: 1, b: 2 }],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }], // key order matters
    [{ a: 1, b: undefined }, { a: 1 }],
    [{ b: undefined, a: 1 }, { a: 1, c: undefined }],
    [{ a: () => 1 }, {}],
    [[1, undefined], [1, null]],
    [[1, () => 1], [1, null]],
    [[1, 2], [1, 2, 3]],
    [{ n: NaN }, { n: null }],
    [{ n: Infinity }, { n: -Infinity }],
    [{ n: -0 }, { n: 0 }],
    [{ n: 1 }, { n: '1' }],
    [{ a: [] }, { a: {} }],
    [{ a: {} }, { a: null }],
    [{ d }, { d: '1970-01-01T00:00:00.000Z' }],
    [{ d }, { d }],
    [{ '2': 'x', '1': 'y' }, { '1': 'y', '2': 'x' }],
    [{ m: { s: [{ x: 'a', y: [true, false, null] }] } }, { m: { s: [{ x: 'a', y: [true, false, null] }] } }],
    [{ m: { s: [{ x: 'a', y: [true, false, null] }] } }, { m: { s: [{ x: 'a', y: [true, false] }] } }],
    [undefined, undefined],
    [undefined, null],
    [null, null],
    ['a', 'a'],
    [{ x: Object.create(null) }, { x: {} }],
    [undefined, () => 1],
  ];
  for (const [a, b] of cases) {
    assert.equal(sameJson(a, b), byText(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(sameJson(b, a), byText(b, a), `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
  }
});

test('sameJson agrees with the texts on random edits of a pod', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u', resourceVersion: '7', labels: { app: 'x' }, deletionTimestamp: undefined },
    spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], resources: {} }], nodeName: 'n1' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }] },
  };
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const paths: Array<(o: any) => void> = [
    (o) => { o.status.phase = 'Pending'; },
    (o) => { o.metadata.labels.app = 'y'; },
    (o) => { o.metadata.labels.extra = undefined; },
    (o) => { delete o.metadata.deletionTimestamp; },
    (o) => { o.spec.containers[0].command.push('x'); },
    (o) => { o.status.conditions[0].lastProbeTime = undefined; },
    (o) => { const { phase, ...rest } = o.status; o.status = { ...rest, phase }; },
    () => {},
  ];
  for (let i = 0; i < 200; i++) {
    const a = structuredClone(pod);
    const b = structuredClone(pod);
    paths[rnd(paths.length)]!(a);
    paths[rnd(paths.length)]!(b);
    assert.equal(sameJson(a, b), byText(a, b));
  }
});
