/**
 * meta.k8s.io/v1 Table types (KEP-2334 server-side printing) and the printer contract every kind implements.
 * kubectl asks for `application/json;as=Table;g=meta.k8s.io;v=v1` and prints these rows verbatim, so the column
 * set and cell text must match kube-apiserver's.
 */

import type { KObject } from '../errors.js';

/** One column header; every field is always serialized, as upstream (no omitempty). */
export interface TableColumnDefinition {
  name: string;
  /** OpenAPI type: string, integer, number, boolean, date. */
  type: string;
  /** OpenAPI format hint; `name` marks the column holding the object name. */
  format: string;
  description: string;
  /** 0 = shown by default; 1 = shown with `-o wide`. */
  priority: number;
}

/** Extra row state, e.g. pods that completed (kubectl greys them out). */
export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A row: one cell per column definition, plus the object as requested by includeObject. */
export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  object?: unknown;
}

/** The `Table` object returned for list/get/watch with the Table media type. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** What a printer makes of one object: its cells (always the wide set) and optional row conditions. */
export interface PrintedRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
}

/** A kind's columns and the function that fills them. `now` is epoch milliseconds. */
export interface Printer {
  columns: TableColumnDefinition[];
  print(obj: KObject, now: number): PrintedRow;
}
