/**
 * The native launcher (`skiff-shim launcher`, launcher.ts): starts processes in their own session that outlive it,
 * reports their first stdout line, holds gated starts until opened, and runs helpers to completion (exec). The C
 * source is compiled into a temp dir; without a C compiler the file skips loudly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Launcher } from './launcher.js';
import { isAlive } from './proc.js';
import { compileNativeShim } from './testing-shim.js';

const shim = compileNativeShim('launcher');
const work = shim.work;
const binary = shim.binary ?? '';
const skip: string | false = shim.skip ?? false;
if (skip) console.warn(`SKIP (native launcher): ${skip}`);
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const pgidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);

describe('native launcher', { skip }, () => {
  test('starts a process in its own session that outlives the launcher; first line, stderr file, cwd, env', async () => {
    const l = new Launcher(binary);
    const errFile = join(work, 'err.log');
    const p = await l.launch({ argv: ['/bin/sh', '-c', 'echo "hello $FOO $(pwd)"; echo oops >&2; exec sleep 30'], env: { ...ENV, FOO: 'bar' }, cwd: '/tmp', stderrPath: errFile });
    try {
      assert.equal(await p.firstLine, 'hello bar /tmp');
      assert.equal(pgidOf(p.pid), p.pid, 'its own process group (setsid)');
      l.close(); // the launcher goes (as with an agent kill -9): the process stays
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(isAlive(p.pid));
      assert.equal(readFileSync(errFile, 'utf8'), 'oops\n');
    } finally {
      process.kill(p.pid, 'SIGKILL');
    }
  });

  test('a start whose stdout closes without a line reports eof; a missing binary too', async () => {
    const l = new Launcher(binary);
    try {
      assert.equal(await (await l.launch({ argv: ['/bin/true'], env: ENV })).firstLine, undefined);
      assert.equal(await (await l.launch({ argv: ['/nonexistent/x'], env: ENV })).firstLine, undefined);
    } finally {
      l.close();
    }
  });

  test('gated starts wait for go; abort closes the gate', async () => {
    const l = new Launcher(binary);
    try {
      const a = await l.launch({ argv: ['/bin/sh', '-c', 'read x; echo "got $x"'], env: ENV, gate: true });
      let early = false;
      void a.firstLine.then(() => (early = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(early, false, 'nothing before the gate opens');
      a.open(true);
      assert.equal(await a.firstLine, 'got 1');
      const b = await l.launch({ argv: ['/bin/sh', '-c', 'if read x; then echo go; else echo aborted; fi'], env: ENV, gate: true });
      b.open(false);
      assert.equal(await b.firstLine, 'aborted');
    } finally {
      l.close();
    }
  });

  test('send writes data to a gated start and closes its gate (a pre-forked shim gets its spec path)', async () => {
    const l = new Launcher(binary);
    try {
      const a = await l.launch({ argv: ['/bin/sh', '-c', 'read x; read y || echo "got $x eof"'], env: ENV, gate: true, idle: true });
      a.send('spec-path\n');
      assert.equal(await a.firstLine, 'got spec-path eof');
    } finally {
      l.close();
    }
  });

  test('exec runs a helper to completion with stdin, stdout, stderr and the exit code; timeouts kill it', async () => {
    const l = new Launcher(binary);
    try {
      const big = 'x'.repeat(200_000); // more than a pipe holds, both ways
      const r = await l.exec(['/bin/sh', '-c', 'cat; echo err >&2; exit 3'], ENV, big);
      assert.equal(r.code, 3);
      assert.equal(r.signal, null);
      assert.equal(r.stdout.toString(), big);
      assert.equal(r.stderr.toString(), 'err\n');
      const all = await Promise.all([1, 2, 3].map((i) => l.exec(['/bin/sh', '-c', `echo $X${i}`], { ...ENV, [`X${i}`]: String(i * 7) })));
      assert.deepEqual(all.map((x) => x.stdout.toString()), ['7\n', '14\n', '21\n']);
      const t = await l.exec(['/bin/sleep', '30'], ENV, '', 100);
      assert.equal(t.code, null);
      assert.equal(t.signal, 'SIGKILL');
    } finally {
      l.close();
    }
  });
});
