/**
 * A range of allocatable values (service IPs, node ports) kept as ONE store key per allocated value, created with
 * the store's create-if-absent (`Backend.create` → KeyExistsError). Two apiservers on one store therefore can never
 * hand out the same value: the second create fails inside the store, not in application code. This replaces
 * upstream's single bitmap key (`/registry/ranges/serviceips`) with per-value records in the spirit of its newer
 * IPAddress objects (MultiCIDRServiceAllocator), which also makes repair simple: every record names its owner.
 *
 * Random allocation follows upstream's bitmap allocator with its "offset" split: the range is cut into a small
 * lower band (reserved for static choices such as the `kubernetes` and `kube-dns` IPs) and an upper band that
 * random picks prefer, falling back to the lower band only when the upper one is full.
 */
import { randomInt } from 'node:crypto';
import type { Backend } from '../../store/types.js';
import { KeyExistsError, NotFoundError, ConflictError } from '../../store/types.js';
import { formatIPv4, parseIPv4 } from '../../api/cidr.js';

/** Who holds a value: the object that uses it (its uid tells a recreated object from the old one). */
export interface AllocationOwner {
  namespace?: string;
  name: string;
  uid: string;
}

/** What is stored per value. `allocatedAt` (ms since epoch) lets repair spare allocations still being written. */
export interface AllocationRecord {
  owner: AllocationOwner;
  allocatedAt: number;
}

/** Upstream's allocator errors (`ErrFull`, `ErrAllocated`, `ErrNotInRange`), with upstream's messages. */
export class RangeFullError extends Error {
  constructor() { super('range is full'); }
}
export class AlreadyAllocatedError extends Error {
  constructor(kind: string) { super(`provided ${kind} is already allocated`); }
}
export class NotInRangeError extends Error {}

export interface RangeSpec {
  /** Store key prefix, ending in `/`. */
  prefix: string;
  /** Number of allocatable values; offsets are 0 … size-1. */
  size: number;
  /** Offset → the value as written in objects and keys ("10.43.0.5", "30001"). */
  format(offset: number): string;
  /** Value → offset, undefined when it is not inside the range. */
  parse(value: string): number | undefined;
  /** `ip` or `port`, for messages. */
  noun: 'IP' | 'port';
  /** The not-in-range message (upstream words it differently for IPs and ports). */
  notInRange(value: string): string;
  /** Size of the lower band random allocation avoids while the upper one has room (0 = no split). */
  staticBand?: number;
}

/**
 * Upstream's `calculateRangeOffset`: min(max(16, size/step), max) for ranges large enough to split — step 16 and
 * max 256 for service IPs, step 32 and max 128 for node ports.
 */
export function staticBandSize(size: number, step = 16, max = 256): number {
  const min = 16;
  if (size < min) return 0;
  return Math.min(Math.max(min, Math.floor(size / step)), max);
}

const RANDOM_PROBES = 16;

export class RangeAllocator {
  constructor(readonly backend: Backend, readonly spec: RangeSpec) {}

  private key(value: string): string {
    return this.spec.prefix + value;
  }

  /** The offset of `value`, or a NotInRangeError. */
  private offsetOf(value: string): number {
    const off = this.spec.parse(value);
    if (off === undefined) throw new NotInRangeError(this.spec.notInRange(value));
    return off;
  }

  has(value: string): boolean {
    return this.spec.parse(value) !== undefined;
  }

  /**
   * Claims `value` for `owner`. Claiming a value the same owner (same uid) already holds succeeds, so a retried
   * request or a repair pass is idempotent. `dryRun` only checks.
   */
  async allocate(value: string, owner: AllocationOwner, dryRun = false): Promise<void> {
    const off = this.offsetOf(value);
    const v = this.spec.format(off);
    if (dryRun) {
      const cur = await this.get(v);
      if (cur && cur.owner.uid !== owner.uid) throw new AlreadyAllocatedError(this.spec.noun);
      return;
    }
    if (await this.tryCreate(v, owner)) return;
    const cur = await this.get(v);
    if (cur?.owner.uid === owner.uid) return;
    throw new AlreadyAllocatedError(this.spec.noun);
  }

  /** Claims a random free value for `owner` (upper band first), or throws RangeFullError. */
  async allocateNext(owner: AllocationOwner, dryRun = false): Promise<string> {
    const band = this.spec.staticBand ?? 0;
    const bands: Array<[number, number]> = band > 0 && band < this.spec.size ? [[band, this.spec.size], [0, band]] : [[0, this.spec.size]];
    for (const [lo, hi] of bands) {
      // Random probes are cheap while the range is sparse; a listing settles a crowded band exactly.
      for (let i = 0; i < Math.min(RANDOM_PROBES, hi - lo); i++) {
        const v = this.spec.format(randomInt(lo, hi));
        if (dryRun ? !(await this.get(v)) : await this.tryCreate(v, owner)) return v;
      }
      const used = new Set((await this.listValues()).map((v) => this.spec.parse(v)).filter((o): o is number => o !== undefined));
      const free: number[] = [];
      for (let o = lo; o < hi; o++) if (!used.has(o)) free.push(o);
      // Start at a random free value and walk on, so concurrent allocators spread out instead of colliding.
      const start = free.length ? randomInt(0, free.length) : 0;
      for (let i = 0; i < free.length; i++) {
        const v = this.spec.format(free[(start + i) % free.length]);
        if (dryRun ? !(await this.get(v)) : await this.tryCreate(v, owner)) return v;
      }
    }
    throw new RangeFullError();
  }

