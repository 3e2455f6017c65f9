import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApiError } from './errors.js';
import type { KObject } from './errors.js';
import { findKind } from './resources.js';
import type { ResourceInfo } from './resources.js';
import {
  escapeFieldValue,
  fieldSelectorMatcher,
  fieldValue,
  formatFieldSelector,
  isEmptyFieldSelector,
  parseFieldSelector,
  requiresExactName,
  supportedFieldLabels,
} from './fields.js';

const kind = (group: string, version: string, k: string): ResourceInfo => {
  const r = findKind(group, version, k);
  assert.ok(r, `${group}/${version}/${k}`);
  return r;
};
const POD = kind('', 'v1', 'Pod');
const NODE = kind('', 'v1', 'Node');
const NS = kind('', 'v1', 'Namespace');
const EVENT = kind('', 'v1', 'Event');
const EVENT_V1 = kind('events.k8s.io', 'v1', 'Event');
const SECRET = kind('', 'v1', 'Secret');
const SERVICE = kind('', 'v1', 'Service');
const JOB = kind('batch', 'v1', 'Job');
const DEPLOY = kind('apps', 'v1', 'Deployment');
const CM = kind('', 'v1', 'ConfigMap');

function badRequest(fn: () => unknown, msg: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, 'ApiError');
    assert.equal(e.code, 400);
    assert.equal(e.message, msg);
    return true;
  });
}

