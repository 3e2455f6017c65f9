/**
 * Parses a request body as JSON and, when it is malformed, reports the error the way Go's encoding/json does
 * (`invalid character 'x' looking for beginning of value`, `unexpected end of JSON input`). kube-apiserver returns
 * those texts verbatim in its 400 responses and clients and tests match on them; V8's messages differ.
 */

import { errors } from '../errors.js';

/** Go's encoding/json nesting limit. */
const GO_MAX_DEPTH = 10000;

/**
 * JSON.parse with Go-style failures: throws ApiError 400 whose message is `prefix` + Go's syntax error text.
 * Nesting deeper than Go's limit is refused the same way (`exceeded max depth`).
 */
export function parseJsonBody(body: Buffer | string, prefix = ''): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    throw errors.badRequest(prefix + (goSyntaxError(bytes) ?? 'invalid JSON'));
  }
  // Every nesting level needs its own ASCII bracket (one UTF-16 unit), so a text of at most GO_MAX_DEPTH units
  // cannot exceed the limit: skip the scan for the common small body.
  if (text.length > GO_MAX_DEPTH) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (nestingDepth(bytes) > GO_MAX_DEPTH) throw errors.badRequest(prefix + 'exceeded max depth');
  }
  return value;
}

/** Maximum bracket nesting outside strings (cheap linear scan; the text is already known to be valid JSON). */
function nestingDepth(b: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let inStr = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (inStr) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inStr = false;
    } else if (c === 0x22) inStr = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Go's quoteChar: how a byte appears in scanner errors. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x5c: '\\\\' };
  if (named[c]) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // Go converts the byte to the rune of the same value (Latin-1) and quotes it.
  if (c >= 0x80 && (c < 0xa0 || c === 0xad)) return `'\\u00${c.toString(16)}'`;
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/**
 * The message Go's json scanner gives for the first syntax error in `b`, or undefined if `b` is valid. A small
 * re-implementation of the scanner's state machine (iterative, so hostile nesting cannot exhaust the stack).
 */
export function goSyntaxError(b: Uint8Array): string | undefined {
  const stack: Array<'obj-key' | 'obj-val' | 'arr'> = [];
  let i = 0;
  const n = b.length;
  const err = (what: string) => `invalid character ${quoteChar(b[i]!)} ${what}`;
  const eof = 'unexpected end of JSON input';
  const skip = () => {
    while (i < n && isSpace(b[i]!)) i++;
  };

  // Each iteration parses one value at `i` (mode 'value'), then handles what follows it.
  for (;;) {
    // ---- a value ----
    skip();
    if (i >= n) return eof;
    let c = b[i]!;
    if (c === 0x7b) { // {
      i++;
      skip();
      if (i >= n) return eof;
      if (b[i] === 0x7d) { i++; }
      else {
        if (b[i] !== 0x22) return err('looking for beginning of object key string');
        stack.push('obj-key');
        continue; // the key string is parsed as a value
      }
    } else if (c === 0x5b) { // [
      i++;
      skip();
      if (i >= n) return eof;
      if (b[i] === 0x5d) { i++; }
      else { stack.push('arr'); continue; }
    } else if (c === 0x22) { // string
      i++;
      for (;;) {
        if (i >= n) return eof;
        c = b[i]!;
        if (c === 0x22) { i++; break; }
        if (c === 0x5c) {
          i++;
          if (i >= n) return eof;
          c = b[i]!;
          if (c === 0x75) {
            for (let k = 0; k < 4; k++) {
              i++;
              if (i >= n) return eof;
              if (!isHex(b[i]!)) return err('in \\u hexadecimal character escape');
            }
          } else if (!'bfnrt\\/"'.includes(String.fromCharCode(c))) return err('in string escape code');
          i++;
          continue;
        }
        if (c < 0x20) return err('in string literal');
        i++;
      }
    } else if (c === 0x2d || isDigit(c)) { // number
      if (c === 0x2d) {
        i++;
        if (i >= n) return eof;
        if (!isDigit(b[i]!)) return err('in numeric literal');
      }
      if (b[i] === 0x30) i++;
      else while (i < n && isDigit(b[i]!)) i++;
      if (i < n && b[i] === 0x2e) {
        i++;
        if (i >= n) return eof;
        if (!isDigit(b[i]!)) return err('after decimal point in numeric literal');
        while (i < n && isDigit(b[i]!)) i++;
      }
      if (i < n && (b[i] === 0x65 || b[i] === 0x45)) {
        i++;
        if (i < n && (b[i] === 0x2b || b[i] === 0x2d)) i++;
        if (i >= n) return eof;
        if (!isDigit(b[i]!)) return err('in exponent of numeric literal');
        while (i < n && isDigit(b[i]!)) i++;
      }
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) { // true false null
      const word = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      i++;
      for (let k = 1; k < word.length; k++, i++) {
        if (i >= n) return eof;
        if (b[i] !== word.charCodeAt(k)) return err(`in literal ${word} (expecting '${word[k]}')`);
      }
    } else {
      return err('looking for beginning of value');
    }

    // ---- after a value: close containers / separators ----
    for (;;) {
      skip();
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (i < n) return err('after top-level value');
        return undefined;
      }
      if (i >= n) return eof;
      c = b[i]!;
      if (top === 'obj-key') {
        if (c !== 0x3a) return err('after object key');
        i++;
        stack[stack.length - 1] = 'obj-val';
        break;
      }
      if (top === 'obj-val') {
        if (c === 0x2c) {
          i++;
          skip();
          if (i >= n) return eof;
          if (b[i] !== 0x22) return err('looking for beginning of object key string');
          stack[stack.length - 1] = 'obj-key';
          break;
        }
        if (c === 0x7d) { i++; stack.pop(); continue; }
        return err('after object key:value pair');
      }
      // array
      if (c === 0x2c) { i++; break; }
      if (c === 0x5d) { i++; stack.pop(); continue; }
      return err('after array element');
    }
  }
}
