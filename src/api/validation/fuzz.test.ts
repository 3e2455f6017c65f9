import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateObject } from './index.js';
import { applyDefaults } from '../defaults.js';
import { RESOURCES } from '../resources.js';
import type { KObject } from '../errors.js';

const internal = (causes: Array<{ message: string }>): boolean => causes.some((c) => c.message.includes('internal validation error'));

// Shapes that reach deep into the validators: known field names with arbitrary JSON values.
const fieldNames = ['spec', 'metadata', 'containers', 'template', 'selector', 'ports', 'volumes', 'rules', 'data', 'subsets', 'endpoints',
  'jobTemplate', 'strategy', 'updateStrategy', 'resources', 'limits', 'requests', 'env', 'http', 'paths', 'backend', 'roleRef', 'subjects',
  'labels', 'annotations', 'ownerReferences', 'finalizers', 'matchExpressions', 'matchLabels', 'hard', 'metrics', 'behavior', 'tls',
  'initContainers', 'volumeMounts', 'livenessProbe', 'httpGet', 'port', 'type', 'schedule', 'name', 'namespace', 'value', 'addressType'];
const deep = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.dictionary(fc.constantFrom(...fieldNames), tie('node'), { maxKeys: 4 }),
    fc.array(tie('node'), { maxLength: 3 })),
})).node;

test('validateObject never throws on arbitrary JSON for every kind', () => {
  fc.assert(fc.property(fc.constantFrom(...RESOURCES), fc.jsonValue(), deep, deep, (r, anyJson, spec, meta) => {
    for (const o of [anyJson, { metadata: meta, spec }, { metadata: { name: 'x', namespace: 'd' }, spec, data: spec, rules: spec, subsets: spec, endpoints: spec, ports: spec, roleRef: spec }]) {
      const causes = validateObject(r, o as KObject);
      assert.ok(Array.isArray(causes));
      assert.ok(!internal(causes), JSON.stringify(causes));
      const upd = validateObject(r, o as KObject, { metadata: meta, spec: anyJson } as KObject);
      assert.ok(!internal(upd), JSON.stringify(upd));
    }
  }), { numRuns: 400 });
});

test('defaults then validation never throw either', () => {
  fc.assert(fc.property(fc.constantFrom(...RESOURCES), deep, (r, spec) => {
    const o = { metadata: { name: 'x', namespace: 'd', uid: 'u' }, spec } as KObject;
    applyDefaults(r, o);
    assert.ok(!internal(validateObject(r, o)));
  }), { numRuns: 300 });
});
