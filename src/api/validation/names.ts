/**
 * String validators from apimachinery `pkg/util/validation/validation.go`, with upstream's exact error texts. Each
 * `*Errors` function returns the upstream message list (empty when valid), the matching `is*` predicate a boolean,
 * so field validators can wrap the messages into `Invalid` causes exactly as kube-apiserver does.
 */

/** `validation.RegexError`: "msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')". */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let s = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) s += ' or ';
    s += `'${e}', `;
  });
  return `${s}regex used for validation is '${fmt}')`;
}

/** `validation.MaxLenError`. */
export const maxLenError = (n: number): string => `must be no more than ${n} characters`;
/** `validation.EmptyError`. */
export const emptyError = (): string => 'must be non-empty';
/** `validation.InclusiveRangeError`. */
export const inclusiveRangeError = (lo: number, hi: number): string => `must be between ${lo} and ${hi}, inclusive`;

const anchored = (fmt: string): RegExp => new RegExp(`^${fmt}$`);

const QNAME_CHAR = '[A-Za-z0-9]';
const QNAME_EXT_CHAR = '[-A-Za-z0-9_.]';
export const QUALIFIED_NAME_FMT = `(${QNAME_CHAR}${QNAME_EXT_CHAR}*)?${QNAME_CHAR}`;
const QUALIFIED_NAME_ERR = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_RE = anchored(QUALIFIED_NAME_FMT);
export const QUALIFIED_NAME_MAX_LENGTH = 63;

export const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_ERR = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_LABEL_RE = anchored(DNS1123_LABEL_FMT);
export const DNS1123_LABEL_MAX_LENGTH = 63;

export const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_ERR = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_RE = anchored(DNS1123_SUBDOMAIN_FMT);
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

export const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_ERR = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const DNS1035_LABEL_RE = anchored(DNS1035_LABEL_FMT);

const WILDCARD_DNS1123_FMT = `\\*\\.${DNS1123_SUBDOMAIN_FMT}`;
const WILDCARD_DNS1123_ERR = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_ERR = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_RE = anchored(LABEL_VALUE_FMT);
export const LABEL_VALUE_MAX_LENGTH = 63;

/** `IsDNS1123Label` messages. */
export function dns1123LabelErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > DNS1123_LABEL_MAX_LENGTH) out.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1123_LABEL_RE.test(v)) out.push(regexError(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  return out;
}
/** RFC 1123 label (namespace and service names, container names). */
export const isDNS1123Label = (v: unknown): boolean => typeof v === 'string' && v.length <= DNS1123_LABEL_MAX_LENGTH && DNS1123_LABEL_RE.test(v);

/** `IsDNS1123Subdomain` messages. */
export function dns1123SubdomainErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX_LENGTH) out.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!DNS1123_SUBDOMAIN_RE.test(v)) out.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return out;
}
/** RFC 1123 subdomain (most object names). */
export const isDNS1123Subdomain = (v: unknown): boolean => typeof v === 'string' && v.length <= DNS1123_SUBDOMAIN_MAX_LENGTH && DNS1123_SUBDOMAIN_RE.test(v);

/** `IsDNS1035Label` messages (Service names). */
export function dns1035LabelErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > DNS1123_LABEL_MAX_LENGTH) out.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  if (!DNS1035_LABEL_RE.test(v)) out.push(regexError(DNS1035_LABEL_ERR, DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  return out;
}
export const isDNS1035Label = (v: unknown): boolean => typeof v === 'string' && dns1035LabelErrors(v).length === 0;

/** `IsWildcardDNS1123Subdomain` messages (Ingress hosts like `*.example.com`). */
export function wildcardDNS1123SubdomainErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX_LENGTH) out.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!anchored(WILDCARD_DNS1123_FMT).test(v)) out.push(regexError(WILDCARD_DNS1123_ERR, WILDCARD_DNS1123_FMT, '*.example.com'));
  return out;
}

/**
 * Strings already found valid, per check: label keys and values, resource names and the like repeat across objects
 * (every pod of a workload, every node's well-known labels), so each is split and matched once. Only valid strings
 * are kept (an invalid one is checked again for its messages); a set that grows past its bound starts over.
 */
const KNOWN_VALID_MAX = 8192;
const validQualifiedNames = new Set<string>();
const validLabelValues = new Set<string>();
function rememberValid(set: Set<string>, v: string): void {
  if (set.size >= KNOWN_VALID_MAX) set.clear();
  set.add(v);
}

