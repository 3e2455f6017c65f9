/**
 * A keyed binary heap (upstream `pkg/scheduler/backend/heap`): O(log n) push, pop, update and delete by key, which
 * the scheduling queue needs because pods are updated and deleted while they wait.
 */

/** See the module comment. `less(a, b)` true means `a` pops first. */
export class Heap<T> {
  private readonly items: T[] = [];
  /** The key of each item, kept alongside: a swap need not recompute two keys (each a walk into the pod object). */
  private readonly keys: string[] = [];
  private readonly pos = new Map<string, number>();

  constructor(
    private readonly keyOf: (item: T) => string,
    private readonly less: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.pos.has(key);
  }

  get(key: string): T | undefined {
    const i = this.pos.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  /** Adds the item, or replaces the one with the same key and restores order. */
  addOrUpdate(item: T): void {
    const key = this.keyOf(item);
    const i = this.pos.get(key);
    if (i !== undefined) {
      this.items[i] = item;
      this.fix(i);
      return;
    }
    this.items.push(item);
    this.keys.push(key);
    this.pos.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    return this.removeAt(0);
  }

  delete(key: string): T | undefined {
    const i = this.pos.get(key);
    return i === undefined ? undefined : this.removeAt(i);
  }

  /** The items in no particular order. */
  list(): T[] {
    return this.items.slice();
  }

  private removeAt(i: number): T {
    const item = this.items[i]!;
    const last = this.items.pop()!;
    const lastKey = this.keys.pop()!;
    this.pos.delete(this.keys[i] ?? lastKey);
    if (i < this.items.length) {
      this.items[i] = last;
      this.keys[i] = lastKey;
      this.pos.set(lastKey, i);
      this.fix(i);
    }
    return item;
  }

  private fix(i: number): void {
    if (!this.down(i)) this.up(i);
  }

  /**
   * Sifting moves a "hole" instead of swapping: each item passed over is written (and its position recorded) once,
   * and the moving item once at the end — half the map writes of swapping, with the same comparisons and the same
   * resulting order.
   */
  private up(i: number): void {
    const items = this.items;
    const keys = this.keys;
    const item = items[i]!;
    const key = keys[i]!;
    const start = i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.less(item, parent)) break;
      items[i] = parent;
      keys[i] = keys[p]!;
      this.pos.set(keys[i]!, i);
      i = p;
    }
    if (i !== start) {
      items[i] = item;
      keys[i] = key;
      this.pos.set(key, i);
    }
  }

  private down(i0: number): boolean {
    const items = this.items;
    const keys = this.keys;
    const item = items[i0]!;
    const key = keys[i0]!;
    let i = i0;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      const r = l + 1;
      if (r < n && this.less(items[r]!, items[l]!)) c = r;
      const child = items[c]!;
      if (!this.less(child, item)) break;
      items[i] = child;
      keys[i] = keys[c]!;
      this.pos.set(keys[i]!, i);
      i = c;
    }
    if (i !== i0) {
      items[i] = item;
      keys[i] = key;
      this.pos.set(key, i);
    }
    return i > i0;
  }
}
