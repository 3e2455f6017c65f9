import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageBinaryName, lookPath, resolveImageOnHost } from './image.js';

test('the executable name is the last path segment without tag or digest', () => {
  assert.equal(imageBinaryName('docker.io/library/python:3.11'), 'python');
  assert.equal(imageBinaryName('python'), 'python');
  assert.equal(imageBinaryName('registry:5000/team/app:1.0'), 'app');
  assert.equal(imageBinaryName('registry:5000/team/app'), 'app');
  assert.equal(imageBinaryName('ghcr.io/x/node@sha256:0123'), 'node');
  assert.equal(imageBinaryName('ghcr.io/x/node:20@sha256:0123'), 'node');
});

test('lookPath searches PATH and accepts paths with a slash', () => {
  assert.equal(lookPath('sh', '/nonexistent:/bin'), '/bin/sh');
  assert.equal(lookPath('/bin/sh', ''), '/bin/sh');
  assert.equal(lookPath('sh', '/nonexistent'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-img-'));
  try {
    writeFileSync(join(dir, 'plain'), 'x', { mode: 0o644 });
    assert.equal(lookPath('plain', dir), undefined, 'a non-executable file is not a command');
    assert.equal(lookPath(join(dir, 'plain'), ''), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(lookPath('', '/bin'), undefined);
});

test('resolveImageOnHost', () => {
  assert.equal(resolveImageOnHost('docker.io/library/sh:latest', '/bin'), '/bin/sh');
  assert.equal(resolveImageOnHost('docker.io/library/no-such-skiff-binary:1', '/bin'), undefined);
  assert.equal(resolveImageOnHost('docker.io/library/..', '/bin'), undefined);
});