/** `IsQualifiedName` messages: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export function qualifiedNameErrors(v: string): string[] {
  if (validQualifiedNames.has(v)) return [];
  const out = qualifiedNameCheck(v);
  if (out.length === 0) rememberValid(validQualifiedNames, v);
  return out;
}

function qualifiedNameCheck(v: string): string[] {
  const out: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) out.push(`prefix part ${emptyError()}`);
    else for (const m of dns1123SubdomainErrors(prefix)) out.push(`prefix part ${m}`);
  } else {
    return [`a qualified name ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) out.push(`name part ${emptyError()}`);
  else if (name.length > QUALIFIED_NAME_MAX_LENGTH) out.push(`name part ${maxLenError(QUALIFIED_NAME_MAX_LENGTH)}`);
  if (!QUALIFIED_NAME_RE.test(name)) out.push(`name part ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return out;
}
/** Label keys, annotation keys, finalizer names. */
export const isQualifiedName = (v: unknown): boolean => typeof v === 'string' && qualifiedNameErrors(v).length === 0;

/** `IsValidLabelValue` messages. */
export function labelValueErrors(v: string): string[] {
  if (validLabelValues.has(v)) return [];
  const out: string[] = [];
  if (v.length > LABEL_VALUE_MAX_LENGTH) out.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!LABEL_VALUE_RE.test(v)) out.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  if (out.length === 0) rememberValid(validLabelValues, v);
  return out;
}
export const isValidLabelValue = (v: unknown): boolean => typeof v === 'string' && labelValueErrors(v).length === 0;

/** `IsValidPortNum` messages. */
export function portNumErrors(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}
export const isValidPortNum = (v: unknown): boolean => typeof v === 'number' && portNumErrors(v).length === 0;

/** `IsValidPortName` messages (IANA_SVC_NAME). */
export function portNameErrors(port: string): string[] {
  const out: string[] = [];
  if (port.length > 15) out.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) out.push('must contain at least one letter (a-z)');
  if (port.includes('--')) out.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port[0] === '-' || port[port.length - 1] === '-')) out.push('must not begin or end with a hyphen');
  return out;
}
export const isValidPortName = (v: unknown): boolean => typeof v === 'string' && portNameErrors(v).length === 0;

const IPV4_RE = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/** True for a dotted-quad IPv4 address without leading zeros (Go's `netip` strictness). */
export function isIPv4(v: unknown): boolean {
  return typeof v === 'string' && IPV4_RE.test(v);
}

/** True for an IPv6 address (with optional embedded IPv4 tail; zones are rejected as upstream does). */
export function isIPv6(v: unknown): boolean {
  if (typeof v !== 'string' || !v.includes(':') || v.includes('%')) return false;
  let s = v;
  let extra = 0;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return false;
    s = `${s.slice(0, lastColon + 1)}0:0`;
    extra = 0;
  }
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return false;
  const hex = /^[0-9a-fA-F]{1,4}$/;
  if (dbl >= 0) {
    const left = s.slice(0, dbl);
    const right = s.slice(dbl + 2);
    const l = left === '' ? [] : left.split(':');
    const r = right === '' ? [] : right.split(':');
    if (![...l, ...r].every((g) => hex.test(g))) return false;
    return l.length + r.length + extra <= 7;
  }
  const groups = s.split(':');
  return groups.length === 8 && groups.every((g) => hex.test(g));
}

/** `IsValidIP` messages. */
export function ipErrors(v: string): string[] {
  return isIPv4(v) || isIPv6(v) ? [] : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'];
}
export const isValidIP = (v: unknown): boolean => isIPv4(v) || isIPv6(v);

/** `IsValidCIDR` messages. */
export function cidrErrors(v: string): string[] {
  const i = v.indexOf('/');
  const bad = ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
  if (i < 0) return bad;
  const ip = v.slice(0, i);
  const bits = v.slice(i + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return bad;
  const n = Number(bits);
  if (isIPv4(ip)) return n <= 32 ? [] : bad;
  if (isIPv6(ip)) return n <= 128 ? [] : bad;
  return bad;
}

const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+';
const CONFIG_KEY_ERR = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

function dotErrors(v: string): string[] {
  if (v === '.') return ["must not be '.'"];
  if (v === '..') return ["must not be '..'"];
  if (v.startsWith('..')) return ["must not start with '..'"];
  return [];
}

/** `IsConfigMapKey` messages (ConfigMap and Secret data keys). */
export function configMapKeyErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX_LENGTH) out.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  if (!anchored(CONFIG_KEY_FMT).test(v)) out.push(regexError(CONFIG_KEY_ERR, CONFIG_KEY_FMT, 'key.name', 'KEY_NAME', 'key-name'));
  out.push(...dotErrors(v));
  return out;
}
export const isConfigMapKey = (v: unknown): boolean => typeof v === 'string' && configMapKeyErrors(v).length === 0;

