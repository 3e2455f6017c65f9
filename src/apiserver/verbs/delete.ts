/**
 * DELETE and DELETECOLLECTION with kube-apiserver's graceful-deletion rules:
 * - DeleteOptions from the body (JSON, YAML or protobuf) or query: gracePeriodSeconds, preconditions
 *   (uid, resourceVersion → 409), propagationPolicy (Orphan/Background/Foreground), dryRun;
 * - an object with finalizers is only marked (deletionTimestamp, deletionGracePeriodSeconds) and removed when the
 *   last finalizer goes; a pod bound to a node is deleted gracefully (its kubelet confirms with grace 0);
 * - Foreground/Orphan add the foregroundDeletion/orphan finalizer only while a garbage collector runs.
 */
import { checkPriorityClassDelete } from '../admission/priority.js';
import { ApiError, KObject, errors } from '../../api/errors.js';
import { apiVersionOf, ResourceInfo } from '../../api/resources.js';
import { decodeProtobuf } from '../../api/protobuf/index.js';
import { readBody, RequestContext, writeObject } from '../context.js';
import { mediaType, negotiate, parseJsonOrYaml } from '../negotiation.js';
import { nowRFC3339 } from '../registry.js';
import { isDryRun } from './write.js';
import { selectorFilter } from './read.js';
import { sameJson } from '../../util/same-json.js';

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

async function readDeleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
  const body = await readBody(ctx.req);
  let opts: Record<string, unknown> = {};
  if (body.length > 0) {
    const type = mediaType(ctx.req.headers['content-type']);
    if (type === 'application/vnd.kubernetes.protobuf') opts = decodeProtobuf(body).object;
    else if (type === '' || type === 'application/json' || type === 'application/yaml') opts = parseJsonOrYaml(body, type || 'application/json');
    else throw errors.unsupportedMediaType(type);
    if (opts.kind !== undefined && opts.kind !== 'DeleteOptions') throw errors.badRequest(`expected DeleteOptions, got kind "${String(opts.kind)}"`);
  }
  const q = ctx.query;
  const out: DeleteOptions = {};
  const gp = q.get('gracePeriodSeconds') ?? (opts.gracePeriodSeconds !== undefined ? String(opts.gracePeriodSeconds) : null);
  if (gp !== null && gp !== 'null') {
    if (!/^-?\d+$/.test(gp)) throw errors.badRequest(`invalid gracePeriodSeconds: "${gp}"`);
    out.gracePeriodSeconds = Math.max(0, Number(gp));
  }
  const pp = q.get('propagationPolicy') ?? (opts.propagationPolicy as string | undefined);
  if (pp !== undefined && pp !== null) {
    if (!['Orphan', 'Background', 'Foreground'].includes(pp)) {
      throw errors.invalid('DeleteOptions', '', '', [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${pp}": supported values: "Foreground", "Background", "Orphan", "nil"` }]);
    }
    out.propagationPolicy = pp;
  }
  if (opts.orphanDependents !== undefined) out.orphanDependents = Boolean(opts.orphanDependents);
  if (opts.preconditions && typeof opts.preconditions === 'object') out.preconditions = opts.preconditions as DeleteOptions['preconditions'];
  return out;
}

function shouldDeleteNow(info: ResourceInfo, obj: KObject, grace: number | undefined): boolean {
  if ((obj.metadata.finalizers?.length ?? 0) > 0) return false;
  if (info.kind === 'Pod' && info.group === '' && obj.spec?.nodeName && grace !== 0) {
    const phase = obj.status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') return false;
  }
  if (info.kind === 'Namespace' && info.group === '') return false;
  return true;
}

/**
 * Deletes one object. Returns the final object state and whether it is gone. Shared by DELETE,
 * DELETECOLLECTION and the namespace controller.
 */
export async function deleteObject(ctx: RequestContext, info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions, dryRun: boolean): Promise<{ obj: KObject; deleted: boolean }> {
  const reg = ctx.core.registry;
  for (let attempt = 0; ; attempt++) {
    const cur = await reg.get(info, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw errors.conflict(info.resource, info.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw errors.conflict(info.resource, info.group, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    let grace = opts.gracePeriodSeconds;
    if (info.kind === 'Pod' && info.group === '') {
      // Pod CheckGracefulDelete: unscheduled pods and pods that already finished need no grace period.
      const phase = cur.status?.phase;
      if (!cur.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
      else if (grace === undefined) grace = cur.spec?.terminationGracePeriodSeconds ?? 30;
    }
    const next = structuredClone(cur);
    const fin = new Set(next.metadata.finalizers ?? []);
    const gc = ctx.core.opts.garbageCollectorEnabled?.() ?? false;
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : undefined);
    if (gc && !cur.metadata.deletionTimestamp) {
      if (policy === 'Foreground') fin.add('foregroundDeletion');
      if (policy === 'Orphan') fin.add('orphan');
    }
    if (fin.size) next.metadata.finalizers = [...fin];
    if (shouldDeleteNow(info, next, grace)) {
      if (dryRun) return { obj: cur, deleted: true };
      try {
        const gone = await reg.remove(info, namespace, name, Number(cur.metadata.resourceVersion));
        await ctx.core.afterRemove(info, gone);
        return { obj: gone, deleted: true };
      } catch (e) {
        if ((e as { code?: number }).code === 409 && attempt < 4) continue;
        throw e;
      }
    }
    // Graceful: mark for deletion. A later delete may shorten the grace period, never lengthen it.
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = nowRFC3339(new Date(Date.now() + (info.kind === 'Pod' ? (grace ?? 0) * 1000 : 0)));
      next.metadata.deletionGracePeriodSeconds = info.kind === 'Pod' ? grace ?? 0 : 0;
    } else if (grace !== undefined && (next.metadata.deletionGracePeriodSeconds ?? 0) > grace) {
      next.metadata.deletionGracePeriodSeconds = grace;
    }
    if (info.kind === 'Namespace' && info.group === '') next.status = { ...(next.status ?? {}), phase: 'Terminating' };
    if (dryRun) return { obj: next, deleted: false };
    if (sameJson(next, cur)) return { obj: cur, deleted: false };
    try {
      const stored = await reg.update(info, next, Number(cur.metadata.resourceVersion));
      return { obj: stored, deleted: false };
    } catch (e) {
      if ((e as { code?: number }).code === 409 && attempt < 4) continue;
      throw e;
    }
  }
}

/**
 * Upstream's shouldDeleteDuringUpdate: an update that leaves an object marked for deletion without finalizers (and,
 * for pods, with no grace period left) deletes it instead of writing it, so watchers see one DELETED and no
 * intermediate MODIFIED. Namespaces go through their finalize step instead.
 */
export function deletesOnUpdate(info: ResourceInfo, next: KObject): boolean {
  const m = next.metadata;
  if (!m.deletionTimestamp || (m.finalizers?.length ?? 0) > 0) return false;
  if (info.group === '' && info.kind === 'Namespace') return false;
  if (info.group === '' && info.kind === 'Pod' && (m.deletionGracePeriodSeconds ?? 0) > 0) return false;
  return true;
}

/**
 * After an update: an object marked for deletion whose finalizers are all gone (and, for pods, whose grace period
 * is 0) is removed, as the generic registry does in its update path.
 */
export async function finalizeIfDeletable(ctx: RequestContext, info: ResourceInfo, obj: KObject): Promise<KObject> {
  const m = obj.metadata;
  if (!m.deletionTimestamp || (m.finalizers?.length ?? 0) > 0) return obj;
  if (info.kind === 'Namespace' && info.group === '') {
    // Namespaces go when spec.finalizers is empty too (the namespace controller's finalize step).
    if ((obj.spec?.finalizers?.length ?? 0) > 0) return obj;
  } else if (info.kind === 'Pod' && info.group === '' && (m.deletionGracePeriodSeconds ?? 0) > 0) {
    return obj;
  }
  try {
    const gone = await ctx.core.registry.remove(info, m.namespace, m.name!, Number(m.resourceVersion));
    await ctx.core.afterRemove(info, gone);
    return gone;
  } catch (e) {
    if ((e as { code?: number }).code === 404 || (e as { code?: number }).code === 409) return obj;
    throw e;
  }
}

function successStatus(info: ResourceInfo, obj: KObject): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: obj.metadata.name, ...(info.group ? { group: info.group } : {}), kind: info.resource, uid: obj.metadata.uid } };
}

