/**
 * Completion-index sets in the compressed text form the Job API uses for `status.completedIndexes` and
 * `status.failedIndexes` ("1,3-5,7": increasing numbers, runs of three or more written as `first-last`), as
 * upstream's `orderedIntervals` in pkg/controller/job/indexed_job_utils.go.
 */

/**
 * Parses the interval text, dropping indexes at or above `completions` and malformed parts (upstream logs and skips
 * them rather than failing the sync). Returns the indexes sorted and de-duplicated.
 */
export function parseIndexes(text: string | undefined | null, completions: number): number[] {
  const out = new Set<number>();
  if (!text) return [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let i = first; i <= last && i < completions; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Formats indexes as upstream's `orderedIntervals.String()`: a run of two is written "1,2", three or more
 * "1-3" (so "0-2" for a three-completion Job).
 */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    if (j === i) parts.push(String(sorted[i]));
    else if (j === i + 1) parts.push(`${sorted[i]},${sorted[j]}`);
    else parts.push(`${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
