/**
 * Core (v1) kinds other than Pod, after `pkg/apis/core/validation/validation.go`: Service, ConfigMap, Secret,
 * Namespace, Node, Endpoints, Event, ServiceAccount, ResourceQuota, LimitRange, PersistentVolume and
 * PersistentVolumeClaim, including their update rules.
 */

import type { KObject } from '../errors.js';
import { compareQuantities, formatQuantity, quantityMilliValue } from '../quantity.js';
import {
  type Errs, type Rec, bool, duplicate, forbidden, immutable, int, invalid, isMissing, isObj, jsonEqual,
  key, msgs, notSupported, obj, objList, oneOf, quantity, required, str, strList, strMap, tooLong,
} from './context.js';
import { validateLabelSelectorObject, validateLabels } from './meta.js';
import {
  cidrErrors, configMapKeyErrors, dns1123LabelErrors, dns1123SubdomainErrors, ipErrors, labelValueErrors, portNumErrors,
  qualifiedNameErrors,
} from './names.js';
import { VOLUME_SOURCES, validatePortNumOrName, validateVolumeSourceFields } from './pod.js';

/** `core.MaxSecretSize`: ConfigMap and Secret payload limit. */
export const MAX_SECRET_SIZE = 1024 * 1024;
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
/** The default `--service-node-port-range`. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

const specOf = (o: KObject, errs: Errs): Rec => obj(o.spec, 'spec', errs) ?? {};

/** `ValidateService`. */
export function validateService(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  const type = str(spec.type, 'spec.type', errs) ?? '';
  oneOf(type, SERVICE_TYPES, 'spec.type', errs, true);
  const clusterIP = str(spec.clusterIP, 'spec.clusterIP', errs) ?? '';
  const clusterIPs = strList(spec.clusterIPs, 'spec.clusterIPs', errs);
  const headless = clusterIP === 'None';
  const ports = objList(spec.ports, 'spec.ports', errs);
  if (type === 'ExternalName') {
    if (clusterIP !== '') errs.push(forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
    const en = str(spec.externalName, 'spec.externalName', errs) ?? '';
    if (en === '') errs.push(required('spec.externalName'));
    else msgs(errs, 'spec.externalName', en, dns1123SubdomainErrors(en.endsWith('.') ? en.slice(0, -1) : en));
  } else if (ports.length === 0 && !headless) {
    errs.push(required('spec.ports'));
  }
  if (clusterIP !== '' && !headless) msgs(errs, 'spec.clusterIP', clusterIP, ipErrors(clusterIP));
  clusterIPs.forEach((ip, i) => { if (ip !== 'None') msgs(errs, `spec.clusterIPs[${i}]`, ip, ipErrors(ip)); });
  if (clusterIP !== '' && clusterIPs.length > 0 && clusterIPs[0] !== clusterIP) errs.push(invalid('spec.clusterIPs', clusterIPs, 'element [0] must match clusterIP'));
  if (headless && (type === 'LoadBalancer' || type === 'NodePort')) {
    errs.push(invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${type} services`));
  }
  const requireName = ports.length > 1;
  const names = new Set<string>();
  const portProto = new Set<string>();
  const nodePorts = new Set<string>();
  for (const [sp, i] of ports) {
    const p = `spec.ports[${i}]`;
    const name = str(sp.name, `${p}.name`, errs) ?? '';
    if (requireName && name === '') errs.push(required(`${p}.name`));
    else if (name !== '') {
      msgs(errs, `${p}.name`, name, dns1123LabelErrors(name));
      if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
      names.add(name);
    }
    const port = int(sp.port, `${p}.port`, errs) ?? 0;
    msgs(errs, `${p}.port`, port, portNumErrors(port));
    const proto = str(sp.protocol, `${p}.protocol`, errs) ?? '';
    oneOf(proto, PROTOCOLS, `${p}.protocol`, errs, true);
    if (!isMissing(sp.targetPort) && sp.targetPort !== 0 && sp.targetPort !== '') validatePortNumOrName(sp.targetPort, `${p}.targetPort`, errs);
    const ap = str(sp.appProtocol, `${p}.appProtocol`, errs) ?? '';
    if (ap !== '') msgs(errs, `${p}.appProtocol`, ap, qualifiedNameErrors(ap));
    const pp = `${port}/${proto}`;
    if (portProto.has(pp)) errs.push(duplicate(p, { port, protocol: proto }));
    portProto.add(pp);
    const np = int(sp.nodePort, `${p}.nodePort`, errs) ?? 0;
    if (np !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName') errs.push(forbidden(`${p}.nodePort`, `may not be used when \`type\` is '${type}'`));
      // Upstream validation only checks the port number; the range (--service-node-port-range) is the allocator's.
      else if (np < 1 || np > 65535) errs.push(invalid(`${p}.nodePort`, np, 'must be between 1 and 65535, inclusive'));
      const key2 = `${np}/${proto}`;
      if (nodePorts.has(key2)) errs.push(duplicate(`${p}.nodePort`, np));
      nodePorts.add(key2);
    }
  }
  validateLabels(spec.selector, 'spec.selector', errs);
  const sa = str(spec.sessionAffinity, 'spec.sessionAffinity', errs) ?? '';
  oneOf(sa, ['ClientIP', 'None'], 'spec.sessionAffinity', errs, true);
  if (sa === 'ClientIP') {
    const cfg = obj(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig', errs);
    const cip = cfg ? obj(cfg.clientIP, 'spec.sessionAffinityConfig.clientIP', errs) : undefined;
    const t = cip ? int(cip.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', errs) : undefined;
    if (t !== undefined && (t <= 0 || t > 86400)) errs.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
  } else if (!isMissing(spec.sessionAffinityConfig)) {
    errs.push(invalid('spec.sessionAffinityConfig', spec.sessionAffinityConfig, "must not be set when session affinity is None"));
  }
  strList(spec.externalIPs, 'spec.externalIPs', errs).forEach((ip, i) => msgs(errs, `spec.externalIPs[${i}]`, ip, ipErrors(ip)));
  const externallyAccessible = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
  const etp = str(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', errs) ?? '';
  if (etp !== '') {
    if (!externallyAccessible) errs.push(invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
    else oneOf(etp, ['Cluster', 'Local'], 'spec.externalTrafficPolicy', errs);
  }
  const itp = str(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', errs);
  if (itp !== undefined) oneOf(itp, ['Cluster', 'Local'], 'spec.internalTrafficPolicy', errs);
  const hc = int(spec.healthCheckNodePort, 'spec.healthCheckNodePort', errs);
  if (hc !== undefined && hc !== 0 && !(type === 'LoadBalancer' && etp === 'Local')) {
    errs.push(invalid('spec.healthCheckNodePort', hc, 'may only be set when `type` is \'LoadBalancer\' and `externalTrafficPolicy` is \'Local\''));
  }
  const ifp = str(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy', errs);
  if (ifp !== undefined) oneOf(ifp, ['SingleStack', 'PreferDualStack', 'RequireDualStack'], 'spec.ipFamilyPolicy', errs);
  const fams = strList(spec.ipFamilies, 'spec.ipFamilies', errs);
  fams.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    if (fams.indexOf(f) !== i) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
  });
  if (fams.length > 2) errs.push(invalid('spec.ipFamilies', fams, 'may not have more than two entries'));
  strList(spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges', errs).forEach((c, i) => {
    msgs(errs, `spec.loadBalancerSourceRanges[${i}]`, c, cidrErrors(c));
  });
  if (!isMissing(spec.loadBalancerSourceRanges) && type !== 'LoadBalancer' && Array.isArray(spec.loadBalancerSourceRanges) && spec.loadBalancerSourceRanges.length) {
    errs.push(forbidden('spec.loadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
  }
  bool(spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses', errs);
  bool(spec.allocateLoadBalancerNodePorts, 'spec.allocateLoadBalancerNodePorts', errs);
}

/**
 * `ValidateServiceUpdate`: the cluster IP may not change once set unless the type changes to or from ExternalName.
 * An update body without a cluster IP keeps the allocated one (the REST layer copies it).
 */
export function validateServiceUpdate(o: KObject, old: KObject, errs: Errs): void {
  const ns: Rec = isObj(o.spec) ? o.spec : {};
  const os: Rec = isObj(old.spec) ? old.spec : {};
  if (ns.type === 'ExternalName' || os.type === 'ExternalName') return;
  if (typeof ns.clusterIP === 'string' && ns.clusterIP !== '' && typeof os.clusterIP === 'string' && os.clusterIP !== '' && ns.clusterIP !== os.clusterIP) {
    errs.push(invalid('spec.clusterIP', ns.clusterIP, 'field is immutable'));
  }
  if (Array.isArray(ns.clusterIPs) && Array.isArray(os.clusterIPs) && ns.clusterIPs.length && os.clusterIPs.length && ns.clusterIPs[0] !== os.clusterIPs[0]) {
    errs.push(invalid('spec.clusterIPs[0]', ns.clusterIPs[0], 'may not change once set'));
  }
}

function b64Len(s: string): number | string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) {
    const bad = s.search(/[^A-Za-z0-9+/=]/);
    return `illegal base64 data at input byte ${bad < 0 ? s.length : bad}`;
  }
  if (s.length % 4 !== 0) return `illegal base64 data at input byte ${s.length}`;
  return Buffer.from(s, 'base64').length;
}

/** `ValidateConfigMap`: key syntax, no key in both data and binaryData, 1 MiB total. */
export function validateConfigMap(o: KObject, errs: Errs): void {
  const data = strMap(o.data, 'data', errs) ?? {};
  const bin = strMap(o.binaryData, 'binaryData', errs) ?? {};
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    msgs(errs, key('data', k), k, configMapKeyErrors(k));
    if (k in bin) errs.push(invalid(key('data', k), k, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(v, 'utf8');
  }
  for (const [k, v] of Object.entries(bin)) {
    msgs(errs, key('binaryData', k), k, configMapKeyErrors(k));
    if (k in data) errs.push(invalid(key('binaryData', k), k, 'duplicate of key present in data'));
    const n = b64Len(v);
    if (typeof n === 'string') errs.push(invalid(key('binaryData', k), '<binary data>', n));
    else total += n;
  }
  bool(o.immutable, 'immutable', errs);
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('', MAX_SECRET_SIZE));
}

function validateImmutableData(o: KObject, old: KObject, fields: string[], errs: Errs): void {
  if (old.immutable !== true) return;
  if (o.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields) if (!jsonEqual(o[f], old[f])) errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
}

/** `ValidateConfigMapUpdate`. */
export function validateConfigMapUpdate(o: KObject, old: KObject, errs: Errs): void {
  validateImmutableData(o, old, ['data', 'binaryData'], errs);
}

/** `ValidateSecret`: data keys, base64 values, 1 MiB, and the per-type required keys. */
export function validateSecret(o: KObject, errs: Errs): void {
  const data = strMap(o.data, 'data', errs) ?? {};
  const stringData = strMap(o.stringData, 'stringData', errs) ?? {};
  let total = 0;
  const keys = new Set<string>();
  for (const [k, v] of Object.entries(data)) {
    msgs(errs, key('data', k), k, configMapKeyErrors(k));
    const n = b64Len(v);
    if (typeof n === 'string') errs.push(invalid(key('data', k), '<secret contents redacted>', n));
    else total += n;
    keys.add(k);
  }
  for (const [k, v] of Object.entries(stringData)) {
    msgs(errs, key('stringData', k), k, configMapKeyErrors(k));
    total += Buffer.byteLength(v, 'utf8');
    keys.add(k);
  }
  if (total > MAX_SECRET_SIZE) errs.push(tooLong('data', MAX_SECRET_SIZE));
  bool(o.immutable, 'immutable', errs);
  const type = str(o.type, 'type', errs) ?? '';
  const need = (k: string): void => { if (!keys.has(k)) errs.push(required(key('data', k))); };
  switch (type) {
    case 'kubernetes.io/service-account-token': {
      const ann = isObj(o.metadata) && isObj(o.metadata.annotations) ? o.metadata.annotations : {};
      if (!ann['kubernetes.io/service-account.name']) errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    }
    case 'kubernetes.io/dockercfg': need('.dockercfg'); break;
    case 'kubernetes.io/dockerconfigjson': need('.dockerconfigjson'); break;
    case 'kubernetes.io/basic-auth':
      if (!keys.has('username') && !keys.has('password')) { need('username'); need('password'); }
      break;
    case 'kubernetes.io/ssh-auth': need('ssh-privatekey'); break;
    case 'kubernetes.io/tls': need('tls.crt'); need('tls.key'); break;
    default: break;
  }
}

/** `ValidateSecretUpdate`: type immutable, data frozen when `immutable: true`. */
export function validateSecretUpdate(o: KObject, old: KObject, errs: Errs): void {
  immutable(o.type, old.type, 'type', errs);
  validateImmutableData(o, old, ['data'], errs);
}

/** `ValidateNamespace`: `spec.finalizers` are standard or domain-qualified names. */
export function validateNamespace(o: KObject, errs: Errs): void {
  const spec = isMissing(o.spec) ? {} : specOf(o, errs);
  for (const f of strList(spec.finalizers, 'spec.finalizers', errs)) {
    const before = errs.length;
    msgs(errs, 'spec.finalizers', f, qualifiedNameErrors(f));
    if (errs.length === before && !f.includes('/') && f !== 'kubernetes') {
      errs.push(invalid('spec.finalizers', f, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  }
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** `ValidateNode`: pod CIDRs, taints, capacity quantities. */
export function validateNode(o: KObject, errs: Errs): void {
  const spec = isMissing(o.spec) ? {} : specOf(o, errs);
  const podCIDR = str(spec.podCIDR, 'spec.podCIDR', errs) ?? '';
  if (podCIDR !== '') msgs(errs, 'spec.podCIDR', podCIDR, cidrErrors(podCIDR));
  strList(spec.podCIDRs, 'spec.podCIDRs', errs).forEach((c, i) => msgs(errs, `spec.podCIDRs[${i}]`, c, cidrErrors(c)));
  bool(spec.unschedulable, 'spec.unschedulable', errs);
  const seen = new Set<string>();
  for (const [t, i] of objList(spec.taints, 'spec.taints', errs)) {
    const p = `spec.taints[${i}]`;
    const k = str(t.key, `${p}.key`, errs) ?? '';
    msgs(errs, `${p}.key`, k, qualifiedNameErrors(k));
    const v = str(t.value, `${p}.value`, errs) ?? '';
    if (v !== '') msgs(errs, `${p}.value`, v, labelValueErrors(v));
    const e = str(t.effect, `${p}.effect`, errs) ?? '';
    oneOf(e, TAINT_EFFECTS, `${p}.effect`, errs, true);
    const pair = `${k}:${e}`;
    if (seen.has(pair)) errs.push(duplicate(p, { key: k, effect: e }));
    seen.add(pair);
  }
  const status = isObj(o.status) ? o.status : {};
  for (const f of ['capacity', 'allocatable']) {
    const m = obj(status[f], `status.${f}`, errs);
    for (const [n, raw] of Object.entries(m ?? {})) {
      const q = quantity(raw, key(`status.${f}`, n), errs);
      if (q && compareQuantities(q, '0') < 0) errs.push(invalid(key(`status.${f}`, n), raw, 'must be greater than or equal to 0'));
    }
  }
}

/** `ValidateEndpoints`: addresses are IPs, ports named (when several), numbered and with a known protocol. */
export function validateEndpoints(o: KObject, errs: Errs): void {
  for (const [s, i] of objList(o.subsets, 'subsets', errs)) {
    const p = `subsets[${i}]`;
    for (const f of ['addresses', 'notReadyAddresses']) {
      for (const [a, j] of objList(s[f], `${p}.${f}`, errs)) {
        const ap = `${p}.${f}[${j}]`;
        const ip = str(a.ip, `${ap}.ip`, errs) ?? '';
        msgs(errs, `${ap}.ip`, ip, ipErrors(ip));
        const h = str(a.hostname, `${ap}.hostname`, errs) ?? '';
        if (h !== '') msgs(errs, `${ap}.hostname`, h, dns1123LabelErrors(h));
        const nn = str(a.nodeName, `${ap}.nodeName`, errs) ?? '';
        if (nn !== '') msgs(errs, `${ap}.nodeName`, nn, dns1123SubdomainErrors(nn));
      }
    }
    const ports = objList(s.ports, `${p}.ports`, errs);
    const names = new Set<string>();
    for (const [port, j] of ports) {
      const pp = `${p}.ports[${j}]`;
      const name = str(port.name, `${pp}.name`, errs) ?? '';
      if (ports.length > 1 && name === '') errs.push(required(`${pp}.name`));
      else if (name !== '') {
        msgs(errs, `${pp}.name`, name, dns1123LabelErrors(name));
        if (names.has(name)) errs.push(duplicate(`${pp}.name`, name));
        names.add(name);
      }
      const n = int(port.port, `${pp}.port`, errs) ?? 0;
      msgs(errs, `${pp}.port`, n, portNumErrors(n));
      oneOf(str(port.protocol, `${pp}.protocol`, errs) ?? '', PROTOCOLS, `${pp}.protocol`, errs, true);
    }
  }
}

/** Core v1 Event: the involved object's namespace must agree with the event's. */
export function validateCoreEvent(o: KObject, errs: Errs): void {
  const io = obj(o.involvedObject, 'involvedObject', errs) ?? {};
  const ns = isObj(o.metadata) && typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '';
  const ions = str(io.namespace, 'involvedObject.namespace', errs) ?? '';
  if (ions === '') {
    if (ns !== '' && ns !== 'default') errs.push(invalid('involvedObject.namespace', ions, 'does not match event.namespace'));
  } else if (ns !== ions) errs.push(invalid('involvedObject.namespace', ions, 'does not match event.namespace'));
  const type = str(o.type, 'type', errs) ?? '';
  if (type !== '' && type !== 'Normal' && type !== 'Warning') errs.push(invalid('type', '', `has invalid value: ${type}`));
  int(o.count, 'count', errs);
  for (const [f, max] of [['reason', 128], ['action', 128]] as const) {
    const v = str(o[f], f, errs) ?? '';
    if (v.length > max) errs.push(tooLong(f, max));
  }
}

/** events.k8s.io/v1 Event: eventTime, type, reportingController/Instance, action and reason required. */
export function validateEventsV1(o: KObject, errs: Errs): void {
  if (isMissing(o.eventTime)) errs.push(required('eventTime'));
  const type = str(o.type, 'type', errs) ?? '';
  if (type !== 'Normal' && type !== 'Warning') errs.push(invalid('type', '', `has invalid value: ${type}`));
  const rc = str(o.reportingController, 'reportingController', errs) ?? '';
  if (rc === '') errs.push(required('reportingController'));
  else msgs(errs, 'reportingController', rc, qualifiedNameErrors(rc));
  for (const f of ['reportingInstance', 'action', 'reason']) {
    const v = str(o[f], f, errs) ?? '';
    if (v === '') errs.push(required(f));
    if (v.length > 128) errs.push(invalid(f, '', 'can have at most 128 characters'));
  }
  const note = str(o.note, 'note', errs) ?? '';
  if (note.length > 1024) errs.push(invalid('note', '', 'can have at most 1024 characters'));
  const regarding = obj(o.regarding, 'regarding', errs) ?? {};
  const ns = isObj(o.metadata) && typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '';
  const rns = typeof regarding.namespace === 'string' ? regarding.namespace : '';
  if (rns !== '' && rns !== ns) errs.push(invalid('regarding.namespace', rns, 'does not match event.namespace'));
}

/** `ValidateServiceAccount`: secret and image-pull-secret references are objects with names. */
export function validateServiceAccount(o: KObject, errs: Errs): void {
  objList(o.secrets, 'secrets', errs);
  objList(o.imagePullSecrets, 'imagePullSecrets', errs);
  bool(o.automountServiceAccountToken, 'automountServiceAccountToken', errs);
}

const STANDARD_QUOTA = new Set([
  'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims',
  'services.nodeports', 'services.loadbalancers', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu',
  'requests.memory', 'requests.storage', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory',
  'limits.ephemeral-storage', 'storage',
]);
const INTEGER_QUOTA = new Set(['pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers']);
const QUOTA_SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity', 'VolumeAttributesClass'];

function validateResourceList(m: unknown, path: string, errs: Errs, quota: boolean): void {
  const list = obj(m, path, errs);
  for (const [n, raw] of Object.entries(list ?? {})) {
    const p = key(path, n);
    const before = errs.length;
    msgs(errs, p, n, qualifiedNameErrors(n));
    if (errs.length === before && !n.includes('/') && quota && !STANDARD_QUOTA.has(n) && !n.startsWith('hugepages-') && !n.startsWith('requests.hugepages-') && !n.startsWith('count/')) {
      errs.push(invalid(p, n, 'must be a standard resource type or fully qualified'));
    }
    const q = quantity(raw, p, errs);
    if (!q) continue;
    if (compareQuantities(q, '0') < 0) errs.push(invalid(p, formatQuantity(q), 'must be greater than or equal to 0'));
    else if ((INTEGER_QUOTA.has(n) || n.startsWith('count/') || (n.includes('/') && !n.includes('kubernetes.io/'))) && quantityMilliValue(q) % 1000n !== 0n) {
      errs.push(invalid(p, formatQuantity(q), 'must be an integer'));
    }
  }
}

/** `ValidateResourceQuota`: resource names, non-negative (integer where countable) quantities, scopes. */
export function validateResourceQuota(o: KObject, errs: Errs): void {
  const spec = isMissing(o.spec) ? {} : specOf(o, errs);
  validateResourceList(spec.hard, 'spec.hard', errs, true);
  for (const [i, s] of strList(spec.scopes, 'spec.scopes', errs).entries()) {
    if (!QUOTA_SCOPES.includes(s)) errs.push(notSupported(`spec.scopes[${i}]`, s, QUOTA_SCOPES));
  }
  const status = isObj(o.status) ? o.status : {};
  validateResourceList(status.hard, 'status.hard', errs, true);
  validateResourceList(status.used, 'status.used', errs, true);
}

const LIMIT_TYPES = ['Pod', 'Container', 'PersistentVolumeClaim'];

/** `ValidateLimitRange`: types, quantities and the min ≤ default ≤ max orderings. */
export function validateLimitRange(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  for (const [item, i] of objList(spec.limits, 'spec.limits', errs)) {
    const p = `spec.limits[${i}]`;
    const type = str(item.type, `${p}.type`, errs) ?? '';
    oneOf(type, LIMIT_TYPES, `${p}.type`, errs, true);
    const lists: Record<string, Map<string, NonNullable<ReturnType<typeof quantity>>>> = {};
    for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
      lists[f] = new Map();
      const m = obj(item[f], `${p}.${f}`, errs);
      for (const [n, raw] of Object.entries(m ?? {})) {
        const q = quantity(raw, key(`${p}.${f}`, n), errs);
        if (!q) continue;
        if (compareQuantities(q, '0') < 0) errs.push(invalid(key(`${p}.${f}`, n), formatQuantity(q), 'must be greater than or equal to 0'));
        lists[f].set(n, q);
      }
    }
    if (type === 'Pod') {
      if (lists.default.size) errs.push(forbidden(`${p}.default`, "may not be specified when `type` is 'Pod'"));
      if (lists.defaultRequest.size) errs.push(forbidden(`${p}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
    }
    const f = formatQuantity;
    for (const [n, min] of lists.min) {
      const max = lists.max.get(n);
      if (max && compareQuantities(min, max) > 0) errs.push(invalid(key(`${p}.min`, n), f(min), `min value ${f(min)} is greater than max value ${f(max)}`));
    }
    for (const [n, d] of lists.default) {
      const max = lists.max.get(n);
      const min = lists.min.get(n);
      if (max && compareQuantities(d, max) > 0) errs.push(invalid(key(`${p}.default`, n), f(d), `default value ${f(d)} is greater than max value ${f(max)}`));
      if (min && compareQuantities(min, d) > 0) errs.push(invalid(key(`${p}.default`, n), f(d), `min value ${f(min)} is greater than default value ${f(d)}`));
    }
    for (const [n, dr] of lists.defaultRequest) {
      const max = lists.max.get(n);
      const min = lists.min.get(n);
      const d = lists.default.get(n);
      if (max && compareQuantities(dr, max) > 0) errs.push(invalid(key(`${p}.defaultRequest`, n), f(dr), `default request value ${f(dr)} is greater than max value ${f(max)}`));
      if (min && compareQuantities(min, dr) > 0) errs.push(invalid(key(`${p}.defaultRequest`, n), f(dr), `min value ${f(min)} is greater than default request value ${f(dr)}`));
      if (d && compareQuantities(dr, d) > 0) errs.push(invalid(key(`${p}.defaultRequest`, n), f(dr), `default request value ${f(dr)} is greater than default limit value ${f(d)}`));
    }
    for (const [n, r] of lists.maxLimitRequestRatio) {
      if (compareQuantities(r, '1') < 0) errs.push(invalid(key(`${p}.maxLimitRequestRatio`, n), f(r), `ratio ${f(r)} is less than 1`));
    }
  }
}

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

function validateAccessModes(modes: unknown, path: string, errs: Errs, requiredDetail: string): void {
  const list = strList(modes, path, errs);
  if (list.length === 0) errs.push(required(path, requiredDetail));
  for (const m of list) if (!ACCESS_MODES.includes(m)) errs.push(notSupported(path, m, ACCESS_MODES));
  if (list.includes('ReadWriteOncePod') && list.length > 1) errs.push(forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
}

/** `ValidatePersistentVolume`: capacity (storage only), access modes, exactly one source, enums. */
export function validatePersistentVolume(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  validateAccessModes(spec.accessModes, 'spec.accessModes', errs, '');
  const cap = obj(spec.capacity, 'spec.capacity', errs);
  const keys = Object.keys(cap ?? {});
  if (keys.length === 0) errs.push(required('spec.capacity'));
  else if (!keys.includes('storage') || keys.length > 1) errs.push(notSupported('spec.capacity', keys, ['storage']));
  if (cap && !isMissing(cap.storage)) {
    const q = quantity(cap.storage, 'spec.capacity[storage]', errs);
    if (q && compareQuantities(q, '0') <= 0) errs.push(invalid('spec.capacity[storage]', formatQuantity(q), 'must be greater than zero'));
  }
  const rp = str(spec.persistentVolumeReclaimPolicy, 'spec.persistentVolumeReclaimPolicy', errs);
  if (rp !== undefined && rp !== '') oneOf(rp, ['Delete', 'Recycle', 'Retain'], 'spec.persistentVolumeReclaimPolicy', errs);
  const vm = str(spec.volumeMode, 'spec.volumeMode', errs);
  if (vm !== undefined) oneOf(vm, ['Block', 'Filesystem'], 'spec.volumeMode', errs);
  const sc = str(spec.storageClassName, 'spec.storageClassName', errs) ?? '';
  if (sc !== '') msgs(errs, 'spec.storageClassName', sc, dns1123SubdomainErrors(sc));
  let n = 0;
  for (const src of [...VOLUME_SOURCES, 'local']) {
    if (isMissing(spec[src]) || ['emptyDir', 'secret', 'configMap', 'downwardAPI', 'projected', 'gitRepo', 'ephemeral', 'image', 'persistentVolumeClaim'].includes(src)) continue;
    n++;
    if (n > 1) { errs.push(forbidden(`spec.${src}`, 'may not specify more than 1 volume type')); continue; }
    const sv = obj(spec[src], `spec.${src}`, errs);
    if (sv && src === 'local') {
      const lp = str(sv.path, 'spec.local.path', errs) ?? '';
      if (lp === '') errs.push(required('spec.local.path'));
    } else if (sv) validateVolumeSourceFields(src, sv, `spec.${src}`, errs);
  }
  if (n === 0) errs.push(required('spec', 'must specify a volume type'));
  const cr = obj(spec.claimRef, 'spec.claimRef', errs);
  if (cr) str(cr.name, 'spec.claimRef.name', errs);
}

/** `ValidatePersistentVolumeUpdate`: the volume source and volumeMode are fixed at creation. */
export function validatePersistentVolumeUpdate(o: KObject, old: KObject, errs: Errs): void {
  const ns: Rec = isObj(o.spec) ? o.spec : {};
  const os: Rec = isObj(old.spec) ? old.spec : {};
  const src = (s: Rec): Rec => Object.fromEntries([...VOLUME_SOURCES, 'local'].map((k) => [k, s[k]]));
  if (!jsonEqual(src(ns), src(os))) errs.push(forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
  immutable(ns.volumeMode, os.volumeMode, 'spec.volumeMode', errs);
}

/** `ValidatePersistentVolumeClaimSpec`: access modes and a positive storage request are required. */
export function validatePVCSpec(specV: unknown, path: string, errs: Errs): void {
  const spec = obj(specV, path, errs) ?? {};
  validateAccessModes(spec.accessModes, `${path}.accessModes`, errs, 'at least 1 access mode is required');
  if (!isMissing(spec.selector)) validateLabelSelectorObject(spec.selector, `${path}.selector`, errs);
  const res = obj(spec.resources, `${path}.resources`, errs) ?? {};
  const req = obj(res.requests, `${path}.resources.requests`, errs) ?? {};
  const storagePath = `${path}.resources[storage]`;
  if (isMissing(req.storage)) errs.push(required(storagePath));
  else {
    const q = quantity(req.storage, storagePath, errs);
    if (q && compareQuantities(q, '0') <= 0) errs.push(invalid(storagePath, formatQuantity(q), 'must be greater than zero'));
  }
  for (const [n, raw] of Object.entries(req)) if (n !== 'storage') quantity(raw, key(`${path}.resources.requests`, n), errs);
  const lim = obj(res.limits, `${path}.resources.limits`, errs) ?? {};
  for (const [n, raw] of Object.entries(lim)) quantity(raw, key(`${path}.resources.limits`, n), errs);
  const sc = str(spec.storageClassName, `${path}.storageClassName`, errs) ?? '';
  if (sc !== '') msgs(errs, `${path}.storageClassName`, sc, dns1123SubdomainErrors(sc));
  const vm = str(spec.volumeMode, `${path}.volumeMode`, errs);
  if (vm !== undefined) oneOf(vm, ['Block', 'Filesystem'], `${path}.volumeMode`, errs);
  str(spec.volumeName, `${path}.volumeName`, errs);
}

/** `ValidatePersistentVolumeClaim`. */
export function validatePersistentVolumeClaim(o: KObject, errs: Errs): void {
  if (isMissing(o.spec)) errs.push(required('spec.accessModes', 'at least 1 access mode is required'), required('spec.resources[storage]'));
  else validatePVCSpec(o.spec, 'spec', errs);
}

/**
 * `ValidatePersistentVolumeClaimUpdate`: the spec is immutable except `resources.requests` (storage may not
 * shrink) and a volumeName that was empty.
 */
export function validatePersistentVolumeClaimUpdate(o: KObject, old: KObject, errs: Errs): void {
  const ns: Rec = isObj(o.spec) ? structuredClone(o.spec) : {};
  const os: Rec = isObj(old.spec) ? structuredClone(old.spec) : {};
  if (isMissing(os.volumeName) || os.volumeName === '') os.volumeName = ns.volumeName;
  const strip = (s: Rec): void => {
    if (isObj(s.resources)) { s.resources = { ...s.resources }; delete (s.resources as Rec).requests; }
    delete s.volumeAttributesClassName;
  };
  const newReq = isObj(ns.resources) && isObj(ns.resources.requests) ? ns.resources.requests.storage : undefined;
  const oldReq = isObj(os.resources) && isObj(os.resources.requests) ? os.resources.requests.storage : undefined;
  strip(ns);
  strip(os);
  if (!jsonEqual(ns, os)) errs.push(forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
  try {
    if (newReq !== undefined && oldReq !== undefined && compareQuantities(String(newReq), String(oldReq)) < 0) {
      errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
    }
  } catch {
    // invalid quantities are reported by validatePVCSpec
  }
}