describe('parseFieldSelector', () => {
  // [input, canonical, terms]
  const cases: Array<[string, string, Array<[string, string, string]>]> = [
    ['', '', []],
    [',', '', []],
    ['metadata.name=a', 'metadata.name=a', [['metadata.name', '=', 'a']]],
    ['metadata.name==a', 'metadata.name=a', [['metadata.name', '=', 'a']]],
    ['metadata.name!=a', 'metadata.name!=a', [['metadata.name', '!=', 'a']]],
    ['spec.nodeName=', 'spec.nodeName=', [['spec.nodeName', '=', '']]],
    ['spec.nodeName!=', 'spec.nodeName!=', [['spec.nodeName', '!=', '']]],
    ['b=2,a=1', 'a=1,b=2', [['a', '=', '1'], ['b', '=', '2']]],
    ['a=x\\,y', 'a=x\\,y', [['a', '=', 'x,y']]],
    ['a=x\\=y', 'a=x\\=y', [['a', '=', 'x=y']]],
    ['a=x\\\\y', 'a=x\\\\y', [['a', '=', 'x\\y']]],
    ['a=x\\,y,b=z', 'a=x\\,y,b=z', [['a', '=', 'x,y'], ['b', '=', 'z']]],
    ['=v', '=v', [['', '=', 'v']]],
  ];
  for (const [s, canon, terms] of cases) {
    it(JSON.stringify(s), () => {
      const sel = parseFieldSelector(s);
      assert.deepEqual(
        sel.terms.map((t) => [t.field, t.op, t.value]),
        terms,
      );
      assert.equal(formatFieldSelector(sel), canon);
      assert.equal(isEmptyFieldSelector(sel), terms.length === 0);
    });
  }

  const bad: Array<[string, string]> = [
    ['a', "invalid selector: 'a'; can't understand 'a'"],
    ['a=1,b', "invalid selector: 'a=1,b'; can't understand 'b'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a!==b', 'invalid field selector: unescaped character in value: 61'],
    ['a=x\\y', 'invalid field selector: invalid escape sequence: \\y'],
    ['a=x\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [s, msg] of bad) it(`rejects ${JSON.stringify(s)}`, () => badRequest(() => parseFieldSelector(s), msg));

  it('escapeFieldValue round-trips through the parser', () => {
    fc.assert(
      fc.property(fc.string(), (v) => {
        const sel = parseFieldSelector(`f=${escapeFieldValue(v)}`);
        assert.equal(sel.terms[0]?.value, v);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but an ApiError 400 (property)', () => {
    const alphabet = fc.constantFrom(...'ab=!,\\ .'.split(''));
    const arb = fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 16 }).map((a) => a.join('')));
    fc.assert(
      fc.property(arb, (s) => {
        try {
          parseFieldSelector(s);
        } catch (e) {
          if (!(e instanceof ApiError) || e.code !== 400) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('requiresExactName', () => {
  it('returns the pinned name only for metadata.name=', () => {
    assert.equal(requiresExactName(parseFieldSelector('metadata.name=web')), 'web');
    assert.equal(requiresExactName(parseFieldSelector('metadata.name==web,spec.nodeName=n1')), 'web');
    assert.equal(requiresExactName(parseFieldSelector('metadata.name!=web')), undefined);
    assert.equal(requiresExactName(parseFieldSelector('')), undefined);
  });
});

const pod: KObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'prod' },
  spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default', hostNetwork: true },
  status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }], nominatedNodeName: 'node-b' },
};

describe('fieldSelectorMatcher', () => {
  const cases: Array<[string, ResourceInfo, string, KObject, boolean]> = [
    ['pod name', POD, 'metadata.name=web-1', pod, true],
    ['pod namespace', POD, 'metadata.namespace=dev', pod, false],
    ['pod node', POD, 'spec.nodeName=node-a', pod, true],
    ['pod spec.host alias', POD, 'spec.host=node-a', pod, true],
    ['pod unscheduled', POD, 'spec.nodeName=', pod, false],
    ['pod unscheduled (no spec)', POD, 'spec.nodeName=', { metadata: { name: 'x' } }, true],
    ['pod phase !=', POD, 'status.phase!=Succeeded,status.phase!=Failed', pod, true],
    ['pod restartPolicy', POD, 'spec.restartPolicy=Always', pod, true],
    ['pod schedulerName', POD, 'spec.schedulerName=default-scheduler', pod, true],
    ['pod serviceAccountName', POD, 'spec.serviceAccountName=default', pod, true],
    ['pod hostNetwork', POD, 'spec.hostNetwork=true', pod, true],
    ['pod hostNetwork default', POD, 'spec.hostNetwork=false', { metadata: { name: 'x' }, spec: {} }, true],
    ['pod podIP is the first podIPs entry', POD, 'status.podIP=10.0.0.5', pod, true],
    ['pod podIPs reads empty, as upstream', POD, 'status.podIPs=', pod, true],
    ['pod nominatedNodeName', POD, 'status.nominatedNodeName=node-b', pod, true],
    ['node unschedulable', NODE, 'spec.unschedulable=true', { metadata: { name: 'n' }, spec: { unschedulable: true } }, true],
    ['node schedulable default', NODE, 'spec.unschedulable=false', { metadata: { name: 'n' } }, true],
    ['namespace phase', NS, 'status.phase=Active', { metadata: { name: 'ns' }, status: { phase: 'Active' } }, true],
    ['secret type', SECRET, 'type=kubernetes.io/tls', { metadata: { name: 's' }, type: 'kubernetes.io/tls' }, true],
    ['service type', SERVICE, 'spec.type=NodePort,spec.clusterIP=10.96.0.10', { metadata: { name: 's' }, spec: { type: 'NodePort', clusterIP: '10.96.0.10' } }, true],
    ['job successful', JOB, 'status.successful=1', { metadata: { name: 'j' }, status: { succeeded: 1 } }, true],
    ['job successful default', JOB, 'status.successful=0', { metadata: { name: 'j' } }, true],
    ['configmap by name', CM, 'metadata.name=a,metadata.namespace=b', { metadata: { name: 'a', namespace: 'b' } }, true],
  ];
  for (const [name, info, s, obj, want] of cases) {
    it(name, () => assert.equal(fieldSelectorMatcher(info, parseFieldSelector(s))(obj), want));
  }

  const coreEvent: KObject = {
    metadata: { name: 'e1', namespace: 'prod' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'prod', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    type: 'Warning',
    source: { component: 'kubelet', host: 'node-a' },
    reportingComponent: 'kubelet',
  };
  const eventsV1: KObject = {
    metadata: { name: 'e2', namespace: 'prod' },
    regarding: { kind: 'Pod', name: 'web-1', namespace: 'prod' },
    reason: 'Scheduled',
    type: 'Normal',
    reportingController: 'default-scheduler',
  };
  it('core events: every involvedObject label plus reason/source/type/reportingComponent', () => {
    const m = (s: string, o: KObject) => fieldSelectorMatcher(EVENT, parseFieldSelector(s))(o);
    assert.equal(m('involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.namespace=prod', coreEvent), true);
    assert.equal(m('involvedObject.uid=u1,involvedObject.apiVersion=v1,involvedObject.resourceVersion=7', coreEvent), true);
    assert.equal(m('involvedObject.fieldPath=spec.containers{app}', coreEvent), true);
    assert.equal(m('reason=BackOff,type=Warning,source=kubelet,reportingComponent=kubelet', coreEvent), true);
    // source falls back to the reporting controller, as upstream.
    assert.equal(m('source=default-scheduler', eventsV1), true);
  });
  it('events.k8s.io: regarding.* and reportingController, not the core names', () => {
    const m = (s: string, o: KObject) => fieldSelectorMatcher(EVENT_V1, parseFieldSelector(s))(o);
    assert.equal(m('regarding.kind=Pod,regarding.name=web-1,reportingController=default-scheduler,type=Normal,reason=Scheduled', eventsV1), true);
    assert.equal(m('regarding.name=web-1', coreEvent), true);
    badRequest(() => m('involvedObject.name=x', eventsV1), 'field label not supported: involvedObject.name');
    badRequest(() => m('source=x', eventsV1), 'field label not supported: source');
  });

  const rejects: Array<[ResourceInfo, string, string]> = [
    [POD, 'foo=bar', 'field label not supported: foo'],
    [POD, 'status.hostIP=1.2.3.4', 'field label not supported: status.hostIP'],
    [NODE, 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    [NS, 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    [SECRET, 'data=x', 'field label not supported: data'],
    [JOB, 'status.active=1', 'field label "status.active" not supported for batchv1.Job'],
    [DEPLOY, 'spec.replicas=1', '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    [CM, 'constructor=x', '"constructor" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    // Terms are checked in sorted order, so the first bad one reported is the smallest.
    [POD, 'zzz=1,aaa=1', 'field label not supported: aaa'],
  ];
  for (const [info, s, msg] of rejects) {
    it(`${info.kind} rejects ${s}`, () => badRequest(() => fieldSelectorMatcher(info, parseFieldSelector(s)), msg));
  }

  it('supportedFieldLabels and fieldValue', () => {
    assert.deepEqual(supportedFieldLabels(NODE), ['metadata.name', 'spec.unschedulable']);
    assert.ok(supportedFieldLabels(POD).includes('spec.host'));
    assert.ok(supportedFieldLabels(EVENT_V1).includes('regarding.name'));
    assert.equal(fieldValue(POD, 'spec.nodeName', pod), 'node-a');
  });
});
