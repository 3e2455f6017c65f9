import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectGpus } from './node-status.js';

/** Runs `fn` with PATH = only `dir` (plus /bin for the script's shell), restoring it after. */
function withPath<T>(dir: string, fn: () => T): T {
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:/bin:/usr/bin`;
  try {
    return fn();
  } finally {
    process.env.PATH = saved;
  }
}

function fakeNvidiaSmi(dir: string, script: string): void {
  const p = join(dir, 'nvidia-smi');
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
}

test('detectGpus: reads index and UUID from nvidia-smi --query-gpu=index,uuid --format=csv,noheader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-nvsmi-'));
  try {
    // Answers only the exact query the device plugin makes; anything else fails like an unknown option would.
    fakeNvidiaSmi(dir, [
      'if [ "$1" = "--query-gpu=index,uuid" ] && [ "$2" = "--format=csv,noheader" ]; then',
      '  printf "0, GPU-5a6b7c8d-0000-1111-2222-333344445555\\n1, GPU-9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff\\n"',
      'else echo "bad args: $*" >&2; exit 2; fi',
    ].join('\n'));
    assert.deepEqual(withPath(dir, () => detectGpus()), [
      { index: 0, uuid: 'GPU-5a6b7c8d-0000-1111-2222-333344445555' },
      { index: 1, uuid: 'GPU-9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('detectGpus: a failing nvidia-smi (no driver loaded) or none on PATH means no GPUs; --fake-gpus N gives N', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-nvsmi-'));
  try {
    assert.deepEqual(withPath(dir, () => detectGpus()), []);
    fakeNvidiaSmi(dir, 'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver."; exit 9');
    assert.deepEqual(withPath(dir, () => detectGpus()), []);
    assert.deepEqual(detectGpus(2).map((d) => d.index), [0, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
