/**
 * Printers for the networking, coordination, discovery, scheduling, policy, autoscaling and RBAC kinds, as
 * kube-apiserver's internal printers render them. HPA objects from autoscaling/v1 are read through their v2
 * equivalent, because upstream prints both versions from the same internal type.
 */

import type { KObject } from '../errors.js';
import { formatLabelSelector } from '../labels.js';
import { since } from './duration.js';
import type { Printer } from './types.js';
import { AGE_COL, arr, col, intOrString, listWithMore, loadBalancerIngress, n, NAME_COL, quantity, s } from './util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const age = (o: KObject, now: number) => since(o.metadata?.creationTimestamp, now);
const nm = (o: KObject) => s(o.metadata?.name);

function formatHosts(rules: Any[]): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    if (!more && s(rule?.host) !== '') list.push(s(rule.host));
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${rules.length - max} more...` : ret;
}

function formatSlicePorts(ports: Any[]): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  let total = 0;
  for (const p of ports) {
    if (list.length < max) list.push(typeof p?.port === 'number' ? String(p.port) : typeof p?.name === 'string' ? p.name : '*');
    else if (list.length === max) more = true;
    total++;
  }
  return listWithMore(list, more, total, max);
}

function formatSliceEndpoints(endpoints: Any[]): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  let total = 0;
  for (const ep of endpoints) {
    for (const a of arr<string>(ep?.addresses)) {
      if (list.length < max) list.push(s(a));
      else if (list.length === max) more = true;
      total++;
    }
  }
  return listWithMore(list, more, total, max);
}

/** HPA metrics and current metrics in autoscaling/v2 shape; v1 objects are converted as upstream converts them. */
function hpaMetrics(hpa: KObject): { specs: Any[]; statuses: Any[] } {
  const spec = hpa.spec ?? {};
  const v1 = !Array.isArray(spec.metrics) && (hpa.apiVersion === 'autoscaling/v1' || 'targetCPUUtilizationPercentage' in spec);
  if (!v1) {
    const specs = arr(spec.metrics);
    // autoscaling/v2 defaulting fills in 80% CPU when no metric is given.
    return {
      specs: specs.length ? specs : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      statuses: arr(hpa.status?.currentMetrics),
    };
  }
  const target = typeof spec.targetCPUUtilizationPercentage === 'number' ? spec.targetCPUUtilizationPercentage : 80;
  const current = hpa.status?.currentCPUUtilizationPercentage;
  return {
    specs: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: target } } }],
    statuses: typeof current === 'number' ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: current } } }] : [],
  };
}

/** Upstream `formatHPAMetrics`: at most two metrics, `current/target` each. */
function formatHPAMetrics(specs: Any[], statuses: Any[]): string {
  if (specs.length === 0) return '<none>';
  const list: string[] = [];
  const max = 2;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] ?? {};
    const st = statuses[i];
    switch (spec.type) {
      case 'External':
      case 'Object': {
        const key = spec.type === 'External' ? 'external' : 'object';
        const target = spec[key]?.target ?? {};
        const cur = st?.[key]?.current;
        if (target.averageValue != null) {
          const current = cur?.averageValue != null ? quantity(cur.averageValue) : '<unknown>';
          list.push(`${current}/${quantity(target.averageValue)} (avg)`);
        } else {
          const current = st?.[key] ? quantity(cur?.value) : '<unknown>';
          list.push(`${current}/${quantity(target.value)}`);
        }
        break;
      }
      case 'Pods': {
        const current = st?.pods ? quantity(st.pods.current?.averageValue) : '<unknown>';
        list.push(`${current}/${quantity(spec.pods?.target?.averageValue)}`);
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const m = spec[key] ?? {};
        const target = m.target ?? {};
        const cur = st?.[key];
        if (target.averageValue != null) {
          const current = cur ? quantity(cur.current?.averageValue) : '<unknown>';
          list.push(`${s(m.name)}: ${current}/${quantity(target.averageValue)}`);
        } else {
          const current = typeof cur?.current?.averageUtilization === 'number' ? `${cur.current.averageUtilization}%` : '<unknown>';
          const t = typeof target.averageUtilization === 'number' ? `${target.averageUtilization}%` : '<auto>';
          list.push(`${s(m.name)}: ${current}/${t}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  }
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

