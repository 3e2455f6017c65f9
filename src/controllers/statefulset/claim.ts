/**
 * Adoption and release of dependents (upstream `controller.BaseControllerRefManager.ClaimObject`): a controller owns
 * the objects whose controller reference names its UID and that still match its selector; it adopts matching
 * orphans (unless it is being deleted) and releases owned objects that stopped matching. Both writes are merge
 * patches of `metadata.ownerReferences`; an object that vanished meanwhile is simply skipped.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { isNotFound } from '../../client/rest.js';
import { matches, type LabelSelector } from '../../api/labels.js';
import { controllerOf, controllerRef, type OwnerLike } from './pod-state.js';

/** A dependent as far as claiming goes. */
interface Dependent {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: readonly unknown[]; deletionTimestamp?: string };
}

/** What {@link claimObjects} needs. */
export interface ClaimOptions<T extends Dependent> {
  owner: OwnerLike;
  ownerApiVersion: string;
  ownerKind: string;
  selector: LabelSelector;
  /** Every object of the dependent kind in the owner's namespace. */
  candidates: T[];
  /** Extra condition for adoption and keeping (StatefulSet's `isMemberOf`); defaults to all. */
  filter?: (obj: T) => boolean;
  client: ResourceClient<T>;
}

/** Returns the objects the owner controls after adopting and releasing as described in the module comment. */
export async function claimObjects<T extends Dependent>(o: ClaimOptions<T>): Promise<T[]> {
  const uid = o.owner.metadata?.uid;
  const ownerDeleting = !!o.owner.metadata?.deletionTimestamp;
  const out: T[] = [];
  for (const obj of o.candidates) {
    const ref = controllerOf(obj);
    const fits = matches(o.selector, obj.metadata?.labels) && (o.filter?.(obj) ?? true);
    const ns = obj.metadata?.namespace;
    const name = obj.metadata!.name!;
    if (ref) {
      if (ref.uid !== uid) continue;
      if (fits) {
        out.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      const refs = ((obj.metadata?.ownerReferences ?? []) as OwnerReference[]).filter((r) => r.uid !== uid);
      await patchIgnoringNotFound(o.client, ns, name, { metadata: { ownerReferences: refs } });
      continue;
    }
    if (!fits || ownerDeleting || obj.metadata?.deletionTimestamp) continue;
    const refs = [...((obj.metadata?.ownerReferences ?? []) as OwnerReference[]), controllerRef(o.owner, o.ownerApiVersion, o.ownerKind)];
    const adopted = await patchIgnoringNotFound(o.client, ns, name, { metadata: { ownerReferences: refs } });
    if (adopted) out.push(adopted);
  }
  return out;
}

async function patchIgnoringNotFound<T>(client: ResourceClient<T>, ns: string | undefined, name: string, body: unknown): Promise<T | undefined> {
  try {
    return await client.patch(ns, name, 'merge', body);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
