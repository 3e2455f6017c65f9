/**
 * The native container shim (native/shim/skiff-shim.c): the runtime conformance suite with it, and its own contract
 * (CRI log records, rotation, exit codes, attach framing, signals, start errors, footprint). The C source is
 * compiled here into a temp dir, so the test checks the source as it is (not a stale dist/ binary); without a C
 * compiler the whole file skips loudly.
 *
 * process-runtime.test.ts runs the suite with the runtime's default shim (native when dist/native/skiff-shim was
 * built); when that default is native, this file also runs the suite with the Node shim, so both are covered.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { RUNTIME_TESTS, runRuntimeConformance, waitForLog, waitForState } from '../conformance.js';
import { ProcessRuntime, type ProcessRuntimeOptions } from './process-runtime.js';
import { isAlive } from './proc.js';
import { FRAME } from './shim-source.js';
import { compileNativeShim } from './testing-shim.js';

const shim = compileNativeShim('native');
const work = shim.work;
const binary: string | undefined = shim.binary;
const noBinary = shim.skip ?? '';
if (noBinary) console.warn(`SKIP (native shim): ${noBinary}`);

const cgroupRoot = `skiff-ntest-${process.pid}-${randomBytes(3).toString('hex')}`;

function conformance(shim: 'native' | 'node'): void {
  const opts: Partial<ProcessRuntimeOptions> = shim === 'native' ? { shim, shimBinary: binary } : { shim };
  const probeDir = join(work, `probe-${shim}`);
  const caps = new ProcessRuntime({ stateDir: probeDir, cgroupRoot, ...opts }).capabilities;
  const skip: { reason: string; tests: string[] }[] = [];
  if (!caps.namespaces) skip.push({ reason: `NEEDS ROOT + unshare/nsenter: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.sharedNetwork] });
  if (!caps.mounts) skip.push({ reason: `NEEDS ROOT (mount namespaces): ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.mounts] });
  if (!caps.cgroups || !caps.cgroupControllers.includes('memory')) skip.push({ reason: `NEEDS ROOT + a memory cgroup: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.oom] });
  if (!caps.cgroups || !caps.cgroupControllers.includes('pids')) skip.push({ reason: `NEEDS ROOT + pids cgroup: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.pids] });
  if (!caps.runAsUser) skip.push({ reason: `NEEDS ROOT: ${caps.notes.join('; ')}`, tests: [RUNTIME_TESTS.runAsUser] });
  for (const s of skip) console.warn(`SKIP (process runtime, ${shim} shim): ${s.tests.join(', ')}: ${s.reason}`);
  runRuntimeConformance({
    name: `process, ${shim} shim (${caps.root ? 'root' : 'non-root'})`,
    newRuntime: async (stateDir) => new ProcessRuntime({ stateDir, cgroupRoot, ...opts }),
    cleanup: async (rt) => (rt as ProcessRuntime).purge(),
    skip,
  });
}

if (binary) {
  conformance('native');
  const defaultShim = new ProcessRuntime({ stateDir: join(work, 'probe-default'), cgroupRoot }).capabilities.shim;
  if (defaultShim === 'native') conformance('node');
}

interface Env {
  rt: ProcessRuntime;
  dir: string;
  sandbox: string;
  run(name: string, command: string[], extra?: Record<string, unknown>): Promise<string>;
  file(id: string, name: string): string;
}

async function withRuntime(fn: (e: Env) => Promise<void>, opts: Partial<ProcessRuntimeOptions> = {}): Promise<void> {
  const dir = realpathSync(mkdtempSync(join(work, 't-')));
  const rt = new ProcessRuntime({ stateDir: join(dir, 'state'), cgroupRoot, shim: 'native', shimBinary: binary, ...opts });
  assert.equal(rt.capabilities.shim, 'native');
  try {
    const uid = randomBytes(6).toString('hex');
    const sandbox = await rt.runPodSandbox({ metadata: { name: `n-${uid}`, namespace: 'd', uid }, logDirectory: join(dir, 'logs') });
    await fn({
      rt,
      dir,
      sandbox,
      run: async (name, command, extra = {}) => {
        const id = await rt.createContainer(sandbox, { metadata: { name }, command, logPath: `${name}/0.log`, ...extra });
        await rt.startContainer(id);
        return id;
      },
      file: (id, name) => join(dir, 'state', 'containers', id, name),
    });
  } finally {
    await rt.purge();
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw CRI records of a log file: [stream, P|F, content]. */
function records(text: string): [string, string, string][] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([PF]) (.*)$/s.exec(l);
      assert.ok(m, `not a CRI record: ${l.slice(0, 120)}`);
      return [m[1]!, m[2]!, m[3]!];
    });
}

