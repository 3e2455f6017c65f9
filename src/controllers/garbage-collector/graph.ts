/**
 * The garbage collector's dependency graph (kube-controller-manager `pkg/controller/garbagecollector/graph.go` and
 * `graph_builder.go`): one node per object UID the informers have seen, each knowing its owner references and the
 * nodes that name it as an owner. An owner referenced before (or without) being observed is a *virtual* node whose
 * existence the collector checks against the apiserver. The graph never decides to delete anything itself: it only
 * says which nodes need another look (`attemptToDelete`) or need their dependents orphaned (`attemptToOrphan`).
 *
 * JavaScript runs informer handlers one at a time, so the graph is updated synchronously from them, where upstream
 * funnels events through its single `graphChanges` goroutine; the order of changes per resource is preserved.
 */

/** `metav1.OwnerReference`. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/**
 * Who an object is: owner-reference coordinates plus its namespace (upstream `objectReference`). A virtual node takes
 * the namespace of the dependent that referenced it, as upstream does, until the real object is observed.
 */
export interface Identity {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
}

/** The object metadata the graph reads (the GC needs metadata only, like upstream's metadata informers). */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: readonly unknown[];
}

/** Finalizer the apiserver adds for `propagationPolicy: Foreground` (metav1.FinalizerDeleteDependents). */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
/** Finalizer the apiserver adds for `propagationPolicy: Orphan` (metav1.FinalizerOrphanDependents). */
export const ORPHAN_FINALIZER = 'orphan';

/** Renders an identity the way upstream's `objectReference.String()` does, for events and logs. */
export function identityString(i: Identity): string {
  return `[${i.apiVersion}/${i.kind}, namespace: ${i.namespace}, name: ${i.name}, uid: ${i.uid}]`;
}

function sameIdentity(a: Identity, b: Identity): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion && a.namespace === b.namespace;
}

/** The owner references of an object, dropping malformed entries (no uid). */
export function ownerRefsOf(meta: ObjectMeta | undefined): OwnerReference[] {
  return ((meta?.ownerReferences ?? []) as OwnerReference[]).filter((r) => r && typeof r.uid === 'string' && r.uid !== '');
}

/** Upstream `ownerReferenceMatchesCoordinates`: same apiVersion, kind, name and uid. */
export function refMatches(ref: OwnerReference, id: Identity): boolean {
  return ref.uid === id.uid && ref.name === id.name && ref.kind === id.kind && ref.apiVersion === id.apiVersion;
}

function refsEqual(a: OwnerReference, b: OwnerReference): boolean {
  return refMatches(a, { ...b, namespace: '' }) && Boolean(a.controller) === Boolean(b.controller) && Boolean(a.blockOwnerDeletion) === Boolean(b.blockOwnerDeletion);
}

/** One object (or a virtual owner) in the graph (upstream `node`). */
export class GraphNode {
  readonly dependents = new Set<GraphNode>();
  owners: OwnerReference[] = [];
  /** Known only from a dependent's owner reference, not (yet) seen by an informer. */
  virtual: boolean;
  beingDeleted = false;
  /** Being deleted with the foregroundDeletion finalizer: waits for its blocking dependents. */
  deletingDependents = false;

  constructor(public identity: Identity, virtual: boolean) {
    this.virtual = virtual;
  }

  /** Dependents whose reference to this node has `blockOwnerDeletion: true` (upstream `blockingDependents`). */
  blockingDependents(): GraphNode[] {
    return [...this.dependents].filter((d) => d.owners.some((r) => r.uid === this.identity.uid && r.blockOwnerDeletion === true));
  }
}

/**
 * Owners confirmed absent (upstream `ReferenceCache`, an LRU of 500): later dependents of the same owner are judged
 * without another GET. Keyed by coordinates and namespace, so a namespaced owner missing from one namespace is not
 * taken as missing from another.
 */
export class AbsentOwnerCache {
  private readonly entries = new Map<string, true>();
  constructor(private readonly max = 500) {}

  private static key(i: Identity): string {
    return `${i.uid}|${i.apiVersion}|${i.kind}|${i.namespace}|${i.name}`;
  }

