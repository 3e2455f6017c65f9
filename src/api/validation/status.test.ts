import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateStatusUpdate } from './index.js';
import { RESOURCES, findKind } from '../resources.js';
import type { KObject } from '../errors.js';

const meta = { name: 'x', namespace: 'default', uid: 'u' };

test('status updates: counters and enums', () => {
  const dep = findKind('apps', 'v1', 'Deployment')!;
  const old: KObject = { metadata: meta, spec: {} };
  assert.deepEqual(validateStatusUpdate(dep, { metadata: meta, status: { replicas: 3, readyReplicas: 2, availableReplicas: 2 } }, old), []);
  const bad = validateStatusUpdate(dep, { metadata: meta, status: { replicas: 1, readyReplicas: 2, updatedReplicas: -1 } }, old);
  assert.ok(bad.some((c) => c.field === 'status.readyReplicas' && c.message === 'Invalid value: 2: cannot be greater than status.replicas'));
  assert.ok(bad.some((c) => c.field === 'status.updatedReplicas' && c.reason === 'FieldValueInvalid'));
  const pod = findKind('', 'v1', 'Pod')!;
  const p = validateStatusUpdate(pod, { metadata: meta, status: { phase: 'Dancing', podIP: 'x' } }, old);
  assert.ok(p.some((c) => c.field === 'status.phase' && c.reason === 'FieldValueNotSupported'));
  assert.ok(p.some((c) => c.field === 'status.podIP' && c.reason === 'FieldValueInvalid'));
  const renamed = validateStatusUpdate(pod, { metadata: { ...meta, name: 'y' }, status: {} }, old);
  assert.ok(renamed.some((c) => c.field === 'metadata.name'));
});

test('validateStatusUpdate never throws', () => {
  fc.assert(fc.property(fc.constantFrom(...RESOURCES), fc.jsonValue(), fc.jsonValue(), (r, status, m) => {
    validateStatusUpdate(r, { metadata: m, status } as KObject, { metadata: meta } as KObject);
    validateStatusUpdate(r, status as KObject, m as KObject);
  }), { numRuns: 300 });
});
