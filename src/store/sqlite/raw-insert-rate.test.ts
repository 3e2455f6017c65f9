import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureRawInsertRate } from './raw-insert-rate.js';

test('measureRawInsertRate reports positive rates and cleans up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-raw-rate-'));
  try {
    const r = measureRawInsertRate(dir, 500);
    assert.ok(r.singlePerSec > 0 && Number.isFinite(r.singlePerSec));
    assert.ok(r.batchedPerSec > 0 && Number.isFinite(r.batchedPerSec));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
