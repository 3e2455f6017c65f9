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

/** The textbook swap-based keyed heap, the reference for the hole-moving sift. */
class SwapHeap<T> {
  items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}
  push(x: T): void {
    this.items.push(x);
    for (let i = this.items.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[p]!)) break;
      [this.items[i], this.items[p]] = [this.items[p]!, this.items[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop()!;
    if (this.items.length === 0) return top;
    this.items[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      if (l >= this.items.length) break;
      let c = l;
      if (l + 1 < this.items.length && this.less(this.items[l + 1]!, this.items[l]!)) c = l + 1;
      if (!this.less(this.items[c]!, this.items[i]!)) break;
      [this.items[i], this.items[c]] = [this.items[c]!, this.items[i]!];
      i = c;
    }
    return top;
  }
}

test('heap: with ties (a partial order) items pop exactly as from a swap-based heap', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const less = (a: { k: string; v: number }, b: { k: string; v: number }) => a.v < b.v;
  const h = new Heap<{ k: string; v: number }>((x) => x.k, less);
  const ref = new SwapHeap(less);
  let n = 0;
  for (let step = 0; step < 4000; step++) {
    if (rnd() < 0.55) {
      const x = { k: `k${n++}`, v: Math.floor(rnd() * 5) };
      h.addOrUpdate(x);
      ref.push(x);
    } else {
      assert.equal(h.pop()?.k, ref.pop()?.k, `step ${step}`);
    }
    if (step % 101 === 0) for (const x of ref.items) assert.equal(h.get(x.k), x);
  }
});
