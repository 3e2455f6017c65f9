import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { buildCleanup, buildRules, type ProxyState } from './rules.js';

// ---- builders -----------------------------------------------------------------------------------------------------

function svc(name: string, spec: Partial<ServiceSpec>, extra: Partial<Service> = {}): Service {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name, ...extra.metadata },
    spec: { clusterIP: '10.43.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec },
    status: extra.status,
  };
}

const ep = (ip: string, conditions: Endpoint['conditions'] = { ready: true }, nodeName = 'node-a'): Endpoint =>
  ({ addresses: [ip], conditions, nodeName });

function slice(svcName: string, ports: EndpointPort[], endpoints: Endpoint[], name = `${svcName}-x`): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': svcName } },
    ports, endpoints,
  };
}

const HTTP: EndpointPort[] = [{ name: 'http', port: 8080, protocol: 'TCP' }];
const state = (services: Service[], endpointSlices: EndpointSlice[], more: Partial<ProxyState> = {}): ProxyState =>
  ({ chainPrefix: 'SKIFF', clusterCIDR: '10.42.0.0/16', nodeName: 'node-a', services, endpointSlices, ...more });

const rulesOf = (payload: string, chainPrefix: string) => payload.split('\n').filter((l) => l.startsWith(`-A ${chainPrefix}`));
const count = (payload: string, re: RegExp) => payload.split('\n').filter((l) => re.test(l)).length;

// ---- table ----------------------------------------------------------------------------------------------------------

interface Case {
  name: string;
  state: ProxyState;
  /** Each must match at least one line. */
  want?: RegExp[];
  /** None may match any line. */
  notWant?: RegExp[];
  /** Exact line counts. */
  counts?: Array<[RegExp, number]>;
}

