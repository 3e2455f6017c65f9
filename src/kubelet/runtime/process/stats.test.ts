import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { detectCgroups } from './cgroups.js';
import {
  cgroupDirs,
  nodeMemoryFromMeminfo,
  pageSize,
  parseCgroupV1,
  parseCgroupV2,
  parseMeminfo,
  parseNodeCpu,
  parseProcStat,
  parseStatm,
  readCgroupUsage,
  readNodeUsage,
  readProcessTreeUsage,
} from './stats.js';

const tmp = mkdtempSync('/tmp/skiff-stats-test-');
after(() => rmSync(tmp, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): string {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const V2_CPU_STAT = 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n';
const V2_MEMORY_STAT = 'anon 3145728\nfile 8388608\nkernel 262144\nactive_file 1048576\ninactive_file 4194304\n';
const V1_MEMORY_STAT = 'cache 8388608\nrss 3145728\ninactive_file 1\ntotal_cache 8388608\ntotal_rss 3145728\ntotal_inactive_file 4194304\n';

const cases: Array<{ name: string; got: () => unknown; want: unknown }> = [
  {
    name: 'cgroup v2: usage_usec → ns, working set = memory.current − inactive_file, rss = anon',
    got: () => parseCgroupV2({ cpuStat: V2_CPU_STAT, memoryCurrent: '12582912\n', memoryStat: V2_MEMORY_STAT }),
    want: { cpuUsageNanos: 2_500_000_000, memoryUsageBytes: 12582912, workingSetBytes: 12582912 - 4194304, rssBytes: 3145728 },
  },
  {
    name: 'cgroup v2: working set never goes below zero',
    got: () => parseCgroupV2({ memoryCurrent: '100', memoryStat: 'inactive_file 4096\n' }),
    want: { memoryUsageBytes: 100, workingSetBytes: 0 },
  },
  {
    name: 'cgroup v2: no memory controller → cpu only',
    got: () => parseCgroupV2({ cpuStat: 'usage_usec 7\n' }),
    want: { cpuUsageNanos: 7000 },
  },
  {
    name: 'cgroup v1: cpuacct.usage in ns, working set uses total_inactive_file (not inactive_file)',
    got: () => parseCgroupV1({ cpuacctUsage: '123456789\n', memoryUsage: '12582912\n', memoryStat: V1_MEMORY_STAT }),
    want: { cpuUsageNanos: 123456789, memoryUsageBytes: 12582912, workingSetBytes: 12582912 - 4194304, rssBytes: 3145728 },
  },
  {
    name: 'cgroup v1: nothing readable → empty',
    got: () => parseCgroupV1({}),
    want: {},
  },
  {
    name: '/proc/<pid>/stat with spaces and parentheses in comm',
    got: () => parseProcStat('4242 (my (weird) cmd) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 50 7 3 20 0 1 0 1000 1234567 321 18446744073709551615'),
    want: { pid: 4242, ppid: 1, utime: 150, stime: 50, cutime: 7, cstime: 3, rssPages: 321 },
  },
  { name: 'statm resident pages', got: () => parseStatm('2000 321 100 10 0 500 0\n'), want: 321 },
  {
    name: '/proc/stat: node busy time excludes idle and iowait (ticks → ns)',
    got: () => parseNodeCpu('cpu  100 20 30 1000 50 5 5 2 0 0\ncpu0 50 10 15 500 25 2 3 1 0 0\nbtime 1700000000\n'),
    want: (100 + 20 + 30 + 5 + 5 + 2) * 10_000_000,
  },
  { name: '/proc/stat without a cpu line', got: () => parseNodeCpu('intr 1 2 3\n'), want: undefined },
  {
    name: '/proc/meminfo: usage = total − free, working set = usage − Inactive(file)',
    got: () => nodeMemoryFromMeminfo(parseMeminfo('MemTotal:       16384 kB\nMemFree:         4096 kB\nMemAvailable:    8192 kB\nInactive(file):  2048 kB\nHugePages_Total:       0\n')),
    want: { usageBytes: 12288 * 1024, workingSetBytes: 10240 * 1024, availableBytes: 6144 * 1024 },
  },
];

for (const c of cases) test(c.name, () => assert.deepEqual(c.got(), c.want));

test('readCgroupUsage reads a v2 directory and finds the v1 memory/cpuacct hierarchies by their files', async () => {
  const v2 = tree(join(tmp, 'v2'), { 'pod/c/cpu.stat': V2_CPU_STAT, 'pod/c/memory.current': '12582912', 'pod/c/memory.stat': V2_MEMORY_STAT });
  assert.deepEqual(await readCgroupUsage(2, cgroupDirs([join(v2, 'pod/c/cgroup.procs')])), {
    cpuUsageNanos: 2_500_000_000, memoryUsageBytes: 12582912, workingSetBytes: 8388608, rssBytes: 3145728,
  });
  const v1 = tree(join(tmp, 'v1'), {
    'pids/pod/c/pids.max': 'max',
    'cpu,cpuacct/pod/c/cpuacct.usage': '5000',
    'memory/pod/c/memory.usage_in_bytes': '8192',
    'memory/pod/c/memory.stat': 'total_inactive_file 4096\ntotal_rss 1024\n',
  });
  const dirs = ['pids', 'cpu,cpuacct', 'memory'].map((h) => join(v1, h, 'pod/c'));
  assert.deepEqual(await readCgroupUsage(1, dirs), { cpuUsageNanos: 5000, memoryUsageBytes: 8192, workingSetBytes: 4096, rssBytes: 1024 });
  assert.deepEqual(await readCgroupUsage(2, [join(tmp, 'absent')]), {});
});

test('readProcessTreeUsage sums a fake /proc process tree (children via task/<pid>/children)', async () => {
  const proc = tree(join(tmp, 'proc'), {
    'self/statm': '1000 100 0 0 0 0 0',
    'self/status': 'Name:\tnode\nVmRSS:\t     400 kB\n',
    '10/stat': '10 (sh) S 1 10 10 0 -1 0 0 0 0 0 100 20 5 5 20 0 1 0 1 1 30',
    '10/statm': '500 30 0 0 0 0 0',
    '10/task/10/children': '11 12',
    '11/stat': '11 (busy loop) R 10 10 10 0 -1 0 0 0 0 0 300 0 0 0 20 0 1 0 1 1 70',
    '11/statm': '500 70 0 0 0 0 0',
    '12/stat': '12 (gone) Z 10 10 10 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 0',
  });
  assert.equal(pageSize(proc), 4096);
  // 12 has no statm: its stat's rss field (0) is used.
  const u = await readProcessTreeUsage(10, proc);
  assert.deepEqual(u, { cpuUsageNanos: (130 + 300 + 2) * 10_000_000, memoryUsageBytes: 100 * 4096, workingSetBytes: 100 * 4096, rssBytes: 100 * 4096 });
  assert.equal(await readProcessTreeUsage(99, proc), undefined);
});

test('readNodeUsage on a fake /proc, and on the real one', async () => {
  const proc = tree(join(tmp, 'nodeproc'), {
    stat: 'cpu  10 0 10 100 0 0 0 0 0 0\nbtime 1700000000\n',
    meminfo: 'MemTotal: 2048 kB\nMemFree: 1024 kB\nInactive(file): 512 kB\n',
  });
  assert.deepEqual(await readNodeUsage(proc), { cpuUsageNanos: 200_000_000, memoryUsageBytes: 1024 * 1024, workingSetBytes: 512 * 1024, availableBytes: 1536 * 1024 });
  const real = await readNodeUsage();
  assert.ok(real.cpuUsageNanos! > 0 && real.workingSetBytes! > 0, JSON.stringify(real));
});

test('readProcessTreeUsage sees a real child process burn CPU and hold memory', async () => {
  // The child burns 200 ms of its own CPU time (not wall time: the machine may be loaded), then says so.
  const script = 'const b = Buffer.alloc(32 << 20, 1); const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };'
    + ' while (cpu() < 200000); process.stdout.write("ready\\n"); setTimeout(() => b, 60000);';
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('child did not get ready in 30 s')), 30000);
      child.stdout.on('data', () => { clearTimeout(t); resolve(); });
    });
    const u = await readProcessTreeUsage(child.pid!);
    assert.ok(u, 'child visible in /proc');
    assert.ok(u.cpuUsageNanos! >= 100_000_000, `cpu ${u.cpuUsageNanos}`);
    assert.ok(u.workingSetBytes! >= 32 << 20, `memory ${u.workingSetBytes}`);
  } finally {
    child.kill('SIGKILL');
  }
});

