/**
 * Helpers shared by the per-kind printers: column builders that pull upstream's descriptions, and the small
 * formatting functions (container lists, "+ N more..." lists, IntOrString, access modes) that several printers
 * reuse, written once so every kind renders them identically.
 */

import { formatQuantity, parseQuantity } from '../quantity.js';
import { FIELD_DOCS, type FieldDocKey } from './descriptions.js';
import type { TableColumnDefinition } from './types.js';

/** Builds a column; `desc` is a FIELD_DOCS key or literal text. */
export function col(name: string, type: string, desc: FieldDocKey | string, opts: { priority?: number; format?: string } = {}): TableColumnDefinition {
  const description = (FIELD_DOCS as Record<string, string>)[desc] ?? desc;
  return { name, type, format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

/** The Name column every kind starts with. */
export const NAME_COL = col('Name', 'string', 'meta.ObjectMeta.name', { format: 'name' });
/** The Age column (creation timestamp as a duration). */
export const AGE_COL = col('Age', 'string', 'meta.ObjectMeta.creationTimestamp');
/** Wide columns of every pod-template owner. */
export const CONTAINERS_COL = col('Containers', 'string', 'Names of each container in the template.', { priority: 1 });
export const IMAGES_COL = col('Images', 'string', 'Images referenced by each container in the template.', { priority: 1 });

/** A string field, '' when absent (Go's zero value). */
export function s(v: unknown): string {
  return typeof v === 'string' ? v : v == null ? '' : String(v);
}

/** An integer field, 0 when absent (Go's zero value). */
export function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** Arrays, [] when absent. */
export function arr<T = any>(v: unknown): T[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return Array.isArray(v) ? (v as T[]) : [];
}

/** Number of keys of a map field. */
export function count(v: unknown): number {
  return v && typeof v === 'object' ? Object.keys(v).length : 0;
}

/** Upstream `layoutContainerCells`: names and images joined by commas. */
export function containerCells(containers: unknown): [string, string] {
  const cs = arr<{ name?: string; image?: string }>(containers);
  return [cs.map((c) => s(c.name)).join(','), cs.map((c) => s(c.image)).join(',')];
}

/** Upstream `listWithMoreString`: `a,b,c + 2 more...`, `<unset>` when empty. */
export function listWithMore(list: string[], more: boolean, total: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${total - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

/** IntOrString.String(): the integer or the string as written. */
export function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(Math.trunc(v)) : s(v);
}

/** Upstream `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that fixed order. */
export function accessModes(modes: unknown): string {
  const m = new Set(arr<string>(modes));
  const out: string[] = [];
  if (m.has('ReadWriteOnce')) out.push('RWO');
  if (m.has('ReadOnlyMany')) out.push('ROX');
  if (m.has('ReadWriteMany')) out.push('RWX');
  if (m.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

/**
 * A resource.Quantity as upstream's `String()` prints it (`1.5Gi` → `1536Mi`); absent is the zero quantity "0".
 * Unparseable input (which validation should have rejected) is shown as written rather than failing the table.
 */
export function quantity(v: unknown): string {
  if (v == null || v === '') return '0';
  const str = typeof v === 'number' ? String(v) : s(v);
  try {
    return formatQuantity(parseQuantity(str));
  } catch {
    return str;
  }
}

/** Upstream `printBoolPtr`. */
export function boolPtr(v: unknown): string {
  return typeof v === 'boolean' ? (v ? 'True' : 'False') : '<unset>';
}

/** IP addresses and hostnames of a load balancer status, sorted and unique (upstream's stringer, wide form). */
export function loadBalancerIngress(ingress: unknown): string {
  const set = new Set<string>();
  for (const i of arr<{ ip?: string; hostname?: string }>(ingress)) {
    if (i?.ip) set.add(i.ip);
    else if (i?.hostname) set.add(i.hostname);
  }
  return [...set].sort().join(',');
}