const cases: Case[] = [
  {
    name: 'ClusterIP with two ready endpoints spreads evenly and masquerades off-cluster sources',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5'), ep('10.42.0.6')])]),
    want: [
      /^-A SKIFF-SERVICES -m comment --comment "default\/web:http cluster IP" -p tcp -m tcp -d 10\.43\.0\.10\/32 --dport 80 -j SKIFF-SVC-[A-Z2-7]{16}$/,
      /^-A SKIFF-SVC-\S+ .* -d 10\.43\.0\.10\/32 --dport 80 ! -s 10\.42\.0\.0\/16 -j SKIFF-MARK-MASQ$/,
      /^-A SKIFF-SVC-\S+ .*-> 10\.42\.0\.5:8080" -m statistic --mode random --probability 0\.5000000000 -j SKIFF-SEP-/,
      /^-A SKIFF-SVC-\S+ .*-> 10\.42\.0\.6:8080" -j SKIFF-SEP-/,
      /^-A SKIFF-SEP-\S+ .* -p tcp -m tcp -j DNAT --to-destination 10\.42\.0\.5:8080$/,
      /^-A SKIFF-SEP-\S+ .* -s 10\.42\.0\.5\/32 -j SKIFF-MARK-MASQ$/, // hairpin
      /^-A SKIFF-SERVICES .* -m addrtype --dst-type LOCAL -j SKIFF-NODEPORTS$/,
      /^-A SKIFF-POSTROUTING .* -j MASQUERADE --random-fully$/,
      /^-A SKIFF-MARK-MASQ -j MARK --or-mark 0x4000$/,
    ],
    notWant: [/REJECT/, /-m recent/, /SKIFF-EXT-/],
    counts: [[/-j DNAT/, 2], [/^:SKIFF-SEP-/, 2], [/^:SKIFF-SVC-/, 1]],
  },
  {
    name: 'three endpoints get probabilities 1/3, 1/2, then the rest',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5'), ep('10.42.0.6'), ep('10.42.0.7')])]),
    want: [/--probability 0\.3333333333 -j/, /--probability 0\.5000000000 -j/],
    counts: [[/-m statistic/, 2]],
  },
  {
    name: 'NodePort goes through EXT (masquerade) from NODEPORTS',
    state: state([svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })], [slice('web', HTTP, [ep('10.42.0.5')])]),
    want: [
      /^-A SKIFF-NODEPORTS .*"default\/web:http node port" -p tcp -m tcp --dport 30080 -j SKIFF-EXT-/,
      /^-A SKIFF-EXT-\S+ .*external destinations" -j SKIFF-MARK-MASQ$/,
      /^-A SKIFF-EXT-\S+ -j SKIFF-SVC-/,
    ],
  },
  {
    name: 'sessionAffinity ClientIP uses recent with the configured timeout',
    state: state([svc('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })], [slice('web', HTTP, [ep('10.42.0.5'), ep('10.42.0.6')])]),
    want: [
      /^-A SKIFF-SVC-\S+ .* -m recent --name (SKIFF-SEP-\S+) --rcheck --seconds 60 --reap -j \1$/,
      /^-A SKIFF-SEP-\S+ .* -p tcp -m recent --name SKIFF-SEP-\S+ --set -m tcp -j DNAT/,
    ],
    counts: [[/--rcheck/, 2], [/--set/, 2]],
  },
  {
    name: 'sessionAffinity ClientIP defaults to 10800 s',
    state: state([svc('web', { sessionAffinity: 'ClientIP' })], [slice('web', HTTP, [ep('10.42.0.5')])]),
    want: [/--rcheck --seconds 10800 --reap/],
  },
  {
    name: 'named targetPorts take each slice port number; several ports; UDP',
    state: state(
      [svc('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] })],
      [
        slice('dns', [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5354, protocol: 'TCP' }], [ep('10.42.0.5')], 'a'),
        slice('dns', [{ name: 'dns', port: 1053, protocol: 'UDP' }, { name: 'dns-tcp', port: 1054, protocol: 'TCP' }], [ep('10.42.1.5')], 'b'),
      ],
    ),
    want: [
      /^-A SKIFF-SERVICES .*dns:dns cluster IP" -p udp -m udp -d 10\.43\.0\.10\/32 --dport 53 -j SKIFF-SVC-/,
      /^-A SKIFF-SERVICES .*dns:dns-tcp cluster IP" -p tcp -m tcp -d 10\.43\.0\.10\/32 --dport 53 -j SKIFF-SVC-/,
      /-p udp -m udp -j DNAT --to-destination 10\.42\.0\.5:5353$/,
      /-p udp -m udp -j DNAT --to-destination 10\.42\.1\.5:1053$/,
      /-p tcp -m tcp -j DNAT --to-destination 10\.42\.0\.5:5354$/,
      /-p tcp -m tcp -j DNAT --to-destination 10\.42\.1\.5:1054$/,
    ],
    counts: [[/^:SKIFF-SVC-/, 2], [/^:SKIFF-SEP-/, 4]],
  },
  {
    name: 'no endpoints: REJECT in filter, no nat service rule',
    state: state([svc('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })], []),
    want: [
      /^-A SKIFF-SERVICES .*has no endpoints" -p tcp -m tcp -d 10\.43\.0\.10\/32 --dport 80 -j REJECT --reject-with icmp-port-unreachable$/,
      /^-A SKIFF-SERVICES .*has no endpoints" -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -j REJECT/,
    ],
    notWant: [/SKIFF-SVC-/, /-j DNAT/, /SKIFF-NODEPORTS .*30080/],
  },
  {
    name: 'not-ready endpoints are excluded',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5'), ep('10.42.0.6', { ready: false, serving: false })])]),
    want: [/DNAT --to-destination 10\.42\.0\.5:8080/],
    notWant: [/10\.42\.0\.6/, /REJECT/],
  },
  {
    name: 'ready unset counts as ready',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5', {})])]),
    want: [/DNAT --to-destination 10\.42\.0\.5:8080/],
  },
  {
    name: 'serving+terminating endpoints are the fallback when none is ready',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5', { ready: false, serving: true, terminating: true }), ep('10.42.0.6', { ready: false })])]),
    want: [/DNAT --to-destination 10\.42\.0\.5:8080/],
    notWant: [/10\.42\.0\.6/, /REJECT/],
  },
  {
    name: 'only not-ready endpoints → REJECT',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.6', { ready: false })])]),
    want: [/has no endpoints.* -j REJECT/],
    notWant: [/-j DNAT/],
  },
  {
    name: 'headless, ExternalName and other proxies\' services are ignored',
    state: state(
      [
        svc('headless', { clusterIP: 'None' }),
        svc('ext', { type: 'ExternalName', externalName: 'example.com', clusterIP: undefined }),
        svc('other', {}, { metadata: { labels: { 'service.kubernetes.io/service-proxy-name': 'x' } } }),
      ],
      [slice('headless', HTTP, [ep('10.42.0.5')]), slice('other', HTTP, [ep('10.42.0.7')])],
    ),
    notWant: [/headless/, /ext:/, /other/, /-j DNAT/, /REJECT/],
  },
  {
    name: 'externalIPs and LoadBalancer ingress IPs are matched in SERVICES and go through EXT',
    state: state(
      [svc('lb', { type: 'LoadBalancer', externalIPs: ['192.0.2.7'], ports: [{ name: 'http', port: 80, nodePort: 30081 }] }, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } })],
      [slice('lb', HTTP, [ep('10.42.0.5')])],
    ),
    want: [
      /^-A SKIFF-SERVICES .*external IP" -p tcp -m tcp -d 192\.0\.2\.7\/32 --dport 80 -j SKIFF-EXT-/,
      /^-A SKIFF-SERVICES .*external IP" -p tcp -m tcp -d 192\.0\.2\.1\/32 --dport 80 -j SKIFF-EXT-/,
      /^-A SKIFF-NODEPORTS .*--dport 30081 -j SKIFF-EXT-/,
    ],
  },
  {
    name: 'externalTrafficPolicy Local: SVL with local endpoints only, pods short-circuit to SVC',
    state: state(
      [svc('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30082 }] })],
      [slice('web', HTTP, [ep('10.42.0.5', { ready: true }, 'node-a'), ep('10.42.1.5', { ready: true }, 'node-b')])],
    ),
    want: [
      /^-A SKIFF-EXT-\S+ .*pod traffic for external destinations" -s 10\.42\.0\.0\/16 -j SKIFF-SVC-/,
      /^-A SKIFF-EXT-\S+ -j SKIFF-SVL-/,
      /^-A SKIFF-SVL-\S+ .*-> 10\.42\.0\.5:8080" -j SKIFF-SEP-/,
    ],
    notWant: [/^-A SKIFF-SVL-.*10\.42\.1\.5/, /external destinations" -j SKIFF-MARK-MASQ/],
  },
  {
    name: 'externalTrafficPolicy Local without local endpoints drops external traffic',
    state: state(
      [svc('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30083 }] })],
      [slice('web', HTTP, [ep('10.42.1.5', { ready: true }, 'node-b')])],
    ),
    want: [/has no local endpoints" -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30083 -j DROP$/, /cluster IP" .* -j SKIFF-SVC-/],
  },
  {
    name: 'internalTrafficPolicy Local uses SVL for the ClusterIP',
    state: state([svc('web', { internalTrafficPolicy: 'Local' })], [slice('web', HTTP, [ep('10.42.0.5', { ready: true }, 'node-a'), ep('10.42.1.5', { ready: true }, 'node-b')])]),
    want: [/cluster IP" .*--dport 80 -j SKIFF-SVL-/],
    notWant: [/^:SKIFF-SVC-/, /10\.42\.1\.5/],
  },
  {
    name: 'stale chains are declared and deleted; fixed chains are kept',
    state: state([], [], { existingNatChains: ['SKIFF-SERVICES', 'SKIFF-SVC-OLDOLDOLDOLDOLDO', 'SKIFF-SEP-OLDOLDOLDOLDOLDO'], existingFilterChains: ['SKIFF-SERVICES', 'SKIFF-OLD'] }),
    want: [/^:SKIFF-SVC-OLDOLDOLDOLDOLDO - \[0:0\]$/, /^-X SKIFF-SVC-OLDOLDOLDOLDOLDO$/, /^-X SKIFF-SEP-OLDOLDOLDOLDOLDO$/, /^-X SKIFF-OLD$/],
    notWant: [/^-X SKIFF-SERVICES$/],
  },
  {
    name: 'chain prefix is honoured everywhere',
    state: state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5')])], { chainPrefix: 'SKPXT' }),
    want: [/^-A SKPXT-SERVICES /, /^:SKPXT-SEP-/],
    notWant: [/SKIFF/],
  },
];

describe('buildRules', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { payload } = buildRules(c.state);
      for (const re of c.want ?? []) assert.ok(count(payload, re) > 0, `want ${re}\n${payload}`);
      for (const re of c.notWant ?? []) assert.equal(count(payload, re), 0, `do not want ${re}\n${payload}`);
      for (const [re, n] of c.counts ?? []) assert.equal(count(payload, re), n, `want ${n}× ${re}\n${payload}`);
    });
  }

  it('is well-formed: both tables committed, every -A targets a declared chain, names fit iptables', () => {
    const { payload, natChains } = buildRules(state(
      [svc('web', { type: 'NodePort', sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
      [slice('web', HTTP, [ep('10.42.0.5'), ep('10.42.0.6')])],
    ));
    const [filterPart, natPart] = payload.split('*nat');
    assert.match(filterPart, /^\*filter\n/);
    assert.match(filterPart, /COMMIT\n$/);
    assert.match(natPart, /COMMIT\n$/);
    for (const part of [filterPart, natPart]) {
      const declared = new Set(part.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]));
      for (const l of part.split('\n').filter((x) => x.startsWith('-A '))) {
        assert.ok(declared.has(l.split(' ')[1]), `undeclared chain in ${l}`);
        const target = /-j (SKIFF-\S+)/.exec(l)?.[1];
        if (target) assert.ok(declared.has(target), `jump to undeclared ${target} in ${l}`);
      }
    }
    for (const c of natChains) assert.ok(c.length <= 28, c);
    // Nodeports must come last in SERVICES.
    const svcRules = rulesOf(natPart, 'SKIFF-SERVICES ');
    assert.match(svcRules.at(-1)!, /-j SKIFF-NODEPORTS$/);
  });

  it('is deterministic and its chain names do not depend on endpoint order', () => {
    const a = buildRules(state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5'), ep('10.42.0.6')])])).payload;
    const b = buildRules(state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.6'), ep('10.42.0.5')])])).payload;
    assert.equal(a, b);
  });

  it('deduplicates an endpoint listed in two slices', () => {
    const { payload } = buildRules(state([svc('web', {})], [slice('web', HTTP, [ep('10.42.0.5')], 'a'), slice('web', HTTP, [ep('10.42.0.5')], 'b')]));
    assert.equal(count(payload, /-j DNAT/), 1);
  });

  it('rejects a chain prefix that would overflow iptables names', () => {
    assert.throws(() => buildRules(state([], [], { chainPrefix: 'TOOLONGPREFIX' })), /invalid chain prefix/);
    assert.throws(() => buildRules(state([], [], { chainPrefix: 'bad-x' })), /invalid chain prefix/);
  });
});

describe('buildCleanup', () => {
  it('flushes then deletes each chain per table', () => {
    assert.equal(buildCleanup(['P-A'], ['P-B']), '*filter\n:P-B - [0:0]\n-X P-B\nCOMMIT\n*nat\n:P-A - [0:0]\n-X P-A\nCOMMIT\n');
    assert.equal(buildCleanup([], []), '');
  });
});
