/**
 * Subresources other than status, and the "virtual" create-only kinds:
 * - `scale` (autoscaling/v1 Scale) for deployments, replicasets and statefulsets: get, update, patch;
 * - `pods/binding` (sets spec.nodeName; 409 when already bound) for the scheduler;
 * - `serviceaccounts/token` (TokenRequest → a signed JWT the apiserver itself accepts) for `kubectl create token`;
 * - `namespaces/finalize` for the namespace controller;
 * - selfsubjectaccessreviews / selfsubjectrulesreviews / subjectaccessreviews / selfsubjectreviews / tokenreviews,
 *   answered without storage. Until RBAC is enforced every authenticated user may do everything, so access
 *   reviews answer allowed=true with that reason.
 */
import { KObject, errors } from '../../api/errors.js';
import { findResource } from '../../api/resources.js';
import { labelSelectorObjectToString } from '../../api/labels.js';
import { applyPatch } from '../../api/patch/index.js';
import { readBody, RequestContext, writeJsonText, writeObject } from '../context.js';
import { mediaType, negotiate } from '../negotiation.js';
import { decodeObjectBody, isDryRun, updateObject } from './write.js';
import { handlePodLog, proxyUpgrade } from '../proxy/index.js';
import { rfc3339 } from '../../api/time.js';

const VIRTUAL = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews', 'selfsubjectreviews', 'tokenreviews']);

export function isVirtualResource(resource: string): boolean {
  return VIRTUAL.has(resource);
}

export async function handleSubresource(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const sub = ri.subresource!;
  const declared = info.subresources.find((s) => s.name === sub);
  if (!declared) throw errors.notFoundPath();
  if (!declared.verbs.includes(ri.verb) && !(ri.verb === 'get' && declared.verbs.includes('get'))) {
    throw errors.methodNotAllowed(`${ri.verb} is not supported on ${info.resource}/${sub}`);
  }
  switch (sub) {
    case 'scale': return handleScale(ctx);
    case 'binding': return handleBinding(ctx);
    case 'token': return handleToken(ctx);
    case 'finalize': return handleFinalize(ctx);
    // Streaming subresources are proxied to the pod's kubelet (src/apiserver/proxy/).
    case 'log': return handlePodLog(ctx);
    case 'exec':
    case 'attach':
    case 'portforward': return proxyUpgrade(ctx);
    default:
      throw errors.notFoundPath(`the server could not find the requested resource (${info.resource}/${sub} is not served yet)`);
  }
}

function toScale(obj: KObject): unknown {
  const sel = obj.spec?.selector;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector: sel ? labelSelectorObjectToString(sel) : '' },
  };
}

