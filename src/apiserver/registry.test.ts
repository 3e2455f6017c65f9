import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findResource } from '../api/resources.js';
import type { KObject } from '../api/errors.js';
import { Registry } from './registry.js';

/** The stored form as `encode` always built it (storage version, apiVersion/kind/metadata first, no resourceVersion). */
function reference(obj: KObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  const { apiVersion: _av, kind, metadata: _m, ...rest } = obj;
  return JSON.stringify({ apiVersion: 'v1', kind, metadata: meta, ...rest });
}

test('encode writes the same text with and without its no-copy shortcut', () => {
  const reg = new Registry(undefined as never);
  const info = findResource('', 'v1', 'pods')!;
  const objs: Array<Record<string, unknown>> = [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: { x: 'y' } }, spec: { containers: [] }, status: { phase: 'Pending' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', resourceVersion: '5', uid: 'u' }, spec: {} },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', resourceVersion: undefined }, spec: {} },
    { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' }, spec: {} },
    { spec: { a: 1 }, apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } },
    { apiVersion: 'v1', metadata: { name: 'a' }, kind: 'Pod', status: {} },
    { apiVersion: 'v1', kind: 'Pod', metadata: {}, 1: 'x', spec: { u: undefined, n: null } },
    { apiVersion: 'v1', kind: undefined, metadata: { name: 'a' } },
  ];
  for (const o of objs) assert.equal(reg.encode(info, o as KObject), reference(o as KObject), JSON.stringify(o));
});
