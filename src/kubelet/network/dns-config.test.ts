import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { mergeDnsOptions, parseResolvConf, podDnsConfig } from './dns-config.js';

const HOST = '# generated\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions edns0 ndots:2\n';
const S = { clusterDNS: ['10.43.0.10'], clusterDomain: 'cluster.local' };
const pod = (spec: Pod['spec'] = { containers: [] }): Pod => ({ metadata: { name: 'p', namespace: 'team' }, spec });

describe('pod DNS config', () => {
  test('parseResolvConf', () => {
    assert.deepEqual(parseResolvConf(HOST), { servers: ['192.0.2.53', '192.0.2.54'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'ndots:2'] });
  });
  test('ClusterFirst (default): cluster nameserver, namespace searches + host searches, ndots:5', () => {
    assert.deepEqual(podDnsConfig(pod(), S, HOST), {
      servers: ['10.43.0.10'],
      searches: ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example'],
      options: ['ndots:5'],
    });
  });
  test('ClusterFirst on hostNetwork falls back to the host; ClusterFirstWithHostNet does not', () => {
    assert.deepEqual(podDnsConfig(pod({ containers: [], hostNetwork: true }), S, HOST).servers, ['192.0.2.53', '192.0.2.54']);
    assert.deepEqual(podDnsConfig(pod({ containers: [], hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), S, HOST).servers, ['10.43.0.10']);
  });
  test('Default uses the host resolv.conf; no cluster DNS configured behaves as Default', () => {
    assert.deepEqual(podDnsConfig(pod({ containers: [], dnsPolicy: 'Default' }), S, HOST), parseResolvConf(HOST));
    assert.deepEqual(podDnsConfig(pod(), { ...S, clusterDNS: [] }, HOST), parseResolvConf(HOST));
  });
  test('None takes only spec.dnsConfig; dnsConfig merges as upstream', () => {
    const dnsConfig = { nameservers: ['1.1.1.1'], searches: ['x.example'], options: [{ name: 'ndots', value: '1' }, { name: 'edns0' }] };
    assert.deepEqual(podDnsConfig(pod({ containers: [], dnsPolicy: 'None', dnsConfig }), S, HOST), { servers: ['1.1.1.1'], searches: ['x.example'], options: ['ndots:1', 'edns0'] });
    const merged = podDnsConfig(pod({ containers: [], dnsConfig: { ...dnsConfig, nameservers: ['10.43.0.10', '1.1.1.1'], searches: ['cluster.local', 'x.example'] } }), S, HOST);
    assert.deepEqual(merged.servers, ['10.43.0.10', '1.1.1.1']);
    assert.deepEqual(merged.searches, ['team.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example', 'x.example']);
    assert.deepEqual(merged.options, ['ndots:1', 'edns0']);
    assert.deepEqual(mergeDnsOptions(['a', 'ndots:5'], ['ndots:2']), ['a', 'ndots:2']);
  });
});
