/**
 * Server-side printing (KEP-2334): turns objects of any served kind into a meta.k8s.io/v1 `Table` with the same
 * columns and cell text kube-apiserver produces, so `kubectl get` (which asks for `as=Table`) prints exactly what
 * it prints against a real cluster. Kinds without an upstream printer get upstream's default NAME / CREATED AT
 * table.
 */

import type { KObject } from '../errors.js';
import type { ResourceInfo } from '../resources.js';
import { CORE_PRINTERS } from './core.js';
import { OTHER_PRINTERS } from './other.js';
import type { Printer, Table, TableColumnDefinition, TableRow } from './types.js';
import { col, NAME_COL, s } from './util.js';
import { WORKLOAD_PRINTERS } from './workloads.js';
import { rfc3339 } from '../time.js';

export type { Printer, PrintedRow, Table, TableColumnDefinition, TableRow, TableRowCondition } from './types.js';
export { humanDuration, since } from './duration.js';

/** What each row carries besides its cells (`?includeObject=`); Metadata is the default. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Options of toTable; list metadata is copied into the Table's metadata. */
export interface ToTableOptions {
  includeObject?: IncludeObject;
  /** Clock for AGE and other durations; defaults to the current time. */
  now?: Date;
  /** `?noHeaders`-style output without column definitions (watch events after the first). */
  noHeaders?: boolean;
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Upstream's default table convertor: name and creation time (RFC 3339), for kinds without a printer. */
const DEFAULT_PRINTER: Printer = {
  columns: [NAME_COL, col('Created At', 'date', 'meta.ObjectMeta.creationTimestamp')],
  print: (o) => {
    const t = Date.parse(s(o.metadata?.creationTimestamp));
    // Go formats the zero time when the timestamp is unset.
    const created = Number.isNaN(t) ? '0001-01-01T00:00:00Z' : rfc3339(t);
    return { cells: [s(o.metadata?.name), created] };
  },
};

const PRINTERS: Record<string, Printer> = { ...CORE_PRINTERS, ...WORKLOAD_PRINTERS, ...OTHER_PRINTERS };
// events.k8s.io Events are served from core event storage with the core printer.
PRINTERS['events.k8s.io/Event'] = CORE_PRINTERS['/Event']!;

/** The printer for a kind (its group and kind; versions share a printer), or the default NAME/CREATED AT one. */
export function printerFor(info: Pick<ResourceInfo, 'group' | 'kind'>): Printer {
  return PRINTERS[`${info.group}/${info.kind}`] ?? DEFAULT_PRINTER;
}

/** True when the kind has its own upstream printer rather than the default table. */
export function hasPrinter(info: Pick<ResourceInfo, 'group' | 'kind'>): boolean {
  return `${info.group}/${info.kind}` in PRINTERS;
}

function cloneColumns(cols: TableColumnDefinition[]): TableColumnDefinition[] {
  return cols.map((c) => ({ ...c }));
}

function tableMeta(opts: ToTableOptions): Table['metadata'] {
  const m: Table['metadata'] = {};
  if (opts.resourceVersion !== undefined) m.resourceVersion = opts.resourceVersion;
  if (opts.continue) m.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) m.remainingItemCount = opts.remainingItemCount;
  return m;
}

/**
 * Renders objects of one kind as a Table. Each row's `object` is a PartialObjectMetadata by default, the full object
 * for `Object`, and absent for `None`. Cells always hold the wide set; kubectl hides priority-1 columns itself.
 */
export function toTable(info: ResourceInfo, objects: readonly KObject[], opts: ToTableOptions = {}): Table {
  const printer = printerFor(info);
  const now = (opts.now ?? new Date()).getTime();
  const include = opts.includeObject ?? 'Metadata';
  const rows: TableRow[] = new Array(objects.length);
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i]!;
    const printed = printer.print(obj, now);
    const row: TableRow = { cells: printed.cells };
    if (printed.conditions) row.conditions = printed.conditions.map((c) => ({ ...c }));
    if (include === 'Object') row.object = obj;
    else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    rows[i] = row;
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: tableMeta(opts),
    columnDefinitions: opts.noHeaders ? [] : cloneColumns(printer.columns),
    rows,
  };
}

/** A Table with the kind's column definitions and no rows: the first event of a `watch` in Table form. */
export function tableColumnsOnly(info: ResourceInfo, opts: Pick<ToTableOptions, 'resourceVersion'> = {}): Table {
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: tableMeta(opts), columnDefinitions: cloneColumns(printerFor(info).columns), rows: [] };
}
