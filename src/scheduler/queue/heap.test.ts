import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heap } from './heap.js';

test('heap: random adds, updates and deletes pop in order and keep the key index right', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const h = new Heap<{ k: string; v: number }>((x) => x.k, (a, b) => a.v < b.v || (a.v === b.v && a.k < b.k));
  const model = new Map<string, number>();
  for (let step = 0; step < 5000; step++) {
    const k = `k${Math.floor(rnd() * 300)}`;
    const r = rnd();
    if (r < 0.6) {
      const v = Math.floor(rnd() * 1000);
      h.addOrUpdate({ k, v });
      model.set(k, v);
    } else if (r < 0.8) {
      assert.equal(h.delete(k)?.k, model.has(k) ? k : undefined);
      model.delete(k);
    } else if (model.size) {
      const [mk, mv] = [...model].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0]!;
      const top = h.pop()!;
      assert.deepEqual([top.k, top.v], [mk, mv]);
      model.delete(mk);
    }
    assert.equal(h.size, model.size);
    if (step % 97 === 0) for (const [mk, mv] of model) assert.equal(h.get(mk)?.v, mv);
  }
});
