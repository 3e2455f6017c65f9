/**
 * A parser for the Prometheus text exposition format (0.0.4) as far as the kubelet's `/metrics/resource` uses it:
 * `name{label="value",…} value [timestamp_ms]`, comments and blank lines skipped, label values with `\\`, `\"` and
 * `\n` escapes, values in Go float syntax (`1.2e+07`, `+Inf`, `NaN`).
 */

/** One sample line. `timestampMs` is undefined when the line carries none. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;

function parseValue(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses every sample line; malformed lines throw with their line number. */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a Prometheus sample: ${JSON.stringify(line.slice(0, 200))}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      let lm: RegExpExecArray | null;
      while ((lm = LABEL.exec(m[2])) !== null) {
        labels[lm[1]!] = unescape(lm[2]!);
        consumed = LABEL.lastIndex;
      }
      if (m[2].slice(consumed).trim()) throw new Error(`line ${i + 1}: malformed labels: ${JSON.stringify(m[2].slice(0, 200))}`);
    }
    const value = parseValue(m[3]!);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`line ${i + 1}: bad value ${JSON.stringify(m[3])}`);
    out.push({ name: m[1]!, labels, value, ...(m[4] !== undefined ? { timestampMs: Number(m[4]) } : {}) });
  }
  return out;
}
