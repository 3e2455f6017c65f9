/**
 * Ownership helpers shared by the ReplicaSet and Deployment controllers (upstream
 * `pkg/controller/controller_ref_manager.go`): the controlling ownerReference of an object, the reference a
 * controller stamps on what it creates (controller=true, blockOwnerDeletion=true), and `claim` — adopt orphans
 * that match the owner's selector and release owned objects that no longer match, as `ClaimObject` does.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { matches, type LabelSelector } from '../../api/labels.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { isNotFound } from '../../client/rest.js';
import { ApiError } from '../../api/errors.js';

/** The metadata this module reads. */
export interface Owned {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: readonly unknown[];
  };
}

/** An owner: what a controller knows about itself. */
export interface Owner {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string };
}

/** The ownerReference with `controller: true`, if any (upstream `metav1.GetControllerOf`). */
export function controllerOf(obj: Owned): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences as OwnerReference[] | undefined)?.find((r) => r.controller === true);
}

/** The reference a controller puts on objects it creates (upstream `metav1.NewControllerRef`). */
export function newControllerRef(owner: Owner): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata!.name!,
    uid: owner.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Options of {@link claim}. */
export interface ClaimOptions<T extends Owned> {
  owner: Owner;
  selector: LabelSelector;
  /** Candidates: every object of the owned kind in the owner's namespace. */
  objects: T[];
  /** Client of the owned kind, for the adopt/release patches. */
  client: ResourceClient<T>;
  /**
   * Re-reads the owner from the apiserver before the first adoption and throws if it is gone or being deleted
   * (upstream `RecheckDeletionTimestamp`): a stale cache must not make a dying owner adopt.
   */
  recheckOwner: () => Promise<void>;
}

/**
 * Returns the objects the owner controls after adopting matching orphans and releasing non-matching owned objects
 * (upstream `ClaimPods`/`ClaimReplicaSets`). Objects controlled by someone else are left alone. Patch errors other
 * than not-found (and invalid, for release) are collected and thrown after all objects were tried, so the caller
 * retries.
 */
export async function claim<T extends Owned>(o: ClaimOptions<T>): Promise<T[]> {
  const uid = o.owner.metadata?.uid;
  const ownerDeleting = !!o.owner.metadata?.deletionTimestamp;
  const claimed: T[] = [];
  const errs: unknown[] = [];
  let recheck: Promise<void> | undefined;
  for (const obj of o.objects) {
    const ref = controllerOf(obj);
    const matched = matches(o.selector, obj.metadata?.labels);
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matched) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      try {
        await o.client.patch(obj.metadata?.namespace, obj.metadata!.name!, 'strategic', {
          metadata: { ownerReferences: [{ $patch: 'delete', uid }], uid: obj.metadata?.uid },
        });
      } catch (err) {
        if (!isNotFound(err) && !(err instanceof ApiError && err.code === 422)) errs.push(err);
      }
      continue;
    }
    if (ownerDeleting || !matched || obj.metadata?.deletionTimestamp) continue;
    if ((o.owner.metadata?.namespace ?? '') !== (obj.metadata?.namespace ?? '')) continue;
    try {
      recheck ??= o.recheckOwner();
      await recheck;
      const adopted = await o.client.patch(obj.metadata?.namespace, obj.metadata!.name!, 'strategic', {
        metadata: { ownerReferences: [newControllerRef(o.owner)], uid: obj.metadata?.uid },
      });
      claimed.push(adopted);
    } catch (err) {
      if (!isNotFound(err)) errs.push(err);
    }
  }
  if (errs.length === 1) throw errs[0];
  if (errs.length > 1) throw new AggregateError(errs, errs.map(String).join('; '));
  return claimed;
}

/** Builds the `recheckOwner` function of {@link claim} from a GET of the owner. */
export function recheckOwnerWith(get: () => Promise<Owned>, owner: Owner): () => Promise<void> {
  return async () => {
    const fresh = await get();
    const kind = owner.kind;
    const name = owner.metadata?.name;
    if (fresh.metadata?.uid !== owner.metadata?.uid) {
      throw new Error(`original ${kind} ${owner.metadata?.namespace}/${name} is gone: got uid ${fresh.metadata?.uid}, wanted ${owner.metadata?.uid}`);
    }
    if (fresh.metadata?.deletionTimestamp) {
      throw new Error(`${kind} ${owner.metadata?.namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  };
}
