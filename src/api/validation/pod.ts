/**
 * PodSpec, PodTemplateSpec and Pod update validation after `pkg/apis/core/validation/validation.go`
 * (`ValidatePodSpec`, `validateContainers`, `ValidateVolumes`, `ValidateResourceRequirements`, `ValidatePodUpdate`),
 * with upstream's field paths and messages.
 */

import type { StatusCause } from '../errors.js';
import { compareQuantities, formatQuantity, quantityMilliValue } from '../quantity.js';
import {
  type Errs, type Rec, arr, bool, boolField, child, duplicate, forbidden, index, int, intField, intOrString, invalid,
  isMissing, isObj, jsonEqual, key, msgs, nonNegative, notSupported, obj, objField, objList, oneOf, positive,
  quantity, required, str, strField, strList,
} from './context.js';
import { validateAnnotations, validateLabels } from './meta.js';
import {
  configMapKeyErrors, dns1123LabelErrors, dns1123SubdomainErrors, inclusiveRangeError, ipErrors, isDNS1123Label,
  isDNS1123Subdomain, labelValueErrors, portNameErrors, portNumErrors, qualifiedNameErrors,
} from './names.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const FILE_MODE_MSG = 'must be a number between 0 and 0777 (octal), both inclusive';

/** Sources of a `VolumeSource`, in Go struct order (upstream reports the second one found). */
export const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile',
  'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume',
  'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
];

/** `validatePortNumOrName`: an int port number or an IANA service name. */
export function validatePortNumOrName(port: unknown, path: string, errs: Errs): void {
  const p = intOrString(port, path, errs);
  if (p === undefined) return;
  if (typeof p === 'number') msgs(errs, path, p, portNumErrors(p));
  else if (p === '') errs.push(required(path));
  else msgs(errs, path, p, portNameErrors(p));
}

/** `validateLocalDescendingPath`: relative, no `..` element. */
function validateLocalDescendingPath(p: string, path: string, errs: Errs): void {
  if (p.startsWith('/')) errs.push(invalid(path, p, 'must be a relative path'));
  if (p.includes('..') && p.split('/').includes('..')) errs.push(invalid(path, p, "must not contain '..'"));
}

function validateFileMode(v: unknown, path: string, errs: Errs): void {
  const m = int(v, path, errs);
  if (m !== undefined && (m < 0 || m > 0o777)) errs.push(invalid(path, m, FILE_MODE_MSG));
}


function validateKeyToPaths(items: unknown, path: string, errs: Errs): void {
  for (const [it, i] of objList(items, path, errs)) {
    const p = index(path, i);
    const k = str(it.key, child(p, 'key'), errs) ?? '';
    if (k === '') errs.push(required(child(p, 'key')));
    const ip = str(it.path, child(p, 'path'), errs) ?? '';
    if (ip === '') errs.push(required(child(p, 'path')));
    else validateLocalDescendingPath(ip, child(p, 'path'), errs);
    validateFileMode(it.mode, child(p, 'mode'), errs);
  }
}

const FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs'];
const VOLUME_FIELD_PATHS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];

function validateObjectFieldSelector(ref: Rec, expressions: string[], path: string, errs: Errs): void {
  const apiVersion = str(ref.apiVersion, child(path, 'apiVersion'), errs) ?? '';
  const fieldPath = str(ref.fieldPath, child(path, 'fieldPath'), errs) ?? '';
  if (apiVersion === '') errs.push(required(child(path, 'apiVersion')));
  if (fieldPath === '') {
    errs.push(required(child(path, 'fieldPath')));
    return;
  }
  const m = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(fieldPath);
  if (m) {
    if (m[1] === 'metadata.labels') msgs(errs, child(path, 'fieldPath'), m[2], qualifiedNameErrors(m[2]));
    else msgs(errs, child(path, 'fieldPath'), m[2], qualifiedNameErrors(m[2].toLowerCase()));
    return;
  }
  if (!expressions.includes(fieldPath)) errs.push(notSupported(child(path, 'fieldPath'), fieldPath, expressions));
}

const RESOURCE_FIELD_REFS = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];

function validateResourceFieldRef(ref: Rec, path: string, errs: Errs, needContainer: boolean): void {
  if (needContainer) {
    const c = str(ref.containerName, child(path, 'containerName'), errs) ?? '';
    if (c === '') errs.push(required(child(path, 'containerName')));
  } else str(ref.containerName, child(path, 'containerName'), errs);
  const r = str(ref.resource, child(path, 'resource'), errs) ?? '';
  if (r === '') errs.push(required(child(path, 'resource')));
  else if (!RESOURCE_FIELD_REFS.includes(r) && !/^(limits|requests)\.hugepages-/.test(r)) errs.push(notSupported(child(path, 'resource'), r, RESOURCE_FIELD_REFS));
  quantity(ref.divisor, child(path, 'divisor'), errs);
}


