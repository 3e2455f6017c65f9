/**
 * A keyed binary heap (upstream `pkg/scheduler/backend/heap`): O(log n) push, pop, update and delete by key, which
 * the scheduling queue needs because pods are updated and deleted while they wait.
 */

/** An item with its key and its current position in the heap array. */
interface Entry<T> {
  item: T;
  key: string;
  i: number;
}

/**
 * See the module comment. `less(a, b)` true means `a` pops first. Each item sits in an entry that knows its key
 * (a swap need not recompute keys: each a walk into the pod object) and its position: a sift moves entries and
 * writes their positions, where a key → position map took a hash-table write per level — most of a pop from the
 * thousands-deep activeQ of a burst.
 */
export class Heap<T> {
  private readonly entries: Entry<T>[] = [];
  private readonly byKey = new Map<string, Entry<T>>();

  constructor(
    private readonly keyOf: (item: T) => string,
    private readonly less: (a: T, b: T) => boolean,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  get(key: string): T | undefined {
    return this.byKey.get(key)?.item;
  }

  /** Adds the item, or replaces the one with its key and restores the order. */
  addOrUpdate(item: T): void {
    const key = this.keyOf(item);
    const e = this.byKey.get(key);
    if (e !== undefined) {
      e.item = item;
      this.fix(e.i);
      return;
    }
    const n: Entry<T> = { item, key, i: this.entries.length };
    this.entries.push(n);
    this.byKey.set(key, n);
    this.up(n.i);
  }

  /** The item that pops next, left in place. */
  peek(): T | undefined {
    return this.entries[0]?.item;
  }

  /** Removes and returns the item that comes first. */
  pop(): T | undefined {
    if (this.entries.length === 0) return undefined;
    return this.removeAt(0);
  }

  /** Removes the item with this key; returns it if it was there. */
  delete(key: string): T | undefined {
    const e = this.byKey.get(key);
    return e === undefined ? undefined : this.removeAt(e.i);
  }

  /** The items in heap order (not sorted). */
  list(): T[] {
    return this.entries.map((e) => e.item);
  }

  private removeAt(i: number): T {
    const entries = this.entries;
    const e = entries[i]!;
    const last = entries.pop()!;
    this.byKey.delete(e.key);
    if (i < entries.length) {
      entries[i] = last;
      last.i = i;
      this.fix(i);
    }
    return e.item;
  }

  private fix(i: number): void {
    if (!this.down(i)) this.up(i);
  }

  /** Moves the entry at `i` towards the root while it comes before its parent (a hole moves down, no swaps). */
  private up(i: number): void {
    const entries = this.entries;
    const e = entries[i]!;
    const item = e.item;
    const start = i;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = entries[p]!;
      if (!this.less(item, parent.item)) break;
      entries[i] = parent;
      parent.i = i;
      i = p;
    }
    if (i !== start) {
      entries[i] = e;
      e.i = i;
    }
  }

  /** Moves the entry at `i0` towards the leaves while a child comes before it; true if it moved. */
  private down(i0: number): boolean {
    const entries = this.entries;
    const e = entries[i0]!;
    const item = e.item;
    let i = i0;
    const n = entries.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      const r = l + 1;
      if (r < n && this.less(entries[r]!.item, entries[l]!.item)) c = r;
      const child = entries[c]!;
      if (!this.less(child.item, item)) break;
      entries[i] = child;
      child.i = i;
      i = c;
    }
    if (i !== i0) {
      entries[i] = e;
      e.i = i;
    }
    return i > i0;
  }
}