/** Upstream `rbac.SubjectsStrings`: users, groups, and namespace/name of service accounts. */
function subjects(binding: KObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const sub of arr<Any>(binding.subjects)) {
    if (sub?.kind === 'ServiceAccount') sas.push(`${s(sub.namespace)}/${s(sub.name)}`);
    else if (sub?.kind === 'User') users.push(s(sub.name));
    else if (sub?.kind === 'Group') groups.push(s(sub.name));
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

function bindingPrinter(what: string, roleRefDoc: 'rbac.RoleBinding.roleRef' | 'rbac.ClusterRoleBinding.roleRef'): Printer {
  return {
    columns: [
      NAME_COL,
      col('Role', 'string', roleRefDoc),
      AGE_COL,
      col('Users', 'string', `Users in the ${what}`, { priority: 1 }),
      col('Groups', 'string', `Groups in the ${what}`, { priority: 1 }),
      col('ServiceAccounts', 'string', `ServiceAccounts in the ${what}`, { priority: 1 }),
    ],
    print: (b, now) => ({ cells: [nm(b), `${s(b.roleRef?.kind)}/${s(b.roleRef?.name)}`, age(b, now), ...subjects(b)] }),
  };
}

const HPA: Printer = {
  columns: [
    NAME_COL,
    col('Reference', 'string', 'autoscaling.HorizontalPodAutoscalerSpec.scaleTargetRef'),
    col('Targets', 'string', 'autoscaling.HorizontalPodAutoscalerSpec.metrics'),
    col('MinPods', 'string', 'autoscaling.HorizontalPodAutoscalerSpec.minReplicas'),
    col('MaxPods', 'string', 'autoscaling.HorizontalPodAutoscalerSpec.maxReplicas'),
    col('Replicas', 'string', 'autoscaling.HorizontalPodAutoscalerStatus.currentReplicas'),
    AGE_COL,
  ],
  print: (h, now) => {
    const spec = h.spec ?? {};
    const { specs, statuses } = hpaMetrics(h);
    // v1 and v2 both default minReplicas to 1.
    const minPods = typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '1';
    return {
      cells: [
        nm(h),
        `${s(spec.scaleTargetRef?.kind)}/${s(spec.scaleTargetRef?.name)}`,
        formatHPAMetrics(specs, statuses),
        minPods,
        n(spec.maxReplicas),
        n(h.status?.currentReplicas),
        age(h, now),
      ],
    };
  },
};

/** Printers keyed by `group/Kind`. */
export const OTHER_PRINTERS: Record<string, Printer> = {
  'networking.k8s.io/Ingress': {
    columns: [
      NAME_COL,
      col('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
      col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
      col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
      col('Ports', 'string', 'Ports of TLS configurations that open'),
      AGE_COL,
    ],
    print: (ing, now) => ({
      cells: [
        nm(ing),
        typeof ing.spec?.ingressClassName === 'string' ? ing.spec.ingressClassName : '<none>',
        formatHosts(arr(ing.spec?.rules)),
        loadBalancerIngress(ing.status?.loadBalancer?.ingress),
        arr(ing.spec?.tls).length ? '80, 443' : '80',
        age(ing, now),
      ],
    }),
  },
  'networking.k8s.io/IngressClass': {
    columns: [
      NAME_COL,
      col('Controller', 'string', 'Controller that is responsible for handling this class'),
      col('Parameters', 'string', 'A reference to a resource with additional parameters'),
      AGE_COL,
    ],
    print: (ic, now) => {
      const p = ic.spec?.parameters;
      let params = '<none>';
      if (p) params = `${s(p.kind)}${typeof p.apiGroup === 'string' ? '.' + p.apiGroup : ''}/${s(p.name)}`;
      return { cells: [nm(ic), s(ic.spec?.controller), params, age(ic, now)] };
    },
  },
  'networking.k8s.io/NetworkPolicy': {
    columns: [NAME_COL, col('Pod-Selector', 'string', 'networking.NetworkPolicySpec.podSelector'), AGE_COL],
    // podSelector is a required struct upstream, so an absent one prints as the empty selector.
    print: (np, now) => ({ cells: [nm(np), formatLabelSelector(np.spec?.podSelector ?? {}), age(np, now)] }),
  },
  'coordination.k8s.io/Lease': {
    columns: [NAME_COL, col('Holder', 'string', 'coordination.LeaseSpec.holderIdentity'), AGE_COL],
    print: (l, now) => ({ cells: [nm(l), s(l.spec?.holderIdentity), age(l, now)] }),
  },
  'discovery.k8s.io/EndpointSlice': {
    columns: [
      NAME_COL,
      col('AddressType', 'string', 'discovery.EndpointSlice.addressType'),
      col('Ports', 'string', 'discovery.EndpointSlice.ports'),
      col('Endpoints', 'string', 'discovery.EndpointSlice.endpoints'),
      AGE_COL,
    ],
    print: (es, now) => ({ cells: [nm(es), s(es.addressType), formatSlicePorts(arr(es.ports)), formatSliceEndpoints(arr(es.endpoints)), age(es, now)] }),
  },
  'scheduling.k8s.io/PriorityClass': {
    columns: [
      NAME_COL,
      col('Value', 'integer', 'scheduling.PriorityClass.value'),
      col('Global-Default', 'boolean', 'scheduling.PriorityClass.globalDefault'),
      AGE_COL,
      col('PreemptionPolicy', 'string', 'scheduling.PriorityClass.preemptionPolicy'),
    ],
    print: (pc, now) => ({ cells: [nm(pc), n(pc.value), pc.globalDefault === true, age(pc, now), s(pc.preemptionPolicy)] }),
  },
  'policy/PodDisruptionBudget': {
    columns: [
      NAME_COL,
      col('Min Available', 'string', 'The minimum number of pods that must be available.'),
      col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
      col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
      AGE_COL,
    ],
    print: (pdb, now) => ({
      cells: [
        nm(pdb),
        pdb.spec?.minAvailable != null ? intOrString(pdb.spec.minAvailable) : 'N/A',
        pdb.spec?.maxUnavailable != null ? intOrString(pdb.spec.maxUnavailable) : 'N/A',
        n(pdb.status?.disruptionsAllowed),
        age(pdb, now),
      ],
    }),
  },
  'autoscaling/HorizontalPodAutoscaler': HPA,
  // The scale subresource (`kubectl get deploy/web --subresource=scale`); upstream's Name column has no name format.
  'autoscaling/Scale': {
    columns: [
      col('Name', 'string', 'meta.ObjectMeta.name'),
      col('Desired', 'integer', 'autoscaling.ScaleSpec.replicas'),
      col('Available', 'integer', 'autoscaling.ScaleStatus.replicas'),
      AGE_COL,
    ],
    print: (sc, now) => ({ cells: [nm(sc), n(sc.spec?.replicas), n(sc.status?.replicas), age(sc, now)] }),
  },
  'rbac.authorization.k8s.io/RoleBinding': bindingPrinter('roleBinding', 'rbac.RoleBinding.roleRef'),
  'rbac.authorization.k8s.io/ClusterRoleBinding': bindingPrinter('clusterRoleBinding', 'rbac.ClusterRoleBinding.roleRef'),
};
