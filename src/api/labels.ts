/**
 * Label selectors, as `k8s.io/apimachinery/pkg/labels` defines them: the string grammar that `?labelSelector=`
 * and `kubectl -l` use, the structured `metav1.LabelSelector` that workloads carry, matching, and the string form
 * kubectl prints. Parse errors carry upstream's wording so kubectl shows the same message it would for
 * kube-apiserver. Controllers and the scheduler match millions of times, so matching allocates nothing.
 */

import { ApiError, errors } from './errors.js';

/** The operators a requirement can hold; the names are upstream's `selection.Operator` strings. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

/** One `key op values` clause. Values are sorted and unique for set operators, one value otherwise. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
  /** Integer operand of gt/lt, precomputed so matching does not re-parse it. */
  readonly int?: bigint;
  /** Membership set for large in/notin lists, so matching stays O(1) per requirement. */
  readonly set?: ReadonlySet<string>;
}

/**
 * A parsed selector: the AND of its requirements, sorted by key like upstream. `nothing` marks the selector that
 * matches no object at all (a nil `metav1.LabelSelector`), which differs from the empty selector that matches all.
 */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  readonly nothing?: boolean;
}

/** Structured selector as carried in Deployment/ReplicaSet/Job/... specs (`metav1.LabelSelector`). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | null }> | null;
}

const EVERYTHING: LabelSelector = Object.freeze({ requirements: Object.freeze([]) as readonly LabelRequirement[] });
const NOTHING: LabelSelector = Object.freeze({ requirements: Object.freeze([]) as readonly LabelRequirement[], nothing: true });

/** The selector that matches every object; shared because it is immutable. */
export function everything(): LabelSelector {
  return EVERYTHING;
}

/** The selector that matches no object (what a nil LabelSelector converts to). */
export function nothing(): LabelSelector {
  return NOTHING;
}

