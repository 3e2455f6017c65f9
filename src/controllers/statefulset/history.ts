/**
 * ControllerRevision helpers shared by the StatefulSet and DaemonSet controllers (upstream
 * `pkg/controller/history` plus the `getPatch`/`ApplyRevision` pairs of both controllers).
 *
 * A revision snapshots the pod template as upstream stores it: `data` is the strategic-merge patch
 * `{"spec":{"template":{…, "$patch":"replace"}}}`, so applying it to the parent restores the template. Names are
 * `<parent>-<hash>` and carry the `controller-revision-hash` label. Upstream hashes with FNV-32a over Go's
 * deep-print of the object; Skiff hashes the canonical JSON (sorted keys) the same way and encodes it with the
 * same "safe" alphabet, so names look like upstream's but the values differ.
 */
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';

/** The label carrying a revision's hash (upstream `apps.ControllerRevisionHashLabelKey`). */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';

/** JSON with object keys sorted at every level, so equal objects give equal bytes whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** apimachinery `rand.SafeEncodeString`: maps every character onto an alphabet without vowels or look-alikes. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/**
 * Hash of `value` with the collision count folded in, in upstream's textual form (`controller.ComputeHash` /
 * `history.HashControllerRevision`): the decimal FNV-32a sum passed through {@link safeEncode}.
 */
export function computeHash(value: unknown, collisionCount?: number): string {
  const probe = collisionCount ? String(collisionCount) : '';
  return safeEncode(String(fnv32a(canonicalJson(value) + probe)));
}

/** `<parent>-<hash>`, with the prefix cut so the name stays a valid name (upstream `ControllerRevisionName`). */
export function controllerRevisionName(parent: string, hash: string): string {
  return `${parent.length > 223 ? parent.slice(0, 223) : parent}-${hash}`;
}

/** The revision payload upstream stores: the template as a replacing strategic-merge patch of `spec.template`. */
export function templatePatch(template: PodTemplateSpec | undefined): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...structuredClone(template ?? {}), $patch: 'replace' } } };
}

/** Inverse of {@link templatePatch}: the template a revision restores (upstream `ApplyRevision`). */
export function templateFromRevision(rev: ControllerRevision): PodTemplateSpec {
  const data = (rev.data ?? {}) as { spec?: { template?: Record<string, unknown> } };
  const { $patch: _p, ...template } = structuredClone(data.spec?.template ?? {});
  return template as PodTemplateSpec;
}

/** Whether two revisions snapshot the same template (upstream `history.EqualRevision` compares Data bytes). */
export function equalRevision(a: ControllerRevision, b: ControllerRevision): boolean {
  return canonicalJson(a.data ?? null) === canonicalJson(b.data ?? null);
}

/** Revisions ordered by revision number, then creation time, then name (upstream `history.SortControllerRevisions`). */
export function sortRevisions(revs: ControllerRevision[]): ControllerRevision[] {
  return [...revs].sort(
    (a, b) =>
      (a.revision ?? 0) - (b.revision ?? 0) ||
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')) ||
      String(a.metadata?.name).localeCompare(String(b.metadata?.name)),
  );
}

/** One past the highest revision number, 1 for none (upstream `nextRevision`). */
export function nextRevisionNumber(sorted: ControllerRevision[]): number {
  return sorted.length ? (sorted[sorted.length - 1]!.revision ?? 0) + 1 : 1;
}
