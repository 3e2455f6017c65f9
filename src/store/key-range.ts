/**
 * Prefix → key range helpers shared by the backends. etcd (and kine) turn a prefix list/watch into the half-open
 * range [prefix, prefixEnd); doing the same here lets SQLite answer prefix queries from an index range scan.
 */

/** A string that sorts after every key in the store; the range end of the empty prefix. */
export const KEY_MAX = '\u{10FFFF}\u{10FFFF}';

/**
 * The smallest string greater than every string starting with `prefix` (etcd's GetPrefixRangeEnd): the prefix with
 * its last code unit incremented. Keys are ASCII paths in practice; for exotic trailing characters the end is
 * widened to `prefix + KEY_MAX`, which is still correct for BINARY (UTF-8 byte) collation.
 */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return KEY_MAX;
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0x7f) return prefix + KEY_MAX;
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
