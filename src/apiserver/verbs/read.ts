/**
 * GET of one object and LIST of a collection: selectors, paging, resourceVersion semantics, and the Table /
 * PartialObjectMetadata / JSON / YAML / protobuf representations kubectl asks for.
 */
import { KObject, errors } from '../../api/errors.js';
import { apiVersionOf, ResourceInfo } from '../../api/resources.js';
import { parseLabelSelector, matches as labelsMatch } from '../../api/labels.js';
import { parseFieldSelector, fieldSelectorMatcher } from '../../api/fields.js';
import { toTable } from '../../api/tables/index.js';
import { RequestContext, writeObject } from '../context.js';
import { negotiate, Negotiated } from '../negotiation.js';

/** Builds the combined label+field selector predicate from the query (400 on a malformed selector). */
export function selectorFilter(ctx: RequestContext): ((obj: KObject) => boolean) | undefined {
  const ls = ctx.query.get('labelSelector');
  const fs = ctx.query.get('fieldSelector');
  const preds: Array<(o: KObject) => boolean> = [];
  if (ls) {
    const sel = parseLabelSelector(ls);
    preds.push((o) => labelsMatch(sel, o.metadata?.labels));
  }
  if (fs) {
    const sel = parseFieldSelector(fs);
    preds.push(fieldSelectorMatcher(ctx.info, sel));
  }
  if (preds.length === 0) return undefined;
  if (preds.length === 1) return preds[0];
  return (o) => preds.every((p) => p(o));
}

export function includeObjectParam(ctx: RequestContext): 'None' | 'Metadata' | 'Object' {
  const v = ctx.query.get('includeObject');
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw errors.badRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
}

export function negotiateFor(ctx: RequestContext): Negotiated {
  return negotiate(ctx.req.headers.accept, { allowTable: true, allowProtobuf: true });
}

/** Renders objects as a meta.k8s.io Table with the kind's columns. */
export function renderTable(ctx: RequestContext, info: ResourceInfo, objs: KObject[], neg: Negotiated, listMeta: Record<string, unknown>): unknown {
  const table = toTable(info, objs, { includeObject: includeObjectParam(ctx) }) as unknown as Record<string, unknown>;
  table.apiVersion = `meta.k8s.io/${neg.metaVersion}`;
  table.metadata = listMeta;
  return table;
}

function partial(o: KObject, metaVersion: string): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${metaVersion}`, metadata: o.metadata };
}

export async function handleGet(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiateFor(ctx);
  const obj = await ctx.core.registry.get(info, ri.namespace, ri.name!);
  if (neg.shape === 'table') {
    writeObject(ctx.res, 200, renderTable(ctx, info, [obj], neg, { resourceVersion: obj.metadata.resourceVersion }), neg);
  } else if (neg.shape === 'partial') {
    writeObject(ctx.res, 200, partial(obj, neg.metaVersion), neg);
  } else {
    writeObject(ctx.res, 200, obj, neg);
  }
}

function parseLimit(ctx: RequestContext): number | undefined {
  const l = ctx.query.get('limit');
  if (l === null || l === '') return undefined;
  if (!/^-?\d+$/.test(l)) throw errors.badRequest(`invalid limit: "${l}"`);
  const n = Number(l);
  return n > 0 ? n : undefined;
}

export async function handleList(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiateFor(ctx);
  const filter = selectorFilter(ctx);
  const out = await ctx.core.registry.list(info, {
    namespace: ri.namespace,
    limit: parseLimit(ctx),
    continueToken: ctx.query.get('continue') || undefined,
    resourceVersion: ctx.query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: ctx.query.get('resourceVersionMatch') || undefined,
    filter,
  });
  const listMeta: Record<string, unknown> = { resourceVersion: String(out.resourceVersion) };
  if (out.continue) listMeta.continue = out.continue;
  if (neg.shape === 'table') {
    writeObject(ctx.res, 200, renderTable(ctx, info, out.items, neg, listMeta), neg);
    return;
  }
  if (neg.shape === 'partial') {
    writeObject(ctx.res, 200, { kind: 'PartialObjectMetadataList', apiVersion: `meta.k8s.io/${neg.metaVersion}`, metadata: listMeta, items: out.items.map((o) => partial(o, neg.metaVersion)) }, neg);
    return;
  }
  writeObject(ctx.res, 200, { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: listMeta, items: out.items }, neg);
}