const cg = detectCgroups();
const noCgroup = 'driver' in cg ? false : `NEEDS ROOT + a writable cgroup hierarchy: ${cg.reason}`;
if (noCgroup) console.warn(`SKIP real-cgroup stats test: ${noCgroup}`);

test('readCgroupUsage on a real cgroup holding a busy process', { skip: noCgroup }, async () => {
  if (!('driver' in cg)) return;
  const rel = `skiff-statstest-${randomBytes(4).toString('hex')}/c`;
  const child = spawn('/bin/sh', ['-c', 'read x; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done; exec sleep 60'], { stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    const h = await cg.driver.create(rel);
    for (const f of h.procsFiles) writeFileSync(f, String(child.pid));
    child.stdin.write('go\n');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('busy loop did not finish in 60 s')), 60000);
      child.stdout.on('data', () => { clearTimeout(t); resolve(); });
    });
    const u = await readCgroupUsage(cg.driver.version, cgroupDirs(h.procsFiles));
    assert.ok(u.cpuUsageNanos! > 10_000_000, `cpu ${JSON.stringify(u)}`);
    assert.ok(u.workingSetBytes! > 0 && u.workingSetBytes! <= u.memoryUsageBytes!, `memory ${JSON.stringify(u)}`);
  } finally {
    child.kill('SIGKILL');
    await cg.driver.remove(rel.split('/')[0]!);
  }
});
