import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, SqliteBackend, newBackend } from './index.js';

test('newBackend parses storage URLs', () => {
  assert.ok(newBackend('memory://', '/data') instanceof MemoryBackend);
  const def = newBackend('sqlite://', '/data');
  assert.ok(def instanceof SqliteBackend);
  assert.equal(def.file, '/data/state.db');
  assert.equal((newBackend('sqlite:///var/lib/skiff/x.db', '/data') as SqliteBackend).file, '/var/lib/skiff/x.db');
  assert.equal((newBackend('sqlite://sub/y.db', '/data') as SqliteBackend).file, '/data/sub/y.db');
});

test('newBackend rejects other URLs clearly', () => {
  for (const url of ['etcd://localhost:2379', 'postgres://x', '', 'memory:', 'sqlite://x.db?_journal=WAL']) {
    assert.throws(() => newBackend(url, '/data'), /unsupported storage URL/);
  }
});