/** Reads frames from an attach socket until it closes. */
function readFrames(sock: net.Socket): Promise<{ type: number; payload: Buffer }[]> {
  return new Promise((resolve) => {
    const frames: { type: number; payload: Buffer }[] = [];
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        frames.push({ type: buf[0]!, payload: buf.subarray(5, 5 + len) });
        buf = buf.subarray(5 + len);
      }
    });
    sock.on('close', () => resolve(frames));
  });
}

const frame = (type: number, payload: string) => {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
};

const skipNative = binary ? { timeout: 30000 } : { skip: noBinary };

describe('native shim', () => {
  test('log: one F record per line, P records per 16 KiB of a longer one', skipNative, () =>
    withRuntime(async ({ rt, run }) => {
      const gen = (n: number, ch: string) => `head -c ${n} /dev/zero | tr '\\0' ${ch}`;
      const id = await run('lines', ['/bin/sh', '-c', `${gen(16384, 'a')}; echo; ${gen(16385, 'b')}; echo; echo short; ${gen(40000, 'c')}`]);
      const st = await waitForState(rt, id);
      assert.equal(st.exitCode, 0);
      const recs = records(readFileSync(st.logPath, 'utf8'));
      assert.deepEqual(
        recs.map(([s, pf, c]) => `${s} ${pf} ${c[0] ?? ''}${c.length}`),
        ['stdout F a16384', 'stdout P b16384', 'stdout F b1', 'stdout F s5', 'stdout P c16384', 'stdout P c16384', 'stdout F c7232'],
      );
    }),
  );

  test('log: size rotation keeps logMaxFiles files and the newest lines', skipNative, () =>
    withRuntime(
      async ({ rt, run }) => {
        const id = await run('rot', ['/bin/sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo "line-$i-0123456789012345678901234567890123456789"; i=$((i+1)); done']);
        const st = await waitForState(rt, id);
        assert.equal(st.exitCode, 0);
        const dir = join(st.logPath, '..');
        const files = readdirSync(dir).sort();
        assert.ok(files.length <= 3 && files.length >= 2, `files kept: ${files.join(', ')}`);
        assert.ok(files.includes('0.log'));
        for (const f of files) assert.match(f, /^0\.log(\.\d{8}-\d{6}(\.\d+)?)?$/);
        const current = records(readFileSync(st.logPath, 'utf8'));
        assert.match(current.at(-1)![2], /^line-299-/);
        assert.ok(readFileSync(st.logPath).length < 4096 + 200, 'the current file stays near logMaxBytes');
      },
      { logMaxBytes: 4096, logMaxFiles: 3 },
    ),
  );

  test('exit codes: the exit status, 128+signal with its name when signalled (SIGKILL → 137)', skipNative, () =>
    withRuntime(async ({ rt, run, file }) => {
      const ok = await run('ok', ['/bin/sh', '-c', 'exit 0']);
      const three = await run('three', ['/bin/sh', '-c', 'exit 3']);
      const killed = await run('killed', ['/bin/sh', '-c', 'kill -KILL $$']);
      const termed = await run('termed', ['/bin/sh', '-c', 'kill -TERM $$']);
      assert.equal((await waitForState(rt, ok)).exitCode, 0);
      assert.equal((await waitForState(rt, three)).exitCode, 3);
      assert.equal((await waitForState(rt, killed)).exitCode, 137);
      assert.equal((await waitForState(rt, termed)).exitCode, 143);
      const exit = (id: string) => JSON.parse(readFileSync(file(id, 'exit.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual({ ...exit(killed), finishedAt: 0 }, { exitCode: 137, signal: 'SIGKILL', finishedAt: 0, oomKilled: false });
      assert.equal(exit(termed).signal, 'SIGTERM');
      assert.equal(exit(three).signal, null);
      assert.match(String(exit(ok).finishedAt), /^\d{19}$/);
    }),
  );

  test('attach: framed stdin to the container, stdout to every client, then the exit frame', skipNative, () =>
    withRuntime(async ({ rt, dir, run }) => {
      const id = await run('cat', ['/bin/sh', '-c', 'cat; echo bye >&2'], { stdin: true });
      const sockPath = join(dir, 'state', 'sock', `${id.slice(0, 24)}.sock`);
      const connect = () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(sockPath);
          s.once('connect', () => resolve(s)).once('error', reject);
        });
      const a = await connect();
      const b = await connect();
      const fa = readFrames(a);
      const fb = readFrames(b);
      await new Promise((r) => setTimeout(r, 50)); // both accepted before output starts
      // Frames of one client are applied in order (stdin bytes, then the close); the other client only listens.
      a.write(Buffer.concat([frame(FRAME.STDIN, 'one\n'), frame(FRAME.STDIN, 'two\n'), frame(FRAME.STDIN_CLOSE, '')]));
      for (const frames of [await fa, await fb]) {
        const out = Buffer.concat(frames.filter((f) => f.type === FRAME.STDOUT).map((f) => f.payload)).toString();
        const err = Buffer.concat(frames.filter((f) => f.type === FRAME.STDERR).map((f) => f.payload)).toString();
        assert.equal(out, 'one\ntwo\n');
        assert.equal(err, 'bye\n');
        assert.deepEqual(frames.at(-1), { type: FRAME.EXIT, payload: Buffer.from('0') });
      }
      assert.equal((await waitForState(rt, id)).exitCode, 0);
      // The shim unlinks the socket once its last client closed, just after exit.json: allow it that moment.
      for (let i = 0; i < 100 && existsSync(sockPath); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(!existsSync(sockPath), 'the socket is removed on exit');
    }),
  );

  test('the shim ignores SIGTERM and SIGKILLs what the main process left behind', skipNative, () =>
    withRuntime(async ({ rt, run, file }) => {
      const id = await run('leaver', ['/bin/sh', '-c', 'sleep 300 & echo "bg $!"; read x; echo done'], { stdin: true });
      const logPath = (await rt.containerStatus(id)).logPath;
      const bg = Number(/bg (\d+)/.exec(await waitForLog(logPath, /bg \d+/))![1]);
      const started = JSON.parse(readFileSync(file(id, 'started.json'), 'utf8')) as { shimPid: number; pid: number };
      process.kill(started.shimPid, 'SIGTERM');
      process.kill(started.shimPid, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(isAlive(started.shimPid), 'shim survives SIGTERM/SIGHUP');
      assert.equal((await rt.containerStatus(id)).state, 'CONTAINER_RUNNING');
      const s = await rt.attach(id, { stdin: true });
      s.stdin!.end('go\n');
      assert.equal((await waitForState(rt, id)).exitCode, 0);
      for (let i = 0; i < 100 && isAlive(bg); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(!isAlive(bg), 'the background sleep was killed with the container');
      s.close();
    }),
  );

  test('a setup failure inside the shim is a StartError with exit code 128', skipNative, () =>
    withRuntime(async ({ rt, dir, sandbox }) => {
      const notADir = join(dir, 'file');
      writeFileSync(notADir, '');
      const id = await rt.createContainer(sandbox, { metadata: { name: 'bad' }, command: ['true'], workingDir: notADir, logPath: 'bad/0.log' });
      await assert.rejects(rt.startContainer(id), /chdir to cwd .* failed: Not a directory/);
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'CONTAINER_EXITED');
      assert.equal(st.reason, 'StartError');
      assert.equal(st.exitCode, 128);
      assert.match(readFileSync(st.logPath, 'utf8'), /stderr F skiff-shim: chdir/);
    }),
  );

  test('footprint: a running shim stays under 8 MB RSS', skipNative, () =>
    withRuntime(async ({ run, file }) => {
      const id = await run('idle', ['sleep', '30']);
      const { shimPid } = JSON.parse(readFileSync(file(id, 'started.json'), 'utf8')) as { shimPid: number };
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${shimPid}/status`, 'utf8'))![1]);
      assert.ok(kb < 8 * 1024, `shim RSS ${kb} kB`);
    }),
  );
});