function validateDownwardAPIItems(items: unknown, path: string, errs: Errs): void {
  for (const [it, i] of objList(items, path, errs)) {
    const p = index(path, i);
    const ip = str(it.path, child(p, 'path'), errs) ?? '';
    if (ip === '') errs.push(required(child(p, 'path')));
    else validateLocalDescendingPath(ip, child(p, 'path'), errs);
    validateFileMode(it.mode, child(p, 'mode'), errs);
    const fr = obj(it.fieldRef, child(p, 'fieldRef'), errs);
    const rr = obj(it.resourceFieldRef, child(p, 'resourceFieldRef'), errs);
    if (fr) validateObjectFieldSelector(fr, VOLUME_FIELD_PATHS, child(p, 'fieldRef'), errs);
    if (rr) validateResourceFieldRef(rr, child(p, 'resourceFieldRef'), errs, true);
    if (fr && rr) errs.push(invalid(p, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
    if (!fr && !rr) errs.push(required(p, 'one of fieldRef and resourceFieldRef is required'));
  }
}

const VOLUME_SOURCE_SET = new Set(VOLUME_SOURCES);



const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

/** Validates one volume source's own fields (shared by pod volumes and PersistentVolumes). */
export function validateVolumeSourceFields(src: string, v: Rec, path: string, errs: Errs): void {
  switch (src) {
    case 'hostPath': {
      const p = str(v.path, child(path, 'path'), errs) ?? '';
      if (p === '') errs.push(required(child(path, 'path')));
      const t = str(v.type, child(path, 'type'), errs);
      if (t !== undefined && !HOST_PATH_TYPES.includes(t)) errs.push(notSupported(child(path, 'type'), t, HOST_PATH_TYPES));
      break;
    }
    case 'emptyDir': {
      const medium = str(v.medium, child(path, 'medium'), errs) ?? '';
      if (medium !== '' && medium !== 'Memory' && !/^HugePages(-.+)?$/.test(medium)) errs.push(notSupported(child(path, 'medium'), medium, ['', 'Memory', 'HugePages']));
      const q = quantity(v.sizeLimit, child(path, 'sizeLimit'), errs);
      if (q && compareQuantities(q, '0') < 0) errs.push(invalid(child(path, 'sizeLimit'), v.sizeLimit, 'must be greater than or equal to 0'));
      break;
    }
    case 'secret':
      if ((str(v.secretName, child(path, 'secretName'), errs) ?? '') === '') errs.push(required(child(path, 'secretName')));
      validateFileMode(v.defaultMode, child(path, 'defaultMode'), errs);
      validateKeyToPaths(v.items, child(path, 'items'), errs);
      bool(v.optional, child(path, 'optional'), errs);
      break;
    case 'configMap':
      if ((str(v.name, child(path, 'name'), errs) ?? '') === '') errs.push(required(child(path, 'name')));
      validateFileMode(v.defaultMode, child(path, 'defaultMode'), errs);
      validateKeyToPaths(v.items, child(path, 'items'), errs);
      bool(v.optional, child(path, 'optional'), errs);
      break;
    case 'persistentVolumeClaim':
      if ((str(v.claimName, child(path, 'claimName'), errs) ?? '') === '') errs.push(required(child(path, 'claimName')));
      bool(v.readOnly, child(path, 'readOnly'), errs);
      break;
    case 'nfs':
      if ((str(v.server, child(path, 'server'), errs) ?? '') === '') errs.push(required(child(path, 'server')));
      {
        const p = str(v.path, child(path, 'path'), errs) ?? '';
        if (p === '') errs.push(required(child(path, 'path')));
        else if (!p.startsWith('/')) errs.push(invalid(child(path, 'path'), p, 'must be an absolute path'));
      }
      break;
    case 'downwardAPI':
      validateFileMode(v.defaultMode, child(path, 'defaultMode'), errs);
      validateDownwardAPIItems(v.items, child(path, 'items'), errs);
      break;
    case 'projected': {
      validateFileMode(v.defaultMode, child(path, 'defaultMode'), errs);
      for (const [s, i] of objList(v.sources, child(path, 'sources'), errs)) {
        const p = index(child(path, 'sources'), i);
        const kinds = ['secret', 'downwardAPI', 'configMap', 'serviceAccountToken', 'clusterTrustBundle'].filter((k) => !isMissing(s[k]));
        if (kinds.length === 0) errs.push(required(p, 'must specify exactly one projection source'));
        for (const extra of kinds.slice(1)) errs.push(forbidden(child(p, extra), 'may not specify more than 1 volume type per source'));
        const sec = obj(s.secret, child(p, 'secret'), errs);
        if (sec) validateKeyToPaths(sec.items, child(child(p, 'secret'), 'items'), errs);
        const cm = obj(s.configMap, child(p, 'configMap'), errs);
        if (cm) validateKeyToPaths(cm.items, child(child(p, 'configMap'), 'items'), errs);
        const dw = obj(s.downwardAPI, child(p, 'downwardAPI'), errs);
        if (dw) validateDownwardAPIItems(dw.items, child(child(p, 'downwardAPI'), 'items'), errs);
        const sat = obj(s.serviceAccountToken, child(p, 'serviceAccountToken'), errs);
        if (sat) {
          const sp = child(p, 'serviceAccountToken');
          const exp = int(sat.expirationSeconds, child(sp, 'expirationSeconds'), errs);
          if (exp !== undefined && exp < 600) errs.push(invalid(child(sp, 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'));
          if (exp !== undefined && exp > 2 ** 32) errs.push(invalid(child(sp, 'expirationSeconds'), exp, 'may not specify a duration larger than 2^32 seconds'));
          const tp = str(sat.path, child(sp, 'path'), errs) ?? '';
          if (tp === '') errs.push(required(child(sp, 'path')));
          else validateLocalDescendingPath(tp, child(sp, 'path'), errs);
        }
      }
      break;
    }
    case 'csi':
      if ((str(v.driver, child(path, 'driver'), errs) ?? '') === '') errs.push(required(child(path, 'driver')));
      break;
    case 'image':
      if ((str(v.reference, child(path, 'reference'), errs) ?? '') === '') errs.push(required(child(path, 'reference')));
      break;
    case 'ephemeral': {
      const t = obj(v.volumeClaimTemplate, child(path, 'volumeClaimTemplate'), errs);
      if (!t) errs.push(required(child(path, 'volumeClaimTemplate')));
      break;
    }
    default:
      break;
  }
}

/** `ValidateVolumes`: unique DNS-label names, exactly one source per volume. Returns the volume names. */
export function validateVolumes(volumes: unknown, path: string, errs: Errs): Map<string, Rec> {
  const names = new Map<string, Rec>();
  for (const [v, i] of objList(volumes, path, errs)) {
    const p = index(path, i);
    const name = str(v.name, child(p, 'name'), errs) ?? '';
    if (name === '') errs.push(required(child(p, 'name')));
    else msgs(errs, child(p, 'name'), name, dns1123LabelErrors(name));
    if (name !== '' && names.has(name)) errs.push(duplicate(child(p, 'name'), name));
    else if (name !== '') names.set(name, v);
    // The common volume has one source: find it from the volume's own few keys rather than probing all 30 source
    // names; anything else takes the full scan, in VOLUME_SOURCES order (which decides the reported errors).
    let only: string | undefined;
    let present = 0;
    for (const k in v) {
      if (VOLUME_SOURCE_SET.has(k) && !isMissing(v[k])) {
        only = k;
        present++;
      }
    }
    if (present === 1) {
      const sv = obj(v[only!], child(p, only!), errs);
      if (sv) validateVolumeSourceFields(only!, sv, child(p, only!), errs);
      continue;
    }
    let n = 0;
    for (const src of VOLUME_SOURCES) {
      if (isMissing(v[src])) continue;
      n++;
      if (n > 1) {
        errs.push(forbidden(child(p, src), 'may not specify more than 1 volume type'));
        continue;
      }
      const sv = obj(v[src], child(p, src), errs);
      if (sv) validateVolumeSourceFields(src, sv, child(p, src), errs);
    }
    if (n === 0) errs.push(required(p, 'must specify a volume type'));
  }
  return names;
}

const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

/** `IsExtendedResourceName`: domain-prefixed, outside `kubernetes.io/`, not a `requests.` quota name. */
export function isExtendedResourceName(name: string): boolean {
  if (!name.includes('/') || name.includes('kubernetes.io/') || name.startsWith('requests.')) return false;
  return qualifiedNameErrors(`requests.${name}`).length === 0;
}

const isHugePages = (name: string): boolean => name.startsWith('hugepages-');

function validateContainerResourceName(name: string, path: string, errs: Errs): boolean {
  const before = errs.length;
  msgs(errs, path, name, qualifiedNameErrors(name));
  if (errs.length > before) return false;
  if (!name.includes('/') && !STANDARD_CONTAINER_RESOURCES.includes(name) && !isHugePages(name)) {
    errs.push(invalid(path, name, 'must be a standard resource type or fully qualified'));
    return false;
  }
  if (!STANDARD_CONTAINER_RESOURCES.includes(name) && !isHugePages(name) && !isExtendedResourceName(name)) {
    errs.push(invalid(path, name, 'must be a standard resource for containers'));
    return false;
  }
  return true;
}

/**
 * `ValidateResourceRequirements`: resource names, non-negative (integer for extended resources) quantities, every
 * request ≤ its limit, extended resources not overcommitted.
 */
export function validateResourceRequirements(res: unknown, path: string, errs: Errs): void {
  const r = obj(res, path, errs);
  if (!r) return;
  const limitsPath = child(path, 'limits');
  const requestsPath = child(path, 'requests');
  const limits = new Map<string, ReturnType<typeof quantity>>();
  const lim = obj(r.limits, limitsPath, errs);
  for (const [name, raw] of Object.entries(lim ?? {})) {
    const p = key(limitsPath, name);
    validateContainerResourceName(name, p, errs);
    const q = quantity(raw, p, errs);
    if (!q) continue;
    validateResourceQuantityValue(name, q, raw, p, errs);
    limits.set(name, q);
  }
  const req = obj(r.requests, requestsPath, errs);
  for (const [name, raw] of Object.entries(req ?? {})) {
    const p = key(requestsPath, name);
    validateContainerResourceName(name, p, errs);
    const q = quantity(raw, p, errs);
    if (!q) continue;
    validateResourceQuantityValue(name, q, raw, p, errs);
    const l = limits.get(name);
    const overcommit = !isExtendedResourceName(name) && !isHugePages(name);
    if (!overcommit) {
      if (!l) errs.push(forbidden(key(limitsPath, name), 'Limit must be set for non overcommitable resources'));
      else if (compareQuantities(q, l) !== 0) errs.push(invalid(p, formatQuantity(q), `must be equal to ${name} limit of ${formatQuantity(l)}`));
    } else if (l && compareQuantities(q, l) > 0) {
      errs.push(invalid(p, formatQuantity(q), `must be less than or equal to ${name} limit of ${formatQuantity(l)}`));
    }
  }
  arr(r.claims, child(path, 'claims'), errs);
}


/**
 * True when `validateResourceRequirements` would report nothing: only standard resources (cpu, memory,
 * ephemeral-storage) with valid non-negative quantities, each request at most its limit, no claims.
 */

/** `ValidateResourceQuantityValue`: ≥ 0, and whole numbers for integer (extended) resources. */
export function validateResourceQuantityValue(name: string, q: NonNullable<ReturnType<typeof quantity>>, raw: unknown, path: string, errs: Errs): void {
  if (compareQuantities(q, '0') < 0) {
    errs.push(invalid(path, formatQuantity(q), 'must be greater than or equal to 0'));
    return;
  }
  if (isExtendedResourceName(name) && quantityMilliValue(q) % 1000n !== 0n) errs.push(invalid(path, formatQuantity(q), 'must be an integer'));
  void raw;
}

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'];

function validateHandler(h: Rec, path: string, errs: Errs, allowed: string[]): void {
  const present = HANDLERS.filter((k) => !isMissing(h[k]));
  if (present.length === 0) {
    errs.push(required(path, 'must specify a handler type'));
    return;
  }
  for (const extra of present.slice(1)) errs.push(forbidden(child(path, extra), 'may not specify more than 1 handler type'));
  const k = present[0];
  const p = child(path, k);
  if (!allowed.includes(k)) {
    errs.push(forbidden(p, 'may not specify more than 1 handler type'));
    return;
  }
  const v = obj(h[k], p, errs);
  if (!v) return;
  switch (k) {
    case 'exec':
      if (strList(v.command, child(p, 'command'), errs).length === 0) errs.push(required(child(p, 'command')));
      break;
    case 'httpGet': {
      const hp = str(v.path, child(p, 'path'), errs) ?? '';
      if (hp === '') errs.push(required(child(p, 'path')));
      if (isMissing(v.port)) errs.push(required(child(p, 'port')));
      else validatePortNumOrName(v.port, child(p, 'port'), errs);
      const scheme = str(v.scheme, child(p, 'scheme'), errs);
      if (scheme !== undefined && scheme !== '' && scheme !== 'HTTP' && scheme !== 'HTTPS') errs.push(notSupported(child(p, 'scheme'), scheme, ['HTTP', 'HTTPS']));
      for (const [hd, i] of objList(v.httpHeaders, child(p, 'httpHeaders'), errs)) {
        const n = str(hd.name, child(index(child(p, 'httpHeaders'), i), 'name'), errs) ?? '';
        if (!/^[-A-Za-z0-9]+$/.test(n)) errs.push(invalid(child(index(child(p, 'httpHeaders'), i), 'name'), n, "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"));
      }
      break;
    }
    case 'tcpSocket':
      if (isMissing(v.port)) errs.push(required(child(p, 'port')));
      else validatePortNumOrName(v.port, child(p, 'port'), errs);
      break;
    case 'grpc': {
      const port = int(v.port, child(p, 'port'), errs);
      if (port === undefined) errs.push(required(child(p, 'port')));
      else msgs(errs, child(p, 'port'), port, portNumErrors(port));
      str(v.service, child(p, 'service'), errs);
      break;
    }
    case 'sleep': {
      const s = int(v.seconds, child(p, 'seconds'), errs);
      if (s !== undefined && s < 0) errs.push(invalid(child(p, 'seconds'), s, 'must be greater than or equal to 0'));
      break;
    }
    default:
      break;
  }
}

function validateProbe(probe: unknown, path: string, errs: Errs, opts: { liveOrStartup?: boolean; readiness?: boolean } = {}): void {
  const p = obj(probe, path, errs);
  if (!p) return;
  validateHandler(p, path, errs, ['exec', 'httpGet', 'tcpSocket', 'grpc']);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    nonNegative(int(p[k], child(path, k), errs), child(path, k), errs);
  }
  const tgps = int(p.terminationGracePeriodSeconds, child(path, 'terminationGracePeriodSeconds'), errs);
  if (tgps !== undefined) {
    if (opts.readiness) errs.push(invalid(child(path, 'terminationGracePeriodSeconds'), tgps, 'must not be set for readinessProbes'));
    else positive(tgps, child(path, 'terminationGracePeriodSeconds'), errs);
  }
  if (opts.liveOrStartup && typeof p.successThreshold === 'number' && p.successThreshold !== 1) {
    errs.push(invalid(child(path, 'successThreshold'), p.successThreshold, 'must be 1'));
  }
}

function validateEnv(env: unknown, path: string, errs: Errs): void {
  for (const [e, i] of objList(env, path, errs)) {
    const p = index(path, i);
    const name = str(e.name, child(p, 'name'), errs) ?? '';
    if (name === '') errs.push(required(child(p, 'name')));
    else if ([...name].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) > 126 || c === '=')) {
      // RelaxedEnvironmentVariableValidation is on by default in 1.32: printable ASCII except '='.
      errs.push(invalid(child(p, 'name'), name, "a valid environment variable name must consist only of printable ASCII characters other than '='"));
    }
    const value = str(e.value, child(p, 'value'), errs) ?? '';
    const vf = obj(e.valueFrom, child(p, 'valueFrom'), errs);
    if (!vf) continue;
    const vp = child(p, 'valueFrom');
    const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'].filter((k) => !isMissing(vf[k]));
    if (sources.length === 0) errs.push(invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (sources.length > 1) errs.push(invalid(vp, '', 'may not have more than one field specified at a time'));
    if (value !== '') errs.push(invalid(vp, '', 'may not be specified when `value` is not empty'));
    const fr = obj(vf.fieldRef, child(vp, 'fieldRef'), errs);
    if (fr) validateObjectFieldSelector(fr, FIELD_PATHS, child(vp, 'fieldRef'), errs);
    const rr = obj(vf.resourceFieldRef, child(vp, 'resourceFieldRef'), errs);
    if (rr) validateResourceFieldRef(rr, child(vp, 'resourceFieldRef'), errs, false);
    for (const k of ['configMapKeyRef', 'secretKeyRef']) {
      const ref = obj(vf[k], child(vp, k), errs);
      if (!ref) continue;
      const rp = child(vp, k);
      const n = str(ref.name, child(rp, 'name'), errs) ?? '';
      if (n === '') errs.push(required(child(rp, 'name')));
      const kk = str(ref.key, child(rp, 'key'), errs) ?? '';
      if (kk === '') errs.push(required(child(rp, 'key')));
      else msgs(errs, child(rp, 'key'), kk, configMapKeyErrors(kk));
    }
  }
}

function validateEnvFrom(envFrom: unknown, path: string, errs: Errs): void {
  for (const [e, i] of objList(envFrom, path, errs)) {
    const p = index(path, i);
    const prefix = str(e.prefix, child(p, 'prefix'), errs) ?? '';
    if (prefix !== '' && [...prefix].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) > 126 || c === '=')) {
      errs.push(invalid(child(p, 'prefix'), prefix, "a valid environment variable name must consist only of printable ASCII characters other than '='"));
    }
    const refs = ['configMapRef', 'secretRef'].filter((k) => !isMissing(e[k]));
    if (refs.length === 0) errs.push(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (refs.length > 1) errs.push(invalid(p, '', 'may not have more than one field specified at a time'));
    for (const k of refs) {
      const ref = obj(e[k], child(p, k), errs);
      if (ref && (str(ref.name, child(child(p, k), 'name'), errs) ?? '') === '') errs.push(required(child(child(p, k), 'name')));
    }
  }
}

function validateContainerPorts(ports: unknown, path: string, errs: Errs, hostNetwork: boolean): void {
  const names = new Set<string>();
  for (const [port, i] of objList(ports, path, errs)) {
    const p = index(path, i);
    const name = str(port.name, child(p, 'name'), errs) ?? '';
    if (name !== '') {
      msgs(errs, child(p, 'name'), name, portNameErrors(name));
      if (names.has(name)) errs.push(duplicate(child(p, 'name'), name));
      names.add(name);
    }
    const cp = int(port.containerPort, child(p, 'containerPort'), errs);
    if (cp === undefined || cp === 0) errs.push(required(child(p, 'containerPort')));
    else msgs(errs, child(p, 'containerPort'), cp, portNumErrors(cp));
    const hp = int(port.hostPort, child(p, 'hostPort'), errs);
    if (hp !== undefined && hp !== 0) msgs(errs, child(p, 'hostPort'), hp, portNumErrors(hp));
    if (hostNetwork && hp !== undefined && hp !== 0 && cp !== undefined && hp !== cp) {
      errs.push(invalid(child(p, 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
    }
    const proto = str(port.protocol, child(p, 'protocol'), errs) ?? '';
    oneOf(proto, PROTOCOLS, child(p, 'protocol'), errs, true);
    const hostIP = str(port.hostIP, child(p, 'hostIP'), errs) ?? '';
    if (hostIP !== '') msgs(errs, child(p, 'hostIP'), hostIP, ipErrors(hostIP));
  }
}

function validateVolumeMounts(mounts: unknown, volumes: Map<string, Rec>, path: string, errs: Errs): void {
  const paths = new Set<string>();
  for (const [m, i] of objList(mounts, path, errs)) {
    const p = index(path, i);
    const name = str(m.name, child(p, 'name'), errs) ?? '';
    if (name === '') errs.push(required(child(p, 'name')));
    else if (!volumes.has(name)) errs.push({ reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(name)}`, field: child(p, 'name') });
    const mp = str(m.mountPath, child(p, 'mountPath'), errs) ?? '';
    if (mp === '') errs.push(required(child(p, 'mountPath')));
    else if (paths.has(mp)) errs.push(invalid(child(p, 'mountPath'), mp, 'must be unique'));
    paths.add(mp);
    const sub = str(m.subPath, child(p, 'subPath'), errs) ?? '';
    if (sub !== '') validateLocalDescendingPath(sub, child(p, 'subPath'), errs);
    const subExpr = str(m.subPathExpr, child(p, 'subPathExpr'), errs) ?? '';
    if (sub !== '' && subExpr !== '') errs.push(invalid(child(p, 'subPathExpr'), subExpr, 'subPathExpr and subPath are mutually exclusive'));
    bool(m.readOnly, child(p, 'readOnly'), errs);
    const prop = str(m.mountPropagation, child(p, 'mountPropagation'), errs);
    if (prop !== undefined) oneOf(prop, ['Bidirectional', 'HostToContainer', 'None'], child(p, 'mountPropagation'), errs);
  }
}

interface ContainerOpts { init?: boolean; ephemeral?: boolean; hostNetwork: boolean; volumes: Map<string, Rec> }

const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

function validateContainer(c: Rec, path: string, errs: Errs, opts: ContainerOpts): void {
  const name = strField(c, 'name', path, errs) ?? '';
  if (name === '') errs.push(required(child(path, 'name')));
  else if (!isDNS1123Label(name)) msgs(errs, child(path, 'name'), name, dns1123LabelErrors(name));
  const image = strField(c, 'image', path, errs) ?? '';
  if (image === '') errs.push(required(child(path, 'image')));
  // Absent lists and objects report nothing: their validators run only when the field is set.
  if (!isMissing(c.command)) strList(c.command, child(path, 'command'), errs);
  if (!isMissing(c.args)) strList(c.args, child(path, 'args'), errs);
  strField(c, 'workingDir', path, errs);
  const tmp = strField(c, 'terminationMessagePolicy', path, errs) ?? '';
  if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') oneOf(tmp, TERMINATION_MESSAGE_POLICIES, child(path, 'terminationMessagePolicy'), errs, true);
  const ipp = strField(c, 'imagePullPolicy', path, errs) ?? '';
  if (ipp !== 'Always' && ipp !== 'IfNotPresent' && ipp !== 'Never') oneOf(ipp, PULL_POLICIES, child(path, 'imagePullPolicy'), errs, true);
  if (!isMissing(c.ports)) validateContainerPorts(c.ports, child(path, 'ports'), errs, opts.hostNetwork);
  if (!isMissing(c.env)) validateEnv(c.env, child(path, 'env'), errs);
  if (!isMissing(c.envFrom)) validateEnvFrom(c.envFrom, child(path, 'envFrom'), errs);
  if (!isMissing(c.volumeMounts)) validateVolumeMounts(c.volumeMounts, opts.volumes, child(path, 'volumeMounts'), errs);
  validateResourceRequirements(c.resources, child(path, 'resources'), errs);
  const restart = strField(c, 'restartPolicy', path, errs);
  const sidecar = opts.init && restart === 'Always';
  if (restart !== undefined) {
    if (!opts.init) errs.push(forbidden(child(path, 'restartPolicy'), 'may not be set for non-init containers'));
    else if (restart !== 'Always') errs.push(notSupported(child(path, 'restartPolicy'), restart, ['Always']));
  }
  if ((opts.init && !sidecar) || opts.ephemeral) {
    const what = opts.ephemeral ? 'may not be set for ephemeral containers' : 'may not be set for init containers without restartPolicy=Always';
    for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) if (!isMissing(c[k])) errs.push(forbidden(child(path, k), what));
    if (!isMissing(c.lifecycle) && !opts.ephemeral) errs.push(forbidden(child(path, 'lifecycle'), what));
  } else {
    if (!isMissing(c.livenessProbe)) validateProbe(c.livenessProbe, child(path, 'livenessProbe'), errs, { liveOrStartup: true });
    if (!isMissing(c.readinessProbe)) validateProbe(c.readinessProbe, child(path, 'readinessProbe'), errs, { readiness: true });
    if (!isMissing(c.startupProbe)) validateProbe(c.startupProbe, child(path, 'startupProbe'), errs, { liveOrStartup: true });
    const lc = objField(c, 'lifecycle', path, errs);
    if (lc) {
      for (const k of ['postStart', 'preStop']) {
        const h = obj(lc[k], child(child(path, 'lifecycle'), k), errs);
        if (h) validateHandler(h, child(child(path, 'lifecycle'), k), errs, ['exec', 'httpGet', 'tcpSocket', 'sleep']);
      }
    }
  }
  const sc = objField(c, 'securityContext', path, errs);
  if (sc) validateSecurityContextIds(sc, child(path, 'securityContext'), errs);
}

const SECURITY_CONTEXT_IDS = ['runAsUser', 'runAsGroup', 'fsGroup'];
const SECURITY_CONTEXT_BOOLS = ['privileged', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation'];


function validateSecurityContextIds(sc: Rec, path: string, errs: Errs): void {
  for (const k of SECURITY_CONTEXT_IDS) {
    const v = int(sc[k], child(path, k), errs);
    if (v !== undefined && (v < 0 || v > 2147483647)) errs.push(invalid(child(path, k), v, inclusiveRangeError(0, 2147483647)));
  }
  for (const k of SECURITY_CONTEXT_BOOLS) bool(sc[k], child(path, k), errs);
}

function validateTolerations(tolerations: unknown, path: string, errs: Errs): void {
  for (const [t, i] of objList(tolerations, path, errs)) {
    const p = index(path, i);
    const k = str(t.key, child(p, 'key'), errs) ?? '';
    if (k !== '') msgs(errs, child(p, 'key'), k, qualifiedNameErrors(k));
    const op = str(t.operator, child(p, 'operator'), errs) ?? '';
    const value = str(t.value, child(p, 'value'), errs) ?? '';
    if (k === '' && op !== 'Exists') errs.push(invalid(child(p, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    const effect = str(t.effect, child(p, 'effect'), errs) ?? '';
    const secs = int(t.tolerationSeconds, child(p, 'tolerationSeconds'), errs);
    if (secs !== undefined && effect !== 'NoExecute') errs.push(invalid(child(p, 'effect'), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    if (op === '' || op === 'Equal') msgs(errs, child(p, 'value'), value, labelValueErrors(value));
    else if (op === 'Exists') {
      if (value !== '') errs.push(invalid(child(p, 'operator'), t, "value must be empty when `operator` is 'Exists'"));
    } else errs.push(notSupported(child(p, 'operator'), op, ['Equal', 'Exists']));
    if (effect !== '') oneOf(effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'], child(p, 'effect'), errs);
  }
}

function validateTopologySpread(tsc: unknown, path: string, errs: Errs): void {
  const seen = new Set<string>();
  for (const [c, i] of objList(tsc, path, errs)) {
    const p = index(path, i);
    const skew = int(c.maxSkew, child(p, 'maxSkew'), errs);
    if (skew === undefined || skew <= 0) errs.push(invalid(child(p, 'maxSkew'), skew ?? 0, 'must be greater than zero'));
    const tk = str(c.topologyKey, child(p, 'topologyKey'), errs) ?? '';
    if (tk === '') errs.push(required(child(p, 'topologyKey'), 'can not be empty'));
    else msgs(errs, child(p, 'topologyKey'), tk, qualifiedNameErrors(tk));
    const wu = str(c.whenUnsatisfiable, child(p, 'whenUnsatisfiable'), errs) ?? '';
    oneOf(wu, ['DoNotSchedule', 'ScheduleAnyway'], child(p, 'whenUnsatisfiable'), errs, false);
    if (wu === '') errs.push(notSupported(child(p, 'whenUnsatisfiable'), wu, ['DoNotSchedule', 'ScheduleAnyway']));
    const pair = `{${tk}, ${wu}}`;
    if (seen.has(pair)) errs.push(duplicate(p, pair));
    seen.add(pair);
    const md = int(c.minDomains, child(p, 'minDomains'), errs);
    if (md !== undefined && md <= 0) errs.push(invalid(child(p, 'minDomains'), md, 'must be greater than 0'));
  }
}

const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const POD_SUBDOMAIN_FIELDS = ['serviceAccountName', 'nodeName', 'schedulerName', 'priorityClassName'];
const POD_LABEL_FIELDS = ['hostname', 'subdomain'];

/**
 * One of the pod's container lists. Names are unique across init, regular and ephemeral containers (`names` is
 * shared); `checkImage`: regular containers of a Pod must not have whitespace around the image.
 */
function validateContainerList(list: Array<[Rec, number]>, listPath: string, errs: Errs, o: ContainerOpts, names: Set<string>, checkImage = false): void {
  for (const [c, i] of list) {
    const p = index(listPath, i);
    validateContainer(c, p, errs, o);
    if (typeof c.name === 'string' && c.name !== '') {
      if (names.has(c.name)) errs.push(duplicate(child(p, 'name'), c.name));
      names.add(c.name);
    }
    if (checkImage && typeof c.image === 'string' && c.image !== c.image.trim()) {
      errs.push(invalid(child(p, 'image'), c.image, 'must not have leading or trailing whitespace'));
    }
  }
}

/** Options for `validatePodSpec`: a Pod (vs a template) gets the pod-only checks. */
export interface PodSpecOptions { isPod?: boolean }

/** `ValidatePodSpec` (+ `validateContainersOnlyForPod` for pods). */
export function validatePodSpec(specV: unknown, path: string, errs: Errs = [], opts: PodSpecOptions = {}): StatusCause[] {
  if (isMissing(specV)) {
    errs.push(required(child(path, 'containers')));
    return errs;
  }
  const spec = obj(specV, path, errs);
  if (!spec) return errs;
  // Field paths are built only where a cause is reported or a nested validator needs one; absent optional fields
  // (whose validators report nothing) are skipped.
  const hostNetwork = boolField(spec, 'hostNetwork', path, errs) === true;
  boolField(spec, 'hostPID', path, errs);
  boolField(spec, 'hostIPC', path, errs);
  const volumes = validateVolumes(spec.volumes, child(path, 'volumes'), errs);

  const containersPath = child(path, 'containers');
  const containers = objList(spec.containers, containersPath, errs);
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    if (Array.isArray(spec.containers) || isMissing(spec.containers)) errs.push(required(containersPath));
  }
  const names = new Set<string>();
  if (!isMissing(spec.initContainers)) {
    const lp = child(path, 'initContainers');
    validateContainerList(objList(spec.initContainers, lp, errs), lp, errs, { init: true, hostNetwork, volumes }, names);
  }
  validateContainerList(containers, containersPath, errs, { hostNetwork, volumes }, names, opts.isPod);
  if (!isMissing(spec.ephemeralContainers)) {
    const lp = child(path, 'ephemeralContainers');
    validateContainerList(objList(spec.ephemeralContainers, lp, errs), lp, errs, { ephemeral: true, hostNetwork, volumes }, names);
  }
  const rp = strField(spec, 'restartPolicy', path, errs) ?? '';
  if (!RESTART_POLICIES.includes(rp)) oneOf(rp, RESTART_POLICIES, child(path, 'restartPolicy'), errs, true);
  const dns = strField(spec, 'dnsPolicy', path, errs) ?? '';
  if (!DNS_POLICIES.includes(dns)) oneOf(dns, DNS_POLICIES, child(path, 'dnsPolicy'), errs, true);
  if (dns === 'None' && isMissing(spec.dnsConfig)) errs.push(required(child(path, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
  const dc = objField(spec, 'dnsConfig', path, errs);
  if (dc) {
    const ns = strList(dc.nameservers, child(child(path, 'dnsConfig'), 'nameservers'), errs);
    ns.forEach((n, i) => msgs(errs, index(child(child(path, 'dnsConfig'), 'nameservers'), i), n, ipErrors(n)));
    if (ns.length > 3) errs.push(invalid(child(child(path, 'dnsConfig'), 'nameservers'), ns, 'must not have more than 3 nameservers'));
    strList(dc.searches, child(child(path, 'dnsConfig'), 'searches'), errs);
  }
  if (!isMissing(spec.nodeSelector)) validateLabels(spec.nodeSelector, child(path, 'nodeSelector'), errs);
  for (const k of POD_SUBDOMAIN_FIELDS) {
    const v = strField(spec, k, path, errs) ?? '';
    if (v !== '' && !isDNS1123Subdomain(v)) msgs(errs, child(path, k), v, dns1123SubdomainErrors(v));
  }
  strField(spec, 'serviceAccount', path, errs);
  for (const k of POD_LABEL_FIELDS) {
    const v = strField(spec, k, path, errs) ?? '';
    if (v !== '' && !isDNS1123Label(v)) msgs(errs, child(path, k), v, dns1123LabelErrors(v));
  }
  const ads = intField(spec, 'activeDeadlineSeconds', path, errs);
  if (ads !== undefined && (ads < 1 || ads > 4294967295)) errs.push(invalid(child(path, 'activeDeadlineSeconds'), ads, inclusiveRangeError(1, 4294967295)));
  intField(spec, 'terminationGracePeriodSeconds', path, errs);
  intField(spec, 'priority', path, errs);
  boolField(spec, 'enableServiceLinks', path, errs);
  boolField(spec, 'automountServiceAccountToken', path, errs);
  if (!isMissing(spec.tolerations)) validateTolerations(spec.tolerations, child(path, 'tolerations'), errs);
  if (!isMissing(spec.topologySpreadConstraints)) validateTopologySpread(spec.topologySpreadConstraints, child(path, 'topologySpreadConstraints'), errs);
  const psc = objField(spec, 'securityContext', path, errs);
  if (psc) validateSecurityContextIds(psc, child(path, 'securityContext'), errs);
  if (!isMissing(spec.imagePullSecrets)) {
    for (const [s, i] of objList(spec.imagePullSecrets, child(path, 'imagePullSecrets'), errs)) str(s.name, child(index(child(path, 'imagePullSecrets'), i), 'name'), errs);
  }
  objField(spec, 'affinity', path, errs);
  if (!isMissing(spec.overhead)) {
    const overhead = obj(spec.overhead, child(path, 'overhead'), errs);
    for (const [n, raw] of Object.entries(overhead ?? {})) quantity(raw, key(child(path, 'overhead'), n), errs);
  }
  if (!isMissing(spec.schedulingGates)) {
    for (const [g, i] of objList(spec.schedulingGates, child(path, 'schedulingGates'), errs)) {
      const gp = child(index(child(path, 'schedulingGates'), i), 'name');
      const n = str(g.name, gp, errs) ?? '';
      msgs(errs, gp, n, qualifiedNameErrors(n));
    }
  }
  const os = objField(spec, 'os', path, errs);
  if (os) {
    const n = str(os.name, child(child(path, 'os'), 'name'), errs) ?? '';
    if (n === '') errs.push(required(child(child(path, 'os'), 'name')));
  }
  if (!isMissing(spec.hostAliases)) for (const [h, i] of objList(spec.hostAliases, child(path, 'hostAliases'), errs)) {
    const ip = str(h.ip, child(index(child(path, 'hostAliases'), i), 'ip'), errs) ?? '';
    msgs(errs, child(index(child(path, 'hostAliases'), i), 'ip'), ip, ipErrors(ip));
  }
  return errs;
}

/** `ValidatePodTemplateSpec`: template labels and annotations, the pod spec, no ephemeral containers. */
export function validatePodTemplateSpec(tpl: unknown, path: string, errs: Errs = []): StatusCause[] {
  if (isMissing(tpl)) {
    errs.push(required(path));
    return errs;
  }
  const t = obj(tpl, path, errs);
  if (!t) return errs;
  const md = obj(t.metadata, child(path, 'metadata'), errs);
  if (md) {
    validateLabels(md.labels, child(child(path, 'metadata'), 'labels'), errs);
    validateAnnotations(md.annotations, child(child(path, 'metadata'), 'annotations'), errs);
  }
  validatePodSpec(t.spec, child(path, 'spec'), errs);
  const spec = isObj(t.spec) ? t.spec : {};
  if (Array.isArray(spec.ephemeralContainers) && spec.ephemeralContainers.length > 0) {
    errs.push(forbidden(child(child(path, 'spec'), 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}

/** Create-time Pod spec checks: ephemeral containers may only be added through their subresource. */
export function validatePodCreateSpec(spec: unknown, errs: Errs): void {
  if (isObj(spec) && Array.isArray(spec.ephemeralContainers) && spec.ephemeralContainers.length > 0) {
    errs.push(forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  }
}

const UPDATABLE_POD_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function diffPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (out.length >= 10 || jsonEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffPaths(a[k], b[k], child(path, k), out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diffPaths(x, b[i], index(path, i), out));
    return;
  }
  out.push(`  ${path}: ${JSON.stringify(b)} -> ${JSON.stringify(a)}`);
}

/**
 * `ValidatePodUpdate`'s spec part: only container images, a lowered activeDeadlineSeconds, added tolerations (or
 * lowered tolerationSeconds), a negative terminationGracePeriodSeconds set to 1 and removed scheduling gates may
 * change; anything else is `pod updates may not change fields other than ...` with a short diff.
 */
export function validatePodSpecUpdate(newSpecV: unknown, oldSpecV: unknown, errs: Errs): void {
  const ns: Rec = isObj(newSpecV) ? newSpecV : {};
  const os: Rec = isObj(oldSpecV) ? oldSpecV : {};
  const path = 'spec';
  for (const k of ['containers', 'initContainers']) {
    const a = Array.isArray(ns[k]) ? (ns[k] as unknown[]) : [];
    const b = Array.isArray(os[k]) ? (os[k] as unknown[]) : [];
    if (a.length !== b.length) {
      errs.push(forbidden(child(path, k), 'pod updates may not add or remove containers'));
      return;
    }
  }
  const ads = ns.activeDeadlineSeconds;
  if (typeof ads === 'number') {
    if (ads < 0 || ads > 2147483647) errs.push(invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, 2147483647)));
    else if (typeof os.activeDeadlineSeconds === 'number' && os.activeDeadlineSeconds < ads) errs.push(invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value'));
  } else if (isMissing(ads) && typeof os.activeDeadlineSeconds === 'number') {
    errs.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  // Existing tolerations must be kept; only their tolerationSeconds may change (`validateOnlyAddedTolerations`).
  const newTol = Array.isArray(ns.tolerations) ? ns.tolerations : [];
  const oldTol = Array.isArray(os.tolerations) ? os.tolerations : [];
  for (const ot of oldTol) {
    if (!isObj(ot)) continue;
    const found = newTol.some((nt) => {
      if (!isObj(nt)) return false;
      const { tolerationSeconds: _a, ...restN } = nt;
      const { tolerationSeconds: _b, ...restO } = ot;
      return jsonEqual(restN, restO);
    });
    if (!found) {
      errs.push(forbidden(child(path, 'tolerations'), 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  const gatesNew = Array.isArray(ns.schedulingGates) ? ns.schedulingGates : [];
  const gatesOld = Array.isArray(os.schedulingGates) ? os.schedulingGates : [];
  const gatesOk = gatesNew.every((g) => gatesOld.some((o) => jsonEqual(o, g)));
  if (!gatesOk) errs.push(forbidden(child(path, 'schedulingGates'), 'only deletion is allowed, but found new scheduling gate'));

  const munged: Rec = structuredClone(ns);
  for (const k of ['containers', 'initContainers']) {
    const a = Array.isArray(munged[k]) ? (munged[k] as unknown[]) : [];
    const b = Array.isArray(os[k]) ? (os[k] as unknown[]) : [];
    a.forEach((c, i) => {
      if (!isObj(c)) return;
      if (typeof c.image === 'string' && c.image === '') errs.push(required(child(index(child(path, k), i), 'image')));
      const oc = b[i];
      c.image = isObj(oc) ? oc.image : undefined;
    });
  }
  munged.activeDeadlineSeconds = os.activeDeadlineSeconds;
  munged.tolerations = os.tolerations;
  munged.schedulingGates = os.schedulingGates;
  if (typeof os.terminationGracePeriodSeconds === 'number' && os.terminationGracePeriodSeconds < 0 && ns.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  }
  if (!jsonEqual(munged, os)) {
    const diff: string[] = [];
    diffPaths(munged, os, 'spec', diff);
    errs.push(forbidden(path, `pod updates may not change fields other than ${UPDATABLE_POD_FIELDS.join(',')}\n${diff.join('\n')}`));
  }
  const newC = Array.isArray(ns.containers) ? ns.containers : [];
  newC.forEach((c, i) => {
    if (isObj(c) && typeof c.image === 'string' && c.image !== c.image.trim()) errs.push(invalid(`spec.containers[${i}].image`, c.image, 'must not have leading or trailing whitespace'));
  });
}