async function handleScale(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const reg = ctx.core.registry;
  if (ri.verb === 'get') {
    writeObject(ctx.res, 200, toScale(await reg.get(info, ri.namespace, ri.name!)), neg);
    return;
  }
  const dryRun = isDryRun(ctx);
  let desired: { replicas: unknown; rv?: string };
  const current = await reg.get(info, ri.namespace, ri.name!);
  if (ri.verb === 'update') {
    // kubectl scale --current-replicas sends PUT without a Content-Type: default to JSON.
    const scale = await decodeObjectBody(ctx, { apiVersion: 'autoscaling/v1', kind: 'Scale' });
    desired = { replicas: scale.spec?.replicas, rv: scale.metadata?.resourceVersion };
  } else if (ri.verb === 'patch') {
    const body = await readBody(ctx.req);
    const patched = applyPatch(toScale(current) as object, mediaType(ctx.req.headers['content-type']) || 'application/merge-patch+json', body, 'io.k8s.api.autoscaling.v1.Scale') as KObject;
    desired = { replicas: patched.spec?.replicas, rv: patched.metadata?.resourceVersion };
  } else {
    throw errors.methodNotAllowed(`${ri.verb} is not supported on ${info.resource}/scale`);
  }
  if (typeof desired.replicas !== 'number' || !Number.isInteger(desired.replicas) || desired.replicas < 0) {
    throw errors.invalid('Scale', 'autoscaling', ri.name!, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(desired.replicas)}: must be greater than or equal to 0` }]);
  }
  const next = structuredClone(current);
  next.spec = { ...(next.spec ?? {}), replicas: desired.replicas };
  next.metadata.resourceVersion = desired.rv || current.metadata.resourceVersion;
  const out = await updateObject(ctx, info, next, current, dryRun);
  writeObject(ctx.res, 200, toScale(out), neg);
}

async function handleBinding(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const binding = await decodeObjectBody(ctx, { apiVersion: 'v1', kind: 'Binding' });
  const target = binding.target as { name?: string; kind?: string } | undefined;
  if (!target?.name) throw errors.invalid('Binding', '', ri.name!, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  if (target.kind && target.kind !== 'Node') throw errors.invalid('Binding', '', ri.name!, [{ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
  const dryRun = isDryRun(ctx);
  const current = await ctx.core.registry.get(info, ri.namespace, ri.name!);
  if (current.spec?.nodeName) {
    throw errors.conflict(info.resource, info.group, ri.name!, `pod ${ri.name} is already assigned to node "${current.spec.nodeName}"`);
  }
  if (current.metadata.deletionTimestamp) throw errors.conflict(info.resource, info.group, ri.name!, 'pod is being deleted, cannot be assigned to a host');
  const bm = binding.metadata && typeof binding.metadata === 'object' ? (binding.metadata as KObject['metadata']) : undefined;
  const uid = bm?.uid;
  if (uid && uid !== current.metadata.uid) throw errors.conflict(info.resource, info.group, ri.name!, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
  const rev = Number(current.metadata.resourceVersion);
  // `current` was just decoded for this request and is not shared: modify it in place (no deep copy per binding).
  const next = current;
  next.spec.nodeName = target.name;
  const conds: Array<Record<string, unknown>> = next.status?.conditions ?? [];
  const idx = conds.findIndex((c) => c.type === 'PodScheduled');
  const cond = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() };
  if (idx >= 0) conds[idx] = cond; else conds.push(cond);
  next.status = { ...(next.status ?? {}), conditions: conds };
  if (bm?.annotations) next.metadata.annotations = { ...(next.metadata.annotations ?? {}), ...bm.annotations };
  if (!dryRun) await ctx.core.registry.update(info, { ...next, metadata: { ...next.metadata } }, rev);
  if (neg.format === 'json') writeJsonText(ctx.res, 201, BINDING_SUCCESS_JSON);
  else writeObject(ctx.res, 201, BINDING_SUCCESS, neg);
}

/** The Status a successful binding answers, serialized once. */
const BINDING_SUCCESS = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
const BINDING_SUCCESS_JSON = JSON.stringify(BINDING_SUCCESS);

async function handleToken(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const tr = await decodeObjectBody(ctx, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest' });
  const sa = await ctx.core.registry.get(info, ri.namespace, ri.name!);
  const issue = ctx.core.opts.issueToken;
  if (!issue) throw errors.internal('token issuing is not configured');
  const spec = (tr.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: unknown };
  if (spec.expirationSeconds !== undefined && (typeof spec.expirationSeconds !== 'number' || spec.expirationSeconds < 600)) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', ri.name!, [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${JSON.stringify(spec.expirationSeconds)}: may not specify a duration less than 10 minutes` }]);
  }
  const expirationSeconds = spec.expirationSeconds ?? 3600;
  let issued: { token: string; expirationTimestamp: string };
  try {
    issued = await issue({ namespace: ri.namespace!, name: ri.name!, uid: sa.metadata.uid!, audiences: spec.audiences, expirationSeconds, boundObject: spec.boundObjectRef });
  } catch (e) {
    if (e instanceof RangeError) {
      throw errors.invalid('TokenRequest', 'authentication.k8s.io', ri.name!, [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: e.message }]);
    }
    throw e;
  }
  const { token, expirationTimestamp } = issued;
  writeObject(ctx.res, 201, {
    kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1',
    metadata: { name: ri.name, namespace: ri.namespace, creationTimestamp: null },
    spec: { ...spec, audiences: spec.audiences?.length ? spec.audiences : ['https://kubernetes.default.svc.cluster.local'], expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: { token, expirationTimestamp },
  }, neg);
}

async function handleFinalize(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const body = await decodeObjectBody(ctx);
  const current = await ctx.core.registry.get(info, undefined, ri.name!);
  const next = structuredClone(current);
  next.spec = { ...(next.spec ?? {}), finalizers: body.spec?.finalizers ?? [] };
  if (body.metadata?.resourceVersion) next.metadata.resourceVersion = body.metadata.resourceVersion;
  const stored = await ctx.core.registry.update(info, next, Number(current.metadata.resourceVersion));
  const { finalizeIfDeletable } = await import('./delete.js');
  writeObject(ctx.res, 200, await finalizeIfDeletable(ctx, info, stored), neg);
}

/** POST to a review kind: evaluate and answer without storing. */
export async function handleVirtualCreate(ctx: RequestContext): Promise<void> {
  const { info, user } = ctx;
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const obj = await decodeObjectBody(ctx);
  const out: KObject = { ...obj, metadata: { ...obj.metadata, creationTimestamp: null as unknown as string } };
  const userInfo = { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra };
  switch (info.resource) {
    case 'selfsubjectaccessreviews':
    case 'subjectaccessreviews':
      out.status = { allowed: true, reason: 'RBAC is not enforced yet: every authenticated user is allowed' };
      break;
    case 'selfsubjectrulesreviews':
      out.status = {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      };
      break;
    case 'selfsubjectreviews':
      out.status = { userInfo };
      break;
    case 'tokenreviews': {
      const token = (obj.spec as { token?: string } | undefined)?.token;
      const audiences = (obj.spec as { audiences?: string[] } | undefined)?.audiences;
      const u = token ? ctx.core.opts.reviewToken?.(token, audiences) : undefined;
      out.status = u ? { authenticated: true, user: { username: u.username, uid: u.uid, groups: u.groups, extra: u.extra }, audiences: audiences ?? [] } : { authenticated: false, error: 'invalid bearer token' };
      break;
    }
    default:
      throw errors.methodNotAllowed(`create is not supported on ${info.resource}`);
  }
  writeObject(ctx.res, 201, out, neg);
}

export { findResource };
