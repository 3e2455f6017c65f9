/**
 * Kinds outside core/apps/batch, validated after their upstream packages: networking (Ingress, IngressClass,
 * NetworkPolicy), discovery (EndpointSlice), coordination (Lease), scheduling (PriorityClass), policy
 * (PodDisruptionBudget), autoscaling (HorizontalPodAutoscaler v1/v2), rbac and the authorization reviews.
 */

import type { KObject } from '../errors.js';
import {
  type Errs, type Rec, bool, duplicate, forbidden, immutable, int, intOrString, invalid, isMissing, isObj, jsonEqual,
  msgs, nonNegative, notSupported, obj, objList, oneOf, quantity, required, str, strList, tooLong, tooMany,
} from './context.js';
import { validateLabelSelectorObject } from './meta.js';
import {
  cidrErrors, dns1035LabelErrors, dns1123LabelErrors, dns1123SubdomainErrors, domainPrefixedPathErrors,
  fullyQualifiedNameErrors, isIPv4, isIPv6, isValidIP, pathSegmentNameErrors, portNameErrors, portNumErrors,
  qualifiedNameErrors, wildcardDNS1123SubdomainErrors,
} from './names.js';
import { isNotMoreThan100Percent, validatePositiveIntOrPercent } from './workloads.js';

const specOf = (o: KObject, errs: Errs): Rec => {
  if (isMissing(o.spec)) return {};
  return obj(o.spec, 'spec', errs) ?? {};
};

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateTypedLocalObjectReference(ref: Rec, path: string, errs: Errs): void {
  const kind = str(ref.kind, `${path}.kind`, errs) ?? '';
  const name = str(ref.name, `${path}.name`, errs) ?? '';
  if (kind === '') errs.push(required(`${path}.kind`));
  else msgs(errs, `${path}.kind`, kind, pathSegmentNameErrors(kind));
  if (name === '') errs.push(required(`${path}.name`));
  else msgs(errs, `${path}.name`, name, pathSegmentNameErrors(name));
  const g = str(ref.apiGroup, `${path}.apiGroup`, errs) ?? '';
  if (g !== '') msgs(errs, `${path}.apiGroup`, g, dns1123SubdomainErrors(g));
}

function validateIngressBackend(b: Rec, path: string, errs: Errs): void {
  const res = obj(b.resource, `${path}.resource`, errs);
  const svc = obj(b.service, `${path}.service`, errs);
  if (res && svc) {
    errs.push(invalid(path, '', 'cannot set both resource and service backends'));
    return;
  }
  if (res) {
    validateTypedLocalObjectReference(res, `${path}.resource`, errs);
    return;
  }
  if (!svc) {
    errs.push(invalid(path, '', 'resource or service backend is required'));
    return;
  }
  const name = str(svc.name, `${path}.service.name`, errs) ?? '';
  if (name === '') errs.push(required(`${path}.service.name`));
  else msgs(errs, `${path}.service.name`, name, dns1035LabelErrors(name));
  const port = obj(svc.port, `${path}.service.port`, errs) ?? {};
  const pname = str(port.name, `${path}.service.port.name`, errs) ?? '';
  const pnum = int(port.number, `${path}.service.port.number`, errs) ?? 0;
  if (pname !== '' && pnum !== 0) errs.push(invalid(path, '', 'cannot set both port name & port number'));
  else if (pname !== '') msgs(errs, `${path}.service.port.name`, pname, portNameErrors(pname));
  else if (pnum !== 0) msgs(errs, `${path}.service.port.number`, pnum, portNumErrors(pnum));
  else errs.push(required(path, 'port name or number is required'));
}

function hostErrors(host: string): string[] {
  return host.includes('*') ? wildcardDNS1123SubdomainErrors(host) : dns1123SubdomainErrors(host);
}