const ENV_VAR_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const ENV_VAR_ERR = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

/** `IsEnvVarName` messages. */
export function envVarNameErrors(v: string): string[] {
  const out: string[] = [];
  if (!anchored(ENV_VAR_FMT).test(v)) out.push(regexError(ENV_VAR_ERR, ENV_VAR_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  out.push(...dotErrors(v));
  return out;
}
export const isEnvVarName = (v: unknown): boolean => typeof v === 'string' && envVarNameErrors(v).length === 0;

const C_IDENT_FMT = '[A-Za-z_][A-Za-z0-9_]*';
/** `IsCIdentifier` messages (envFrom prefixes, downward API). */
export function cIdentifierErrors(v: string): string[] {
  return anchored(C_IDENT_FMT).test(v) ? [] : [regexError("a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'", C_IDENT_FMT, 'my_name', 'MY_NAME', 'MyName')];
}

const PERCENT_FMT = '[0-9]+%';
/** `IsValidPercent` messages. */
export function percentErrors(v: string): string[] {
  return anchored(PERCENT_FMT).test(v) ? [] : [regexError("a valid percent string must be a numeric string followed by an ending '%'", PERCENT_FMT, '1%', '93%')];
}

const HTTP_HEADER_FMT = '[-A-Za-z0-9]+';
/** `IsHTTPHeaderName` messages. */
export function httpHeaderNameErrors(v: string): string[] {
  return anchored(HTTP_HEADER_FMT).test(v) ? [] : [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", HTTP_HEADER_FMT, 'X-Header-Name')];
}

/** `path.IsValidPathSegmentName` messages: names used as URL path segments (RBAC objects). */
export function pathSegmentNameErrors(v: string): string[] {
  const out: string[] = [];
  if (v === '.' || v === '..') out.push(`may not be '${v}'`);
  for (const s of ['/', '%']) if (v.includes(s)) out.push(`may not contain '${s}'`);
  return out;
}

/** `IsFullyQualifiedName` messages (IngressClass controller prefixes, etc.). */
export function fullyQualifiedNameErrors(v: string): string[] {
  if (v.length === 0) return ['Required value'];
  const errs = dns1123SubdomainErrors(v);
  if (errs.length) return errs;
  if (v.split('.').length < 2) return ['should be a domain with at least two segments separated by dots'];
  return [];
}

/** `IsDomainPrefixedPath`: `example.com/path`. */
export function domainPrefixedPathErrors(v: string): string[] {
  const i = v.indexOf('/');
  if (i < 0) return ["must be a domain-prefixed path (such as \"acme.io/foo\")"];
  const host = v.slice(0, i);
  const errs = dns1123SubdomainErrors(host);
  if (errs.length) return errs;
  if (!/^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/.test(v.slice(i))) return ["Invalid path: must contain only alphanumerics, '/', '-', '.', '_', '~', '%', '!', '$', '&', '\\'', '(', ')', '*', '+', ',', ';', '=', ':'"];
  return [];
}

/** Name validators keyed by the kind of name a kind requires (`ValidateNameFunc`). */
export type NameFn = (name: string, prefix: boolean) => string[];

/** `NameIsDNSSubdomain`; with `prefix` (generateName) a trailing dash is tolerated. */
export const nameIsDNSSubdomain: NameFn = (name, prefix) => dns1123SubdomainErrors(prefix ? maskTrailingDash(name) : name);
/** `NameIsDNSLabel`. */
export const nameIsDNSLabel: NameFn = (name, prefix) => dns1123LabelErrors(prefix ? maskTrailingDash(name) : name);
/** `NameIsDNS1035Label` (Services). */
export const nameIsDNS1035Label: NameFn = (name, prefix) => dns1035LabelErrors(prefix ? maskTrailingDash(name) : name);
/** `ValidatePathSegmentName` (RBAC). */
export const nameIsPathSegment: NameFn = (name, prefix) => (prefix ? pathSegmentNameErrors(name).filter((m) => !m.startsWith('may not be')) : pathSegmentNameErrors(name));

function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}
