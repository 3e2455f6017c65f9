import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeJson } from './process-runtime.js';

test('state files are rewritten in place (same inode), padded when shorter, and stay parseable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-statefile-'));
  try {
    const p = join(dir, 'sandbox.json');
    writeJson(p, { id: 'a', netPending: true, note: 'x'.repeat(100) });
    const ino = statSync(p).ino;
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), { id: 'a', netPending: true, note: 'x'.repeat(100) });
    writeJson(p, { id: 'a', ip: '10.42.0.5' }); // shorter: padded with spaces
    assert.equal(statSync(p).ino, ino);
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), { id: 'a', ip: '10.42.0.5' });
    writeJson(p, { id: 'a', ip: '10.42.0.5', stopped: true, more: 'y'.repeat(300) }); // longer: grows in place
    assert.equal(statSync(p).ino, ino);
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), { id: 'a', ip: '10.42.0.5', stopped: true, more: 'y'.repeat(300) });
    const big = { id: 'a', blob: 'z'.repeat(10000) }; // over a page: tmp + rename (a new inode)
    writeJson(p, big);
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), big);
    writeJson(p, { id: 'b' }); // the file is over a page now: still the atomic way, and exact
    assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), { id: 'b' });
    assert.deepEqual(readdirSync(dir), ['sandbox.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isAlive with a start time: alive while it runs, false once killed (zombie or reaped) or for another start time', async () => {
  const { spawn } = await import('node:child_process');
  const { isAlive, pidStartTime } = await import('./proc.js');
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = c.pid!;
  const start = pidStartTime(pid);
  assert.ok(start);
  assert.equal(isAlive(pid, start), true);
  assert.equal(isAlive(pid, start), true); // the cached fd path
  assert.equal(isAlive(pid, `${start}1`), false);
  c.kill('SIGKILL');
  for (let i = 0; i < 200 && isAlive(pid, start); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(isAlive(pid, start), false);
  await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
  assert.equal(isAlive(pid, start), false);
});