/** `ValidateIngressCreate`: rules or a default backend, DNS hosts, absolute paths with a pathType, backends. */
export function validateIngress(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  const db = obj(spec.defaultBackend, 'spec.defaultBackend', errs);
  const rules = objList(spec.rules, 'spec.rules', errs);
  if (rules.length === 0 && !db) errs.push(invalid('spec', spec.rules ?? null, 'either `defaultBackend` or `rules` must be specified'));
  if (db) validateIngressBackend(db, 'spec.defaultBackend', errs);
  for (const [r, i] of rules) {
    const p = `spec.rules[${i}]`;
    const host = str(r.host, `${p}.host`, errs) ?? '';
    if (host !== '') {
      if (isValidIP(host)) errs.push(invalid(`${p}.host`, host, 'must be a DNS name, not an IP address'));
      msgs(errs, `${p}.host`, host, hostErrors(host));
    }
    const http = obj(r.http, `${p}.http`, errs);
    if (!http) continue;
    const paths = objList(http.paths, `${p}.http.paths`, errs);
    if (paths.length === 0) errs.push(required(`${p}.http.paths`));
    for (const [hp, j] of paths) {
      const pp = `${p}.http.paths[${j}]`;
      const pathV = str(hp.path, `${pp}.path`, errs) ?? '';
      const pt = str(hp.pathType, `${pp}.pathType`, errs);
      if (pt === undefined) {
        errs.push(required(`${pp}.pathType`, 'pathType must be specified'));
        continue;
      }
      if (pt === 'Exact' || pt === 'Prefix') {
        if (!pathV.startsWith('/')) errs.push(invalid(`${pp}.path`, pathV, 'must be an absolute path'));
        if (pathV.length > 0) {
          for (const seq of ['//', '/./', '/../', '%2f', '%2F']) if (pathV.includes(seq)) errs.push(invalid(`${pp}.path`, pathV, `must not contain '${seq}'`));
          for (const suf of ['/..', '/.']) if (pathV.endsWith(suf)) errs.push(invalid(`${pp}.path`, pathV, `cannot end with '${suf}'`));
        }
      } else if (pt === 'ImplementationSpecific') {
        if (pathV.length > 0 && !pathV.startsWith('/')) errs.push(invalid(`${pp}.path`, pathV, 'must be an absolute path'));
      } else errs.push(notSupported(`${pp}.pathType`, pt, PATH_TYPES));
      const b = obj(hp.backend, `${pp}.backend`, errs);
      if (b) validateIngressBackend(b, `${pp}.backend`, errs);
      else errs.push(invalid(`${pp}.backend`, '', 'resource or service backend is required'));
    }
  }
  for (const [t, i] of objList(spec.tls, 'spec.tls', errs)) {
    strList(t.hosts, `spec.tls[${i}].hosts`, errs).forEach((h, j) => msgs(errs, `spec.tls[${i}].hosts[${j}]`, h, hostErrors(h)));
    str(t.secretName, `spec.tls[${i}].secretName`, errs);
  }
  const cls = str(spec.ingressClassName, 'spec.ingressClassName', errs) ?? '';
  if (cls !== '') {
    msgs(errs, 'spec.ingressClassName', cls, dns1123SubdomainErrors(cls));
    const ann = isObj(o.metadata) && isObj(o.metadata.annotations) ? o.metadata.annotations : {};
    if (typeof ann['kubernetes.io/ingress.class'] === 'string') {
      errs.push(invalid('annotations.kubernetes.io/ingress.class', ann['kubernetes.io/ingress.class'], 'can not be set when the class field is also set'));
    }
  }
}

/** `ValidateIngressClass`: a domain-prefixed controller (immutable) and well-formed parameters. */
export function validateIngressClass(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  const c = str(spec.controller, 'spec.controller', errs) ?? '';
  if (c === '') errs.push(required('spec.controller'));
  else {
    if (c.length > 250) errs.push(tooLong('spec.controller', 250));
    msgs(errs, 'spec.controller', c, domainPrefixedPathErrors(c));
  }
  const params = obj(spec.parameters, 'spec.parameters', errs);
  if (params) {
    const p = 'spec.parameters';
    if ((str(params.kind, `${p}.kind`, errs) ?? '') === '') errs.push(required(`${p}.kind`));
    if ((str(params.name, `${p}.name`, errs) ?? '') === '') errs.push(required(`${p}.name`));
    const scope = str(params.scope, `${p}.scope`, errs);
    const ns = str(params.namespace, `${p}.namespace`, errs);
    if (scope !== undefined) {
      oneOf(scope, ['Cluster', 'Namespace'], `${p}.scope`, errs);
      if (scope === 'Namespace' && !ns) errs.push(required(`${p}.namespace`, '`parameters.scope` is set to \'Namespace\''));
      if (scope === 'Cluster' && ns) errs.push(forbidden(`${p}.namespace`, '`parameters.scope` is set to \'Cluster\''));
    } else if (ns) errs.push(required(`${p}.scope`, '`parameters.scope` is required when `parameters.namespace` is set'));
  }
}