  add(i: Identity): void {
    const k = AbsentOwnerCache.key(i);
    this.entries.delete(k);
    this.entries.set(k, true);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  has(i: Identity): boolean {
    const k = AbsentOwnerCache.key(i);
    if (!this.entries.has(k)) return false;
    this.entries.delete(k);
    this.entries.set(k, true);
    return true;
  }
}

/** What the graph asks of the collector. */
export interface GraphCallbacks {
  attemptToDelete(n: GraphNode): void;
  /** Re-examine after the rate limiter's delay (a replaced virtual node). */
  attemptToDeleteRateLimited(n: GraphNode): void;
  attemptToOrphan(n: GraphNode): void;
  /** A dependent names an owner that lives in another namespace (event `OwnerRefInvalidNamespace`). */
  reportInvalidNamespaceOwnerRef(dependent: GraphNode, ownerUid: string): void;
}

function beingDeleted(m: ObjectMeta | undefined): boolean {
  return Boolean(m?.deletionTimestamp);
}

function hasFinalizer(m: ObjectMeta | undefined, f: string): boolean {
  return (m?.finalizers ?? []).includes(f);
}

/** Upstream `deletionStartsWithFinalizer`: the object is being deleted with `f`, and was not before. */
function deletionStartsWithFinalizer(oldMeta: ObjectMeta | undefined, newMeta: ObjectMeta, f: string): boolean {
  if (!beingDeleted(newMeta) || !hasFinalizer(newMeta, f)) return false;
  if (!oldMeta) return true;
  return !beingDeleted(oldMeta) || !hasFinalizer(oldMeta, f);
}

/** Splits dependents by whether their reference to `id.uid` matches `id`'s coordinates and namespace rules. */
function partitionDependents(deps: Iterable<GraphNode>, id: Identity): { matching: GraphNode[]; nonMatching: GraphNode[] } {
  const matching: GraphNode[] = [];
  const nonMatching: GraphNode[] = [];
  const ownerNamespaced = id.namespace !== '';
  for (const d of deps) {
    let found = false;
    for (const r of d.owners) {
      if (r.uid !== id.uid) continue;
      found = true;
      const ok = refMatches(r, id) && (!ownerNamespaced || d.identity.namespace === id.namespace);
      (ok ? matching : nonMatching).push(d);
      break;
    }
    if (!found) nonMatching.push(d);
  }
  return { matching, nonMatching };
}

/** See the module comment. */
export class DependencyGraph {
  private readonly nodes = new Map<string, GraphNode>();
  readonly absentOwners = new AbsentOwnerCache();

  constructor(private readonly cb: GraphCallbacks) {}

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** An add or update seen by an informer (upstream `processGraphChanges` for add/update events). */
  observe(identity: Identity, meta: ObjectMeta, oldMeta?: ObjectMeta): void {
    let node = this.nodes.get(identity.uid);
    if (node && node.virtual) {
      if (!sameIdentity(identity, node.identity)) {
        // Dependents that named this owner with other coordinates may be wrong: have them re-checked.
        const { nonMatching } = partitionDependents(node.dependents, identity);
        for (const dep of nonMatching) {
          if (identity.namespace !== '' && dep.identity.namespace !== identity.namespace) this.cb.reportInvalidNamespaceOwnerRef(dep, identity.uid);
          this.cb.attemptToDelete(dep);
        }
        node.identity = identity;
      }
      node.virtual = false;
    }
    if (!node) {
      node = new GraphNode(identity, false);
      node.owners = ownerRefsOf(meta);
      node.beingDeleted = beingDeleted(meta);
      node.deletingDependents = node.beingDeleted && hasFinalizer(meta, FOREGROUND_FINALIZER);
      this.nodes.set(identity.uid, node);
      this.addDependentToOwners(node, node.owners);
      this.processTransitions(oldMeta, meta, node);
      return;
    }
    if (node.identity.apiVersion !== identity.apiVersion || node.identity.kind !== identity.kind) {
      node.identity = { ...node.identity, apiVersion: identity.apiVersion, kind: identity.kind };
    }
    const next = ownerRefsOf(meta);
    const { added, removed, changed } = referencesDiffs(node.owners, next);
    if (added.length || removed.length || changed.length) {
      this.addUnblockedOwnersToDeleteQueue(removed, changed);
      node.owners = next;
      this.addDependentToOwners(node, added);
      this.removeDependentFromOwners(node, removed);
    }
    if (beingDeleted(meta)) node.beingDeleted = true;
    this.processTransitions(oldMeta, meta, node);
  }

  /** A delete seen by an informer: the node goes, its dependents and waiting owners are looked at again. */
  observeDelete(identity: Identity): void {
    const node = this.nodes.get(identity.uid);
    if (!node) return;
    this.removeAndNotify(node, identity);
  }

  /**
   * The collector confirmed (by a live GET) that `deleted` does not exist (upstream virtual delete event). A node
   * observed under other coordinates stays; dependents that used the absent coordinates are re-checked.
   */
  virtualDelete(deleted: Identity): void {
    const node = this.nodes.get(deleted.uid);
    if (!node) return;
    if (node.virtual) {
      const { matching, nonMatching } = partitionDependents(node.dependents, deleted);
      if (nonMatching.length > 0) {
        if (matching.length > 0) {
          this.absentOwners.add(deleted);
          for (const d of matching) this.cb.attemptToDelete(d);
        }
        // Try the coordinates the other dependents use for this UID.
        const alt = alternateOwnerIdentity(nonMatching, deleted);
        if (alt) {
          node.identity = alt;
          this.cb.attemptToDeleteRateLimited(node);
        }
        return;
      }
    } else if (!sameIdentity(node.identity, deleted)) {
      const { matching } = partitionDependents(node.dependents, deleted);
      if (matching.length > 0) {
        this.absentOwners.add(deleted);
        for (const d of matching) this.cb.attemptToDelete(d);
      }
      return;
    }
    this.removeAndNotify(node, deleted);
  }