/** True when the selector does not restrict anything (upstream `Selector.Empty`); the nothing selector is not empty. */
export function isEmpty(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

/** True only for the selector that matches no object, so list paths can short-circuit. */
export function matchesNothing(sel: LabelSelector): boolean {
  return sel.nothing === true;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation (k8s.io/apimachinery/pkg/util/validation), message text as upstream so errors read the same.

const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  let s = msg + ' (e.g. ';
  for (let i = 0; i < examples.length; i++) {
    if (i > 0) s += ' or ';
    s += `'${examples[i]}', `;
  }
  return s + `regex used for validation is '${fmt}')`;
}

const maxLenError = (n: number) => `must be no more than ${n} characters`;

/** Go measures lengths in bytes; a string that passed the ASCII-only regex has as many bytes as code units. */
function byteLen(s: string): number {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (byteLen(v) > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

/** Upstream `IsQualifiedName`: the rules for label keys. Returns the error strings (empty when valid). */
export function validateLabelKey(key: string): string[] {
  if (QUALIFIED_NAME_RE.test(key) && key.length <= 63) return []; // fast path: no prefix, valid name
  const errs: string[] = [];
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push('prefix part ' + m);
  } else {
    return [
      'a qualified name ' + regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc') +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLen(name) > 63) errs.push('name part ' + maxLenError(63));
  if (!QUALIFIED_NAME_RE.test(name)) errs.push('name part ' + regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc'));
  return errs;
}

/** Upstream `IsValidLabelValue`. Returns the error strings (empty when valid). */
export function validateLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLen(value) > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** Go's `%q` for the strings that show up in selector errors (close enough for printable input). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** `%#v` of a []string as field.Invalid prints it for whole value lists. */
function goStringSlice(vals: readonly string[]): string {
  return `[]string{${vals.map(goQuote).join(', ')}}`;
}

const INT64_RE = /^[+-]?[0-9]+$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** strconv.ParseInt(s, 10, 64): undefined when it would fail. */
function parseInt64(s: string): bigint | undefined {
  if (!INT64_RE.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/**
 * Builds a validated requirement (upstream `NewRequirement`). `path` is the field path prefix of errors: the string
 * parser passes none, which upstream prints as `<nil>` for key errors and omits for value errors.
 * Throws ApiError 400 with upstream's aggregated message.
 */
export function newRequirement(key: string, operator: LabelOperator, vals: readonly string[], prefix = ''): LabelRequirement {
  const errs: string[] = [];
  const p = (child: string) => (prefix ? `${prefix}.${child}` : child);
  const keyErrs = validateLabelKey(key);
  if (keyErrs.length) errs.push(`${p('key')}: Invalid value: ${goQuote(key)}: ${keyErrs.join('; ')}`);
  const vp = p('values');
  let int: bigint | undefined;
  switch (operator) {
    case 'in':
    case 'notin':
      if (vals.length === 0) errs.push(`${vp}: Invalid value: ${goStringSlice(vals)}: for 'in', 'notin' operators, values set can't be empty`);
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) errs.push(`${vp}: Invalid value: ${goStringSlice(vals)}: exact-match compatibility requires one single value`);
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) errs.push(`${vp}: Invalid value: ${goStringSlice(vals)}: values set must be empty for exists and does not exist`);
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) errs.push(`${vp}: Invalid value: ${goStringSlice(vals)}: for 'Gt', 'Lt' operators, exactly one value is required`);
      for (let i = 0; i < vals.length; i++) {
        const n = parseInt64(vals[i]!);
        if (n === undefined) errs.push(`${vp}[${i}]: Invalid value: ${goQuote(vals[i]!)}: for 'Gt', 'Lt' operators, the value must be an integer`);
        else if (i === 0) int = n;
      }
      break;
    default:
      errs.push(`${p('operator')}: Unsupported value: ${goQuote(operator)}: supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"`);
  }
  for (let i = 0; i < vals.length; i++) {
    const ve = validateLabelValue(vals[i]!);
    if (ve.length) errs.push(`${vp}[${i}][${key}]: Invalid value: ${goQuote(vals[i]!)}: ${ve.join('; ')}`);
  }
  if (errs.length) throw errors.badRequest(aggregate(errs));
  return makeRequirement(key, operator, vals, int);
}

function aggregate(errs: string[]): string {
  const uniq = [...new Set(errs)];
  return uniq.length === 1 ? uniq[0]! : `[${uniq.join(', ')}]`;
}

function makeRequirement(key: string, operator: LabelOperator, vals: readonly string[], int?: bigint): LabelRequirement {
  const r: { key: string; operator: LabelOperator; values: readonly string[]; int?: bigint; set?: ReadonlySet<string> } = {
    key,
    operator,
    values: vals,
  };
  if (int !== undefined) r.int = int;
  if ((operator === 'in' || operator === 'notin') && vals.length > 8) r.set = new Set(vals);
  return r;
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  // Array.prototype.sort is stable, so requirements on one key keep their written order.
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer and parser for the string grammar (upstream labels.Parse).

const enum Tok {
  Error,
  EOS,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

interface Item {
  tok: Tok;
  lit: string;
}

const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => c === '=' || c === '!' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<';

function symbolToken(s: string): Tok | undefined {
  switch (s) {
    case ')': return Tok.ClosedPar;
    case ',': return Tok.Comma;
    case '!': return Tok.DoesNotExist;
    case '==': return Tok.DoubleEquals;
    case '=': return Tok.Equals;
    case '>': return Tok.GreaterThan;
    case '<': return Tok.LessThan;
    case '!=': return Tok.NotEquals;
    case '(': return Tok.OpenPar;
    default: return undefined;
  }
}

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  const n = s.length;
  for (;;) {
    while (pos < n && isWhitespace(s[pos]!)) pos++;
    // Upstream's lexer reads bytes and treats a NUL where a token should start as the end of input.
    if (pos >= n || s[pos] === '\0') {
      items.push({ tok: Tok.EOS, lit: '' });
      return items;
    }
    const c = s[pos]!;
    if (isSpecial(c)) {
      // Longest match: "!=" and "==" are the only two-character symbols.
      const two = s.slice(pos, pos + 2);
      if (two === '!=' || two === '==') {
        items.push({ tok: symbolToken(two)!, lit: two });
        pos += 2;
      } else {
        items.push({ tok: symbolToken(c)!, lit: c });
        pos += 1;
      }
      // Upstream's scanner consumes a NUL that directly follows a token instead of pushing it back.
      if (s[pos] === '\0') pos++;
      continue;
    }
    const start = pos;
    while (pos < n) {
      const ch = s[pos]!;
      if (ch === '\0' || isSpecial(ch) || isWhitespace(ch)) break;
      pos++;
    }
    const lit = s.slice(start, pos);
    if (s[pos] === '\0') pos++;
    items.push({ tok: lit === 'in' ? Tok.In : lit === 'notin' ? Tok.NotIn : Tok.Identifier, lit });
  }
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

class ParseError extends Error {}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In value context the keywords `in`/`notin` are plain identifiers ("x in (in)"). */
  private look(values: boolean): Item {
    const it = this.items[this.pos]!;
    return values && (it.tok === Tok.In || it.tok === Tok.NotIn) ? { tok: Tok.Identifier, lit: it.lit } : it;
  }

  private next(values: boolean): Item {
    const it = this.look(values);
    this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.look(true);
      switch (tok) {
        case Tok.Identifier:
        case Tok.DoesNotExist: {
          let r: LabelRequirement;
          try {
            r = this.parseRequirement();
          } catch (e) {
            const msg = e instanceof ApiError || e instanceof ParseError ? e.message : String(e);
            throw new ParseError(`unable to parse requirement: ${msg}`);
          }
          reqs.push(r);
          const t = this.next(true);
          if (t.tok === Tok.EOS) return reqs;
          if (t.tok === Tok.Comma) {
            const t2 = this.look(true);
            if (t2.tok !== Tok.Identifier && t2.tok !== Tok.DoesNotExist) throw new ParseError(`found '${t2.lit}', expected: identifier after ','`);
            break;
          }
          throw new ParseError(`found '${t.lit}', expected: ',' or 'end of string'`);
        }
        case Tok.EOS:
          return reqs;
        default:
          throw new ParseError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): LabelRequirement {
    let notExists = false;
    let t = this.next(true);
    if (t.tok === Tok.DoesNotExist) {
      notExists = true;
      t = this.next(true);
    }
    if (t.tok !== Tok.Identifier) throw new ParseError(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErrs = validateLabelKey(key);
    if (keyErrs.length) throw new ParseError(`<nil>: Invalid value: ${goQuote(key)}: ${keyErrs.join('; ')}`);
    // "!key" is complete by itself: whatever follows is the caller's problem ("!a=b" fails at '=', as upstream).
    if (notExists) return newRequirement(key, '!', []);
    const ahead = this.look(true).tok;
    if (ahead === Tok.EOS || ahead === Tok.Comma) return newRequirement(key, 'exists', []);
    const op = this.parseOperator();
    let vals: string[];
    if (op === 'in' || op === 'notin') vals = this.parseValues();
    else vals = this.parseExactValue();
    return newRequirement(key, op, vals);
  }

  private parseOperator(): LabelOperator {
    const { tok, lit } = this.next(false);
    switch (tok) {
      case Tok.In: return 'in';
      case Tok.Equals: return '=';
      case Tok.DoubleEquals: return '==';
      case Tok.GreaterThan: return 'gt';
      case Tok.LessThan: return 'lt';
      case Tok.NotIn: return 'notin';
      case Tok.NotEquals: return '!=';
      default: throw new ParseError(`found '${lit}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private parseValues(): string[] {
    let t = this.next(true);
    if (t.tok !== Tok.OpenPar) throw new ParseError(`found '${t.lit}' expected: '('`);
    t = this.look(true);
    switch (t.tok) {
      case Tok.Identifier:
      case Tok.Comma: {
        const s = this.parseIdentifiersList();
        if (this.next(true).tok !== Tok.ClosedPar) throw new ParseError(`found '${t.lit}', expected: ')'`);
        return s;
      }
      case Tok.ClosedPar:
        this.next(true);
        return [''];
      default:
        throw new ParseError(`found '${t.lit}', expected: ',', ')' or identifier`);
    }
  }

  /** Comma-separated, possibly empty identifiers; the result is a sorted set like upstream's sets.String. */
  private parseIdentifiersList(): string[] {
    const s = new Set<string>();
    for (;;) {
      const t = this.next(true);
      if (t.tok === Tok.Identifier) {
        s.add(t.lit);
        const t2 = this.look(true);
        if (t2.tok === Tok.Comma) continue;
        if (t2.tok === Tok.ClosedPar) return [...s].sort();
        throw new ParseError(`found '${t2.lit}', expected: ',' or ')'`);
      } else if (t.tok === Tok.Comma) {
        if (s.size === 0) s.add('');
        const t2 = this.look(true).tok;
        if (t2 === Tok.ClosedPar) {
          s.add('');
          return [...s].sort();
        }
        if (t2 === Tok.Comma) s.add('');
      } else {
        throw new ParseError(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): string[] {
    const ahead = this.look(true).tok;
    if (ahead === Tok.EOS || ahead === Tok.Comma) return [''];
    const t = this.next(true);
    if (t.tok === Tok.Identifier) return [t.lit];
    throw new ParseError(`found '${t.lit}', expected: identifier`);
  }
}

/**
 * Parses the string form (`app=web,tier in (a,b),!canary,gen>3`). Whitespace separates tokens; `in`/`notin` sets
 * may contain empty values; `>`/`<` take an int64. Throws ApiError 400 with upstream's message on bad input.
 */
export function parseLabelSelector(s: string): LabelSelector {
  if (s === '') return EVERYTHING;
  let reqs: LabelRequirement[];
  try {
    reqs = new Parser(lex(s)).parse();
  } catch (e) {
    if (e instanceof ParseError) throw errors.badRequest(e.message);
    throw e;
  }
  if (reqs.length === 0) return EVERYTHING;
  return { requirements: sortByKey(reqs) };
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

function hasValue(r: LabelRequirement, v: string): boolean {
  if (r.set) return r.set.has(v);
  const vals = r.values;
  for (let i = 0; i < vals.length; i++) if (vals[i] === v) return true;
  return false;
}

/** Whether one requirement holds for the labels (upstream `Requirement.Matches`). */
export function requirementMatches(r: LabelRequirement, labels: Record<string, string> | undefined | null): boolean {
  // Label values are strings; Object.prototype carries no string-valued properties, so typeof is an own-key test.
  const v = labels ? labels[r.key] : undefined;
  const has = typeof v === 'string';
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && hasValue(r, v);
    case '!=':
    case 'notin':
      return !has || !hasValue(r, v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.int === undefined) return false;
      const n = parseInt64(v);
      if (n === undefined) return false;
      return r.operator === 'gt' ? n > r.int : n < r.int;
    }
    default:
      return false;
  }
}

/** Whether every requirement holds; the empty selector matches all, the nothing selector none. */
export function matches(sel: LabelSelector, labels?: Record<string, string> | null): boolean {
  if (sel.nothing) return false;
  const reqs = sel.requirements;
  for (let i = 0; i < reqs.length; i++) if (!requirementMatches(reqs[i]!, labels)) return false;
  return true;
}

/**
 * If the selector pins `key` to one value (`key=v`, `key==v`, `key in (v)`), returns it — the apiserver and
 * controllers use this to pick an index instead of scanning.
 */
export function requiresExactMatch(sel: LabelSelector, key: string): string | undefined {
  for (const r of sel.requirements) {
    if (r.key !== key) continue;
    if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
    return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Structured selectors and string forms

function requirementString(r: LabelRequirement): string {
  let s = r.operator === '!' ? '!' + r.key : r.key;
  switch (r.operator) {
    case 'exists':
    case '!':
      return s;
    case '=': s += '='; break;
    case '==': s += '=='; break;
    case '!=': s += '!='; break;
    case 'in': s += ' in ('; break;
    case 'notin': s += ' notin ('; break;
    case 'gt': s += '>'; break;
    case 'lt': s += '<'; break;
  }
  s += r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
  if (r.operator === 'in' || r.operator === 'notin') s += ')';
  return s;
}

/** Upstream `Selector.String()`: canonical text, requirements in key order, set values sorted. */
export function labelSelectorToString(sel: LabelSelector): string {
  if (sel.nothing) return '';
  return sel.requirements.map(requirementString).join(',');
}

const EXPR_OPS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * Converts a `metav1.LabelSelector` (upstream `LabelSelectorAsSelector`): null/undefined matches nothing, an empty
 * object matches everything. Invalid keys, values or operators throw ApiError 400 with upstream's message.
 */
export function selectorFromLabelSelectorObject(obj: LabelSelectorObject | null | undefined): LabelSelector {
  if (obj == null) return NOTHING;
  const ml = obj.matchLabels ?? {};
  const me = obj.matchExpressions ?? [];
  const mlKeys = Object.keys(ml);
  if (mlKeys.length + me.length === 0) return EVERYTHING;
  const reqs: LabelRequirement[] = [];
  for (const k of mlKeys) reqs.push(newRequirement(k, '=', [ml[k]!]));
  for (const expr of me) {
    const op = EXPR_OPS[expr.operator];
    if (!op) throw errors.badRequest(`${goQuote(String(expr.operator))} is not a valid label selector operator`);
    reqs.push(newRequirement(expr.key, op, [...(expr.values ?? [])]));
  }
  return { requirements: sortByKey(reqs) };
}

/**
 * The same label set: the same keys with the same values, absent and empty alike (`labels.Equals`). For the hot
 * "did the labels change?" checks of caches and indexes: no allocation, stops at the first difference.
 */
export function sameLabelSet(a: Record<string, string> | null | undefined, b: Record<string, string> | null | undefined): boolean {
  if (a === b) return true;
  let n = 0;
  if (a) {
    for (const k in a) {
      if (b?.[k] !== a[k]) return false;
      n++;
    }
  }
  if (b) for (const _ in b) if (--n < 0) return false;
  return true;
}

/** Selector that matches exactly the given label set (upstream `SelectorFromSet`); empty/absent matches all. */
export function selectorFromSet(set: Record<string, string> | null | undefined): LabelSelector {
  if (!set) return EVERYTHING;
  const keys = Object.keys(set);
  if (keys.length === 0) return EVERYTHING;
  return { requirements: sortByKey(keys.map((k) => makeRequirement(k, '=', [set[k]!]))) };
}

/**
 * The text kubectl shows for a structured selector (upstream `metav1.FormatLabelSelector`): `app=web`, `<none>`
 * for empty or nil, `<error>` when invalid. Used for Scale.status.selector and the SELECTOR table columns.
 */
export function formatLabelSelector(obj: LabelSelectorObject | null | undefined): string {
  let s: string;
  try {
    s = labelSelectorToString(selectorFromLabelSelectorObject(obj));
  } catch {
    return '<error>';
  }
  return s === '' ? '<none>' : s;
}

/**
 * `LabelSelectorAsSelector(obj).String()`: the exact text Scale.status.selector and HPA use — unlike
 * formatLabelSelector it is "" (not `<none>`) for an empty or nil selector. Throws ApiError 400 when invalid.
 */
export function labelSelectorObjectToString(obj: LabelSelectorObject | null | undefined): string {
  return labelSelectorToString(selectorFromLabelSelectorObject(obj));
}

/** Upstream `labels.FormatLabels`: `k=v` pairs sorted by key, `<none>` when empty (service SELECTOR column). */
export function formatLabels(set: Record<string, string> | null | undefined): string {
  if (!set) return '<none>';
  const keys = Object.keys(set).sort();
  if (keys.length === 0) return '<none>';
  let s = '';
  for (let i = 0; i < keys.length; i++) s += (i ? ',' : '') + keys[i] + '=' + set[keys[i]!];
  return s;
}
