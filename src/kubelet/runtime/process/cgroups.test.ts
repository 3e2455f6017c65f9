import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { detectCgroups, sharesToWeight } from './cgroups.js';

test('cpu shares map to cgroup v2 weights as runc does', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(sharesToWeight(0), 0);
});

const d = detectCgroups();
const reason = 'driver' in d ? undefined : `NEEDS ROOT + a writable cgroup hierarchy: ${d.reason}`;
if (reason) console.warn(`SKIP cgroup driver test: ${reason}`);

test('a created cgroup carries the limits and is removed with its processes', { skip: reason }, async () => {
  if (!('driver' in d)) return;
  const drv = d.driver;
  const root = `skiff-cgtest-${randomBytes(4).toString('hex')}`;
  try {
    const h = await drv.create(`${root}/pod1/c1`, { memoryLimitInBytes: 64 * 1024 * 1024, pidsLimit: 20, cpuQuota: 50000, cpuPeriod: 100000, cpuShares: 512 });
    assert.ok(h.procsFiles.every((f) => existsSync(f)));
    const dir = (f: string) => f.slice(0, f.lastIndexOf('/'));
    const memDir = dir(h.oomFiles[0]!);
    if (drv.version === 2) {
      assert.equal(readFileSync(`${memDir}/memory.max`, 'utf8').trim(), String(64 * 1024 * 1024));
      assert.equal(readFileSync(`${memDir}/pids.max`, 'utf8').trim(), '20');
      assert.equal(readFileSync(`${memDir}/cpu.max`, 'utf8').trim(), '50000 100000');
    } else {
      assert.equal(readFileSync(`${memDir}/memory.limit_in_bytes`, 'utf8').trim(), String(64 * 1024 * 1024));
      const pidsDir = dir(h.procsFiles.find((f) => f.includes('/pids/'))!);
      assert.equal(readFileSync(`${pidsDir}/pids.max`, 'utf8').trim(), '20');
      const cpuDir = dir(h.procsFiles.find((f) => /\/cpu[,/]/.test(f))!);
      assert.equal(readFileSync(`${cpuDir}/cpu.cfs_quota_us`, 'utf8').trim(), '50000');
      assert.equal(readFileSync(`${cpuDir}/cpu.shares`, 'utf8').trim(), '512');
    }
    assert.match(readFileSync(h.oomFiles[0]!, 'utf8'), /oom_kill \d+/);
    const u = await drv.usage(h.path);
    assert.equal(typeof u.memoryUsageBytes, 'number');
  } finally {
    await drv.remove(root);
  }
  assert.ok(!existsSync(`/sys/fs/cgroup/memory/${root}`) && !existsSync(`/sys/fs/cgroup/${root}`));
});