function validateNetworkPolicyPeers(peers: unknown, path: string, errs: Errs): void {
  for (const [peer, i] of objList(peers, path, errs)) {
    const p = `${path}[${i}]`;
    let n = 0;
    if (!isMissing(peer.podSelector)) { n++; validateLabelSelectorObject(peer.podSelector, `${p}.podSelector`, errs); }
    if (!isMissing(peer.namespaceSelector)) { n++; validateLabelSelectorObject(peer.namespaceSelector, `${p}.namespaceSelector`, errs); }
    const ipb = obj(peer.ipBlock, `${p}.ipBlock`, errs);
    if (ipb) {
      n++;
      const cidr = str(ipb.cidr, `${p}.ipBlock.cidr`, errs) ?? '';
      if (cidr === '') errs.push(required(`${p}.ipBlock.cidr`));
      else msgs(errs, `${p}.ipBlock.cidr`, cidr, cidrErrors(cidr));
      strList(ipb.except, `${p}.ipBlock.except`, errs).forEach((e, j) => msgs(errs, `${p}.ipBlock.except[${j}]`, e, cidrErrors(e)));
    }
    if (n === 0) errs.push(required(p, 'must specify a peer'));
    else if (ipb && n > 1) errs.push(forbidden(p, 'may not specify both ipBlock and another peer'));
  }
}

function validateNetworkPolicyPorts(ports: unknown, path: string, errs: Errs): void {
  for (const [port, i] of objList(ports, path, errs)) {
    const p = `${path}[${i}]`;
    const proto = str(port.protocol, `${p}.protocol`, errs);
    if (proto !== undefined) oneOf(proto, ['SCTP', 'TCP', 'UDP'], `${p}.protocol`, errs);
    const v = intOrString(port.port, `${p}.port`, errs);
    if (typeof v === 'number') msgs(errs, `${p}.port`, v, portNumErrors(v));
    else if (typeof v === 'string') msgs(errs, `${p}.port`, v, portNameErrors(v));
    const end = int(port.endPort, `${p}.endPort`, errs);
    if (end !== undefined) {
      if (typeof v === 'string') errs.push(required(`${p}.endPort`, 'may not be specified when `port` is non-numeric'));
      else if (v === undefined) errs.push(required(`${p}.endPort`, 'may not be specified when `port` is not specified'));
      else if (end < v) errs.push(invalid(`${p}.endPort`, end, 'must be greater than or equal to `port`'));
    }
  }
}