/** Kinds whose DELETE answers with the object (upstream ReturnDeletedObject), others answer a Success Status. */
const RETURNS_OBJECT = new Set(['Pod', 'Namespace', 'Service', 'Node', 'PersistentVolume', 'PersistentVolumeClaim']);

/** Namespaces the NamespaceLifecycle admission plugin refuses to delete. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export async function handleDelete(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  if (info.kind === 'Namespace' && info.group === '' && IMMORTAL_NAMESPACES.has(ri.name!)) {
    ctx.req.resume();
    throw new ApiError(403, 'Forbidden', `namespaces "${ri.name}" is forbidden: this namespace may not be deleted`, { name: ri.name, kind: 'namespaces' });
  }
  // The built-in PriorityClasses cannot be deleted (upstream priorityclass storage `Delete`).
  const pcErr = checkPriorityClassDelete(info, ri.name);
  if (pcErr) {
    ctx.req.resume();
    throw pcErr;
  }
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const opts = await readDeleteOptions(ctx);
  const dryRun = isDryRun(ctx);
  const { obj, deleted } = await deleteObject(ctx, info, ri.namespace, ri.name!, opts, dryRun);
  if (!deleted || (RETURNS_OBJECT.has(info.kind) && info.group === '')) {
    writeObject(ctx.res, 200, obj, neg);
  } else {
    writeObject(ctx.res, 200, successStatus(info, obj), neg);
  }
}

export async function handleDeleteCollection(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const opts = await readDeleteOptions(ctx);
  const dryRun = isDryRun(ctx);
  const listed = await ctx.core.registry.list(info, { namespace: ri.namespace, filter: selectorFilter(ctx) });
  const items: KObject[] = [];
  for (const o of listed.items) {
    try {
      const r = await deleteObject(ctx, info, o.metadata.namespace, o.metadata.name!, opts, dryRun);
      items.push(r.obj);
    } catch (e) {
      if ((e as { code?: number }).code === 404) continue;
      throw e;
    }
  }
  writeObject(ctx.res, 200, { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(listed.resourceVersion) }, items }, neg);
}