  /** Frees `value` if `owner` holds it (a value reassigned to someone else is left alone). Idempotent. */
  async release(value: string, owner: AllocationOwner): Promise<void> {
    const off = this.spec.parse(value);
    if (off === undefined) return;
    const key = this.key(this.spec.format(off));
    const kv = await this.backend.get(key);
    if (!kv) return;
    const rec = parseRecord(kv.value);
    if (rec && rec.owner.uid !== owner.uid) return;
    try {
      await this.backend.delete(key, kv.modRevision);
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof ConflictError) return;
      throw e;
    }
  }

  /** Frees `value` whoever holds it (repair of leaked records). */
  async forceRelease(value: string, expected: AllocationRecord): Promise<boolean> {
    const key = this.key(value);
    const kv = await this.backend.get(key);
    if (!kv) return false;
    const rec = parseRecord(kv.value);
    if (rec && (rec.owner.uid !== expected.owner.uid || rec.allocatedAt !== expected.allocatedAt)) return false;
    try {
      await this.backend.delete(key, kv.modRevision);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError || e instanceof ConflictError) return false;
      throw e;
    }
  }

  /** The record for `value`, if allocated. */
  async get(value: string): Promise<AllocationRecord | undefined> {
    const kv = await this.backend.get(this.key(value));
    return kv ? parseRecord(kv.value) ?? { owner: { name: '', uid: '' }, allocatedAt: 0 } : undefined;
  }

  /** Every allocated value with its record, in key order. */
  async list(): Promise<Array<{ value: string; record: AllocationRecord }>> {
    const out: Array<{ value: string; record: AllocationRecord }> = [];
    let startAfter: string | undefined;
    for (;;) {
      const res = await this.backend.list(this.spec.prefix, { limit: 1000, startAfter });
      for (const kv of res.items) {
        out.push({ value: kv.key.slice(this.spec.prefix.length), record: parseRecord(kv.value) ?? { owner: { name: '', uid: '' }, allocatedAt: 0 } });
      }
      if (!res.more || res.items.length === 0) return out;
      startAfter = res.items[res.items.length - 1].key;
    }
  }

  private async listValues(): Promise<string[]> {
    return (await this.list()).map((e) => e.value);
  }

  /** Creates the record; false when someone holds the value already. */
  private async tryCreate(value: string, owner: AllocationOwner): Promise<boolean> {
    const rec: AllocationRecord = { owner: { ...(owner.namespace !== undefined ? { namespace: owner.namespace } : {}), name: owner.name, uid: owner.uid }, allocatedAt: Date.now() };
    try {
      await this.backend.create(this.key(value), JSON.stringify(rec));
      return true;
    } catch (e) {
      if (e instanceof KeyExistsError) return false;
      throw e;
    }
  }
}

function parseRecord(text: string): AllocationRecord | undefined {
  try {
    const r = JSON.parse(text) as AllocationRecord;
    if (r && typeof r === 'object' && r.owner && typeof r.owner.uid === 'string') return r;
  } catch {
    // fall through: an unreadable record is reported as owned by nobody (repair frees it)
  }
  return undefined;
}

/** Dotted IPv4 as a 32-bit number, undefined when it is not one (no surrounding whitespace either). */
function tryParseIPv4(ip: string): number | undefined {
  if (ip.trim() !== ip) return undefined;
  try {
    return parseIPv4(ip);
  } catch {
    return undefined;
  }
}

/**
 * The service IP range of an IPv4 CIDR as upstream's ipallocator sees it: the network and broadcast addresses are
 * excluded, so offset 0 is the first usable IP (10.43.0.1 for 10.43.0.0/16, the `kubernetes` service's).
 */
export function serviceIPRange(cidr: string, prefix: string): RangeSpec {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const base = m ? tryParseIPv4(m[1]) : undefined;
  const bits = m ? Number(m[2]) : NaN;
  if (base === undefined || !(bits >= 8 && bits <= 30)) throw new Error(`invalid service CIDR ${JSON.stringify(cidr)}: want an IPv4 CIDR between /8 and /30`);
  const total = 2 ** (32 - bits);
  const network = Math.floor(base / total) * total;
  const canonical = `${formatIPv4(network)}/${bits}`;
  const size = total - 2;
  return {
    prefix,
    size,
    noun: 'IP',
    staticBand: staticBandSize(size),
    format: (o) => formatIPv4(network + 1 + o),
    parse: (v) => {
      const n = tryParseIPv4(v);
      if (n === undefined) return undefined;
      const o = n - network - 1;
      return o >= 0 && o < size ? o : undefined;
    },
    notInRange: (v) => `the provided IP (${v}) is not in the valid range. The range of valid IPs is ${canonical}`,
  };
}

/** Parses `--service-node-port-range` ("30000-32767", or "30000+2767" as upstream also accepts). */
export function parsePortRange(s: string): { min: number; max: number } {
  const m = /^\s*(\d+)\s*([-+])\s*(\d+)\s*$/.exec(s);
  if (!m) throw new Error(`invalid port range ${JSON.stringify(s)}: want MIN-MAX`);
  const min = Number(m[1]);
  const max = m[2] === '+' ? min + Number(m[3]) : Number(m[3]);
  if (min < 1 || max > 65535 || max < min) throw new Error(`invalid port range ${JSON.stringify(s)}`);
  return { min, max };
}

/** A node port range as a RangeSpec (upstream's portallocator, with its own static band constants). */
export function nodePortRange(range: { min: number; max: number }, prefix: string): RangeSpec {
  const size = range.max - range.min + 1;
  return {
    prefix,
    size,
    noun: 'port',
    staticBand: staticBandSize(size, 32, 128),
    format: (o) => String(range.min + o),
    parse: (v) => {
      if (!/^\d+$/.test(v)) return undefined;
      const n = Number(v);
      return n >= range.min && n <= range.max ? n - range.min : undefined;
    },
    notInRange: () => `provided port is not in the valid range. The range of valid ports is ${range.min}-${range.max}`,
  };
}