/** `ValidateNetworkPolicy`: selectors, peers, ports and policy types. */
export function validateNetworkPolicy(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  validateLabelSelectorObject(spec.podSelector, 'spec.podSelector', errs);
  for (const [dir, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
    for (const [r, i] of objList(spec[dir], `spec.${dir}`, errs)) {
      validateNetworkPolicyPorts(r.ports, `spec.${dir}[${i}].ports`, errs);
      validateNetworkPolicyPeers(r[peers], `spec.${dir}[${i}].${peers}`, errs);
    }
  }
  const types = strList(spec.policyTypes, 'spec.policyTypes', errs);
  types.forEach((t, i) => { if (t !== 'Ingress' && t !== 'Egress') errs.push(notSupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress'])); });
  if (types.length > 2) errs.push(invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
}

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];

/** `ValidateEndpointSlice`: address type, per-type addresses, ports, and (on update) an immutable address type. */
export function validateEndpointSlice(o: KObject, errs: Errs): void {
  const at = str(o.addressType, 'addressType', errs) ?? '';
  if (at === '') errs.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(at)) errs.push(notSupported('addressType', at, ADDRESS_TYPES));
  const eps = objList(o.endpoints, 'endpoints', errs);
  if (eps.length > 1000) errs.push(tooMany('endpoints', eps.length, 1000));
  for (const [ep, i] of eps) {
    const p = `endpoints[${i}]`;
    const addrs = strList(ep.addresses, `${p}.addresses`, errs);
    if (addrs.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addrs.length > 100) errs.push(tooMany(`${p}.addresses`, addrs.length, 100));
    addrs.forEach((a, j) => {
      const ap = `${p}.addresses[${j}]`;
      if (at === 'IPv4' && !isIPv4(a)) errs.push(invalid(ap, a, 'must be a valid IPv4 address'));
      if (at === 'IPv6' && !isIPv6(a)) errs.push(invalid(ap, a, 'must be a valid IPv6 address'));
      if (at === 'FQDN') msgs(errs, ap, a, fullyQualifiedNameErrors(a));
    });
    const nn = str(ep.nodeName, `${p}.nodeName`, errs) ?? '';
    if (nn !== '') msgs(errs, `${p}.nodeName`, nn, dns1123SubdomainErrors(nn));
    const hn = str(ep.hostname, `${p}.hostname`, errs) ?? '';
    if (hn !== '') msgs(errs, `${p}.hostname`, hn, dns1123LabelErrors(hn));
    const cond = obj(ep.conditions, `${p}.conditions`, errs);
    if (cond) for (const k of ['ready', 'serving', 'terminating']) bool(cond[k], `${p}.conditions.${k}`, errs);
  }
  const ports = objList(o.ports, 'ports', errs);
  if (ports.length > 20000) errs.push(tooMany('ports', ports.length, 20000));
  const names = new Set<string>();
  for (const [port, i] of ports) {
    const p = `ports[${i}]`;
    const name = str(port.name, `${p}.name`, errs) ?? '';
    if (name !== '') msgs(errs, `${p}.name`, name, dns1123LabelErrors(name));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    const proto = str(port.protocol, `${p}.protocol`, errs) ?? '';
    oneOf(proto, ['SCTP', 'TCP', 'UDP'], `${p}.protocol`, errs, true);
    const n = int(port.port, `${p}.port`, errs);
    if (n !== undefined) msgs(errs, `${p}.port`, n, portNumErrors(n));
    const ap = str(port.appProtocol, `${p}.appProtocol`, errs) ?? '';
    if (ap !== '') msgs(errs, `${p}.appProtocol`, ap, qualifiedNameErrors(ap));
  }
}

/** `ValidateLeaseSpec`. */
export function validateLease(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  const d = int(spec.leaseDurationSeconds, 'spec.leaseDurationSeconds', errs);
  if (d !== undefined && d <= 0) errs.push(invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  nonNegative(int(spec.leaseTransitions, 'spec.leaseTransitions', errs), 'spec.leaseTransitions', errs);
  str(spec.holderIdentity, 'spec.holderIdentity', errs);
  const strat = str(spec.strategy, 'spec.strategy', errs);
  if (strat !== undefined && strat !== '') msgs(errs, 'spec.strategy', strat, qualifiedNameErrors(strat));
}

/** The built-in PriorityClasses (`scheduling.SystemPriorityClasses`). */
export const SYSTEM_PRIORITY_CLASSES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };
/** `scheduling.HighestUserDefinablePriority`. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1000000000;

/** `ValidatePriorityClass`: `system-` names reserved, user values ≤ 1e9, preemption policy enum. */
export function validatePriorityClass(o: KObject, errs: Errs): void {
  const name = isObj(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : '';
  const value = int(o.value, 'value', errs) ?? 0;
  const gd = bool(o.globalDefault, 'globalDefault', errs) ?? false;
  if (name.startsWith('system-')) {
    let err = '';
    if (!(name in SYSTEM_PRIORITY_CLASSES)) err = `${name} is not a known system priority class`;
    else if (SYSTEM_PRIORITY_CLASSES[name] !== value) err = `value of ${name} PriorityClass must be ${SYSTEM_PRIORITY_CLASSES[name]}`;
    else if (gd) err = `globalDefault of ${name} PriorityClass must be false`;
    if (err) errs.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only. error: ${err}`));
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  const pp = str(o.preemptionPolicy, 'preemptionPolicy', errs);
  if (pp !== undefined) oneOf(pp, ['PreemptLowerPriority', 'Never'], 'preemptionPolicy', errs, true);
  str(o.description, 'description', errs);
}

/** `ValidatePriorityClassUpdate`: value and preemption policy are fixed. */
export function validatePriorityClassUpdate(o: KObject, old: KObject, errs: Errs): void {
  if (!jsonEqual(o.value, old.value)) errs.push(forbidden('value', 'may not be changed in an update.'));
  immutable(o.preemptionPolicy, old.preemptionPolicy, 'preemptionPolicy', errs);
}

/** `ValidatePodDisruptionBudgetSpec`: minAvailable xor maxUnavailable, int-or-percent ≤ 100%. */
export function validatePodDisruptionBudget(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  if (!isMissing(spec.minAvailable) && !isMissing(spec.maxUnavailable)) errs.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  for (const k of ['minAvailable', 'maxUnavailable']) {
    if (isMissing(spec[k])) continue;
    validatePositiveIntOrPercent(spec[k], `spec.${k}`, errs);
    isNotMoreThan100Percent(spec[k], `spec.${k}`, errs);
  }
  if (!isMissing(spec.selector)) validateLabelSelectorObject(spec.selector, 'spec.selector', errs);
  const p = str(spec.unhealthyPodEvictionPolicy, 'spec.unhealthyPodEvictionPolicy', errs);
  if (p !== undefined) oneOf(p, ['IfHealthyBudget', 'AlwaysAllow'], 'spec.unhealthyPodEvictionPolicy', errs);
}

function validateCrossVersionRef(ref: unknown, path: string, errs: Errs): void {
  const r = obj(ref, path, errs) ?? {};
  const kind = str(r.kind, `${path}.kind`, errs) ?? '';
  const name = str(r.name, `${path}.name`, errs) ?? '';
  if (kind === '') errs.push(required(`${path}.kind`));
  else msgs(errs, `${path}.kind`, kind, pathSegmentNameErrors(kind));
  if (name === '') errs.push(required(`${path}.name`));
  else msgs(errs, `${path}.name`, name, pathSegmentNameErrors(name));
  str(r.apiVersion, `${path}.apiVersion`, errs);
}

const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const METRIC_FIELD: Record<string, string> = { ContainerResource: 'containerResource', External: 'external', Object: 'object', Pods: 'pods', Resource: 'resource' };

function validateMetricTarget(t: unknown, path: string, errs: Errs): void {
  const target = obj(t, path, errs);
  if (!target) {
    errs.push(required(path));
    return;
  }
  const type = str(target.type, `${path}.type`, errs) ?? '';
  oneOf(type, ['AverageValue', 'Utilization', 'Value'], `${path}.type`, errs, true);
  const u = int(target.averageUtilization, `${path}.averageUtilization`, errs);
  if (u !== undefined && u < 1) errs.push(invalid(`${path}.averageUtilization`, u, 'must be greater than 0'));
  for (const k of ['value', 'averageValue']) {
    const q = quantity(target[k], `${path}.${k}`, errs);
    if (q && q.mantissa <= 0n) errs.push(invalid(`${path}.${k}`, target[k], 'must be positive'));
  }
  if (type === 'Utilization' && u === undefined) errs.push(required(`${path}.averageUtilization`, 'must set either a target raw value or a target utilization'));
  if (type === 'Value' && isMissing(target.value)) errs.push(required(`${path}.value`, 'must set either a target value for metric or a per-pod target'));
  if (type === 'AverageValue' && isMissing(target.averageValue)) errs.push(required(`${path}.averageValue`, 'must set either a target value for metric or a per-pod target'));
}

function validateHPABehaviorRules(r: unknown, path: string, errs: Errs): void {
  const rules = obj(r, path, errs);
  if (!rules) return;
  const sw = int(rules.stabilizationWindowSeconds, `${path}.stabilizationWindowSeconds`, errs);
  if (sw !== undefined && (sw < 0 || sw > 3600)) errs.push(invalid(`${path}.stabilizationWindowSeconds`, sw, sw < 0 ? 'must be greater than or equal to zero' : 'must be less than or equal to 3600'));
  const sp = str(rules.selectPolicy, `${path}.selectPolicy`, errs);
  if (sp !== undefined) oneOf(sp, ['Disabled', 'Max', 'Min'], `${path}.selectPolicy`, errs);
  const policies = objList(rules.policies, `${path}.policies`, errs);
  if (Array.isArray(rules.policies) && policies.length === 0) errs.push(required(`${path}.policies`, 'must specify at least one Policy'));
  for (const [pol, i] of policies) {
    const pp = `${path}.policies[${i}]`;
    oneOf(str(pol.type, `${pp}.type`, errs) ?? '', ['Percent', 'Pods'], `${pp}.type`, errs, true);
    const v = int(pol.value, `${pp}.value`, errs) ?? 0;
    if (v <= 0) errs.push(invalid(`${pp}.value`, v, 'must be greater than zero'));
    const ps = int(pol.periodSeconds, `${pp}.periodSeconds`, errs) ?? 0;
    if (ps <= 0) errs.push(invalid(`${pp}.periodSeconds`, ps, 'must be greater than zero'));
    else if (ps > 1800) errs.push(invalid(`${pp}.periodSeconds`, ps, 'must be less than or equal to 1800'));
  }
}

/** `ValidateHorizontalPodAutoscaler` (v1 and v2 shapes). */
export function validateHPA(o: KObject, version: string, errs: Errs): void {
  const spec = specOf(o, errs);
  const min = int(spec.minReplicas, 'spec.minReplicas', errs);
  const max = int(spec.maxReplicas, 'spec.maxReplicas', errs) ?? 0;
  if (min !== undefined && min < 1) errs.push(invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  if (max < 1) errs.push(invalid('spec.maxReplicas', max, 'must be greater than 0'));
  if (min !== undefined && max < min) errs.push(invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  validateCrossVersionRef(spec.scaleTargetRef, 'spec.scaleTargetRef', errs);
  if (version === 'v1') {
    const t = int(spec.targetCPUUtilizationPercentage, 'spec.targetCPUUtilizationPercentage', errs);
    if (t !== undefined && t < 1) errs.push(invalid('spec.targetCPUUtilizationPercentage', t, 'must be greater than or equal to 1'));
    return;
  }
  for (const [m, i] of objList(spec.metrics, 'spec.metrics', errs)) {
    const p = `spec.metrics[${i}]`;
    const type = str(m.type, `${p}.type`, errs) ?? '';
    if (type === '') { errs.push(required(`${p}.type`, 'must specify a metric source type')); continue; }
    if (!METRIC_TYPES.includes(type)) { errs.push(notSupported(`${p}.type`, type, METRIC_TYPES)); continue; }
    const populated = Object.values(METRIC_FIELD).filter((f) => !isMissing(m[f]));
    if (populated.length > 1) errs.push(forbidden(p, 'must populate the given metric source only'));
    const f = METRIC_FIELD[type];
    const src = obj(m[f], `${p}.${f}`, errs);
    if (!src) { errs.push(required(`${p}.${f}`, 'must populate information for the given metric source')); continue; }
    const sp = `${p}.${f}`;
    if (type === 'Resource' || type === 'ContainerResource') {
      const name = str(src.name, `${sp}.name`, errs) ?? '';
      if (name === '') errs.push(required(`${sp}.name`, 'must specify a resource name'));
      if (type === 'ContainerResource' && (str(src.container, `${sp}.container`, errs) ?? '') === '') errs.push(required(`${sp}.container`, 'must specify a container'));
    } else {
      const metric = obj(src.metric, `${sp}.metric`, errs);
      if (!metric || (str(metric.name, `${sp}.metric.name`, errs) ?? '') === '') errs.push(required(`${sp}.metric.name`, 'must specify a metric name'));
      if (metric && !isMissing(metric.selector)) validateLabelSelectorObject(metric.selector, `${sp}.metric.selector`, errs);
      if (type === 'Object') validateCrossVersionRef(src.describedObject, `${sp}.describedObject`, errs);
    }
    validateMetricTarget(src.target, `${sp}.target`, errs);
  }
  const b = obj(spec.behavior, 'spec.behavior', errs);
  if (b) {
    validateHPABehaviorRules(b.scaleUp, 'spec.behavior.scaleUp', errs);
    validateHPABehaviorRules(b.scaleDown, 'spec.behavior.scaleDown', errs);
  }
}

function validatePolicyRules(rules: unknown, path: string, namespaced: boolean, errs: Errs): void {
  for (const [r, i] of objList(rules, path, errs)) {
    const p = `${path}[${i}]`;
    const verbs = strList(r.verbs, `${p}.verbs`, errs);
    const groups = strList(r.apiGroups, `${p}.apiGroups`, errs);
    const resources = strList(r.resources, `${p}.resources`, errs);
    const names = strList(r.resourceNames, `${p}.resourceNames`, errs);
    const urls = strList(r.nonResourceURLs, `${p}.nonResourceURLs`, errs);
    if (verbs.length === 0) errs.push(required(`${p}.verbs`, 'verbs must contain at least one value'));
    if (urls.length > 0) {
      if (namespaced) errs.push(invalid(`${p}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
      if (groups.length > 0 || resources.length > 0 || names.length > 0) errs.push(invalid(`${p}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'));
      continue;
    }
    if (groups.length === 0) errs.push(required(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
    if (resources.length === 0) errs.push(required(`${p}.resources`, 'resource rules must supply at least one resource'));
  }
}

/** `ValidateRole` / `ValidateClusterRole`: every rule names verbs and either resources or non-resource URLs. */
export function validateRole(o: KObject, namespaced: boolean, errs: Errs): void {
  validatePolicyRules(o.rules, 'rules', namespaced, errs);
  if (!namespaced) {
    const ar = obj(o.aggregationRule, 'aggregationRule', errs);
    if (ar) {
      const sels = objList(ar.clusterRoleSelectors, 'aggregationRule.clusterRoleSelectors', errs);
      if (sels.length === 0) errs.push(required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
      for (const [s, i] of sels) validateLabelSelectorObject(s, `aggregationRule.clusterRoleSelectors[${i}]`, errs);
    }
  }
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** `ValidateRoleBinding` / `ValidateClusterRoleBinding`: roleRef kind/group/name and subjects. */
export function validateRoleBinding(o: KObject, namespaced: boolean, errs: Errs): void {
  const rr = obj(o.roleRef, 'roleRef', errs) ?? {};
  const g = str(rr.apiGroup, 'roleRef.apiGroup', errs) ?? '';
  if (g !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', g, [RBAC_GROUP]));
  const kind = str(rr.kind, 'roleRef.kind', errs) ?? '';
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(kind)) errs.push(notSupported('roleRef.kind', kind, kinds));
  const name = str(rr.name, 'roleRef.name', errs) ?? '';
  if (name === '') errs.push(required('roleRef.name'));
  else msgs(errs, 'roleRef.name', name, pathSegmentNameErrors(name));
  for (const [s, i] of objList(o.subjects, 'subjects', errs)) {
    const p = `subjects[${i}]`;
    const sname = str(s.name, `${p}.name`, errs) ?? '';
    if (sname === '') errs.push(required(`${p}.name`));
    const skind = str(s.kind, `${p}.kind`, errs) ?? '';
    const sg = str(s.apiGroup, `${p}.apiGroup`, errs) ?? '';
    const sns = str(s.namespace, `${p}.namespace`, errs) ?? '';
    if (skind === 'ServiceAccount') {
      if (sname !== '') msgs(errs, `${p}.name`, sname, dns1123SubdomainErrors(sname));
      if (sg !== '') errs.push(notSupported(`${p}.apiGroup`, sg, ['']));
      if (!namespaced && sns === '') errs.push(required(`${p}.namespace`));
    } else if (skind === 'User' || skind === 'Group') {
      if (sg !== RBAC_GROUP) errs.push(notSupported(`${p}.apiGroup`, sg, [RBAC_GROUP]));
    } else errs.push(notSupported(`${p}.kind`, skind, ['ServiceAccount', 'User', 'Group']));
  }
}

/** `ValidateRoleBindingUpdate`: `cannot change roleRef`. */
export function validateRoleBindingUpdate(o: KObject, old: KObject, errs: Errs): void {
  if (!jsonEqual(o.roleRef, old.roleRef)) errs.push(invalid('roleRef', o.roleRef, 'cannot change roleRef'));
}

/** SubjectAccessReview / SelfSubjectAccessReview spec checks. */
export function validateAccessReview(o: KObject, self: boolean, errs: Errs): void {
  const spec = specOf(o, errs);
  const ra = obj(spec.resourceAttributes, 'spec.resourceAttributes', errs);
  const nra = obj(spec.nonResourceAttributes, 'spec.nonResourceAttributes', errs);
  if (!!ra === !!nra) errs.push(invalid('spec.resourceAttributes', spec.nonResourceAttributes ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  if (!self) {
    const user = str(spec.user, 'spec.user', errs) ?? '';
    const groups = strList(spec.groups, 'spec.groups', errs);
    if (user === '' && groups.length === 0) errs.push(invalid('spec.user', user, 'at least one of user or group must be specified'));
  }
}