  private removeAndNotify(node: GraphNode, identity: Identity): void {
    this.nodes.delete(node.identity.uid);
    this.removeDependentFromOwners(node, node.owners);
    if (node.dependents.size > 0) this.absentOwners.add(identity);
    for (const d of node.dependents) this.cb.attemptToDelete(d);
    for (const r of node.owners) {
      const owner = this.nodes.get(r.uid);
      // An owner waiting for its dependents may now be free to go.
      if (owner?.deletingDependents) this.cb.attemptToDelete(owner);
    }
  }

  private processTransitions(oldMeta: ObjectMeta | undefined, meta: ObjectMeta, node: GraphNode): void {
    if (deletionStartsWithFinalizer(oldMeta, meta, ORPHAN_FINALIZER)) {
      this.cb.attemptToOrphan(node);
      return;
    }
    if (deletionStartsWithFinalizer(oldMeta, meta, FOREGROUND_FINALIZER)) {
      node.deletingDependents = true;
      for (const d of node.dependents) this.cb.attemptToDelete(d);
      this.cb.attemptToDelete(node);
    }
  }

  /** Upstream `addDependentToOwners`: virtual owners for unseen UIDs, and checks of cross-namespace references. */
  private addDependentToOwners(n: GraphNode, owners: OwnerReference[]): void {
    let suspicious = false;
    for (const r of owners) {
      let owner = this.nodes.get(r.uid);
      if (!owner) {
        owner = new GraphNode({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid, namespace: n.identity.namespace }, true);
        this.nodes.set(r.uid, owner);
        owner.dependents.add(n);
        // The collector asks the apiserver whether this owner exists.
        this.cb.attemptToDelete(owner);
        continue;
      }
      owner.dependents.add(n);
      if (suspicious) continue;
      const ownerNamespaced = owner.identity.namespace !== '';
      if (ownerNamespaced && owner.identity.namespace !== n.identity.namespace) {
        if (!owner.virtual) this.cb.reportInvalidNamespaceOwnerRef(n, r.uid);
        suspicious = true;
      } else if (!refMatches(r, owner.identity)) {
        suspicious = true;
      } else if (!ownerNamespaced && owner.identity.namespace !== n.identity.namespace && owner.virtual) {
        suspicious = true;
      }
    }
    if (suspicious) this.cb.attemptToDelete(n);
  }

  private removeDependentFromOwners(n: GraphNode, owners: OwnerReference[]): void {
    for (const r of owners) this.nodes.get(r.uid)?.dependents.delete(n);
  }

  /** A blocking reference removed or unblocked may let a foreground-deleting owner go. */
  private addUnblockedOwnersToDeleteQueue(removed: OwnerReference[], changed: Array<[OwnerReference, OwnerReference]>): void {
    for (const r of removed) {
      if (r.blockOwnerDeletion !== true) continue;
      const owner = this.nodes.get(r.uid);
      if (owner) this.cb.attemptToDelete(owner);
    }
    for (const [o, n] of changed) {
      if (o.blockOwnerDeletion === true && n.blockOwnerDeletion !== true) {
        const owner = this.nodes.get(n.uid);
        if (owner) this.cb.attemptToDelete(owner);
      }
    }
  }
}

function referencesDiffs(old: OwnerReference[], next: OwnerReference[]): { added: OwnerReference[]; removed: OwnerReference[]; changed: Array<[OwnerReference, OwnerReference]> } {
  const oldByUid = new Map(old.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: Array<[OwnerReference, OwnerReference]> = [];
  for (const r of next) {
    const o = oldByUid.get(r.uid);
    if (!o) added.push(r);
    else {
      if (!refsEqual(o, r)) changed.push([o, r]);
      oldByUid.delete(r.uid);
    }
  }
  return { added, removed: [...oldByUid.values()], changed };
}

/** Upstream `getAlternateOwnerIdentity`: another identity the dependents use for this UID, in a stable order. */
function alternateOwnerIdentity(deps: GraphNode[], verifiedAbsent: Identity): Identity | undefined {
  const absentNamespaced = verifiedAbsent.namespace !== '';
  const seen = new Map<string, Identity>();
  for (const d of deps) {
    for (const r of d.owners) {
      if (r.uid !== verifiedAbsent.uid) continue;
      const id: Identity = { apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid, namespace: d.identity.namespace };
      if (sameIdentity(id, verifiedAbsent)) continue;
      // A namespaced owner verified absent from one namespace is absent from the others' view only if coordinates differ.
      if (!absentNamespaced && refMatches(r, verifiedAbsent)) continue;
      seen.set(`${id.apiVersion}|${id.kind}|${id.name}|${id.namespace}`, id);
    }
  }
  const keys = [...seen.keys()].sort();
  const after = keys.find((k) => k > `${verifiedAbsent.apiVersion}|${verifiedAbsent.kind}|${verifiedAbsent.name}|${verifiedAbsent.namespace}`);
  return seen.get(after ?? keys[0] ?? '');
}
