/**
 * The runtime contract as executable tests, in the spirit of the CRI's critest (cri-tools validation suite): every
 * RuntimeService implementation (the process runtime now, a containerd CRI client later) runs the same suite, so the
 * kubelet's pod workers can rely on one behaviour for lifecycle, exit codes and reasons, CRI-format logs, stop
 * semantics (SIGTERM → timeout → SIGKILL), exec/attach/port-forward, resource limits and adoption across restarts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseCriLog, parseCriLogLine } from './cri-log.js';
import {
  ExecTimeoutError,
  ImagePullError,
  NotFoundError,
  type ContainerConfig,
  type ContainerState,
  type ContainerStatus,
  type PodSandboxConfig,
  type RuntimeService,
} from './types.js';

/** Options for runRuntimeConformance. */
export interface RuntimeConformanceOptions {
  /** Suite name shown by the test runner. */
  name: string;
  /** A runtime on `stateDir`; called twice with the same directory by the adoption test. */
  newRuntime: (stateDir: string) => Promise<RuntimeService>;
  /** Called after each test (after every sandbox was removed) to release what the runtime left (e.g. cgroups). */
  cleanup?: (runtime: RuntimeService, stateDir: string) => Promise<void>;
  /** Tests an implementation or host legitimately cannot pass, with the reason shown as the skip message. */
  skip?: { reason: string; tests: string[] }[];
}

/** Names of the conformance tests (for `skip`). */
export const RUNTIME_TESTS = {
  sandboxLifecycle: 'sandbox lifecycle: run, status, list, stop, remove',
  exitCodes: 'a container that exits reports exit codes 0 and 3 with reasons',
  logs: 'stdout and stderr are logged in CRI format with timestamps',
  envAndWorkdir: 'env and workingDir are applied',
  sigterm: 'stop delivers SIGTERM and a handling container exits by itself',
  sigkill: 'stop escalates to SIGKILL after the timeout',
  exec: 'exec streams stdin/stdout/stderr and returns the exit code',
  execSync: 'execSync captures output and honours its timeout',
  attach: 'attach reaches the main process stdin and stdout',
  portForward: 'portForward connects to a port inside the pod',
  reopenLog: 'reopenContainerLog switches to a new log file',
  sharedNetwork: 'containers of a pod share a network namespace that is not the host one',
  mounts: 'mounts are visible at containerPath and readonly is enforced',
  oom: 'exceeding the memory limit gives OOMKilled and exit code 137',
  pids: 'the pids limit stops fork bombs',
  runAsUser: 'runAsUser and runAsGroup are applied',
  adoption: 'a new runtime on the same state adopts running containers and sees their exit codes',
  image: 'resolveImage maps an image to a host executable and a missing one gives ErrImagePull',
} as const;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until the container reaches `state` (default EXITED) and returns its status. */
export async function waitForState(
  rt: RuntimeService,
  id: string,
  state: ContainerState = 'CONTAINER_EXITED',
  timeoutMs = 10000,
): Promise<ContainerStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await rt.containerStatus(id);
    if (st.state === state) return st;
    if (Date.now() > deadline) throw new Error(`container ${st.metadata.name} is ${st.state}, wanted ${state} (${JSON.stringify(st)})`);
    await sleep(20);
  }
}

/** Polls a log file until its parsed content matches `re`; returns the whole text. */
export async function waitForLog(path: string, re: RegExp, timeoutMs = 10000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      /* not yet */
    }
    if (re.test(parseCriLog(text).map((r) => r.content).join('\n'))) return text;
    if (Date.now() > deadline) throw new Error(`log ${path} never matched ${re}; it holds:\n${text}`);
    await sleep(20);
  }
}

async function readAll(s: NodeJS.ReadableStream | null): Promise<string> {
  if (!s) return '';
  let out = '';
  for await (const d of s) out += d.toString();
  return out;
}

interface Ctx {
  rt: RuntimeService;
  dir: string;
  /** A fresh sandbox with a log directory under the test dir. */
  sandbox(extra?: Partial<PodSandboxConfig>): Promise<string>;
  /** create + start; returns the container id. */
  run(sandboxId: string, cfg: Partial<ContainerConfig> & { name: string }): Promise<string>;
  logOf(id: string): Promise<string>;
}

const SH = '/bin/sh';

/** Defines the conformance tests (node:test) for one runtime; call it at the top level of a *.test.ts file. */
export function runRuntimeConformance(opts: RuntimeConformanceOptions): void {
  const skipped = new Map<string, string>();
  for (const s of opts.skip ?? []) for (const t of s.tests) skipped.set(t, s.reason);

  const it = (name: string, fn: (c: Ctx) => Promise<void>) => {
    const reason = skipped.get(name);
    test(name, reason ? { skip: reason } : { timeout: 30000 }, async () => {
      const dir = realpathSync(mkdtempSync(join(tmpdir(), 'skiff-rtc-')));
      let rt = await opts.newRuntime(join(dir, 'state'));
      const ctx: Ctx = {
        get rt() {
          return rt;
        },
        set rt(v) {
          rt = v;
        },
        dir,
        sandbox: async (extra = {}) => {
          const uid = randomBytes(8).toString('hex');
          const name = `pod-${uid.slice(0, 6)}`;
          return rt.runPodSandbox({
            metadata: { name, namespace: 'default', uid },
            hostname: name,
            logDirectory: join(dir, 'logs', `default_${name}_${uid}`),
            ...extra,
          });
        },
        run: async (sb, cfg) => {
          const id = await rt.createContainer(sb, { metadata: { name: cfg.name }, logPath: `${cfg.name}/0.log`, ...cfg });
          await rt.startContainer(id);
          return id;
        },
        logOf: async (id) => {
          const p = (await rt.containerStatus(id)).logPath;
          return existsSync(p) ? readFileSync(p, 'utf8') : '';
        },
      } as Ctx;
      try {
        await fn(ctx);
      } finally {
        for (const s of await rt.listPodSandbox()) await rt.removePodSandbox(s.id);
        await opts.cleanup?.(rt, join(dir, 'state'));
        await rt.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  };

  describe(`runtime conformance: ${opts.name}`, () => {
    it(RUNTIME_TESTS.sandboxLifecycle, async ({ rt, sandbox }) => {
      const id = await sandbox({ labels: { app: 'x' } });
      const st = await rt.podSandboxStatus(id);
      assert.equal(st.state, 'SANDBOX_READY');
      assert.equal(st.id, id);
      assert.ok(st.createdAt > 0);
      assert.deepEqual((await rt.listPodSandbox({ labelSelector: { app: 'x' } })).map((s) => s.id), [id]);
      assert.deepEqual(await rt.listPodSandbox({ labelSelector: { app: 'y' } }), []);
      await rt.stopPodSandbox(id);
      assert.equal((await rt.podSandboxStatus(id)).state, 'SANDBOX_NOTREADY');
      await rt.stopPodSandbox(id); // idempotent
      await rt.removePodSandbox(id);
      assert.deepEqual(await rt.listPodSandbox(), []);
      await assert.rejects(rt.podSandboxStatus(id), NotFoundError);
      await rt.removePodSandbox(id); // idempotent
    });

    it(RUNTIME_TESTS.exitCodes, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const ok = await run(sb, { name: 'ok', command: [SH, '-c', 'exit 0'] });
      const bad = await run(sb, { name: 'bad', command: [SH, '-c', 'exit 3'] });
      const a = await waitForState(rt, ok);
      const b = await waitForState(rt, bad);
      assert.equal(a.exitCode, 0);
      assert.equal(a.reason, 'Completed');
      assert.equal(b.exitCode, 3);
      assert.equal(b.reason, 'Error');
      for (const s of [a, b]) {
        assert.ok(s.createdAt > 0 && s.startedAt >= s.createdAt - 1e6 && s.finishedAt >= s.startedAt, JSON.stringify(s));
        assert.equal(s.pid, 0);
      }
      assert.deepEqual((await rt.listContainers({ podSandboxId: sb })).map((c) => c.metadata.name).sort(), ['bad', 'ok']);
      const created = await rt.createContainer(sb, { metadata: { name: 'later' }, command: [SH, '-c', 'true'] });
      assert.equal((await rt.containerStatus(created)).state, 'CONTAINER_CREATED');
      await rt.removeContainer(ok);
      await assert.rejects(rt.containerStatus(ok), NotFoundError);
      await rt.removeContainer(ok); // idempotent
    });

    it(RUNTIME_TESTS.logs, async ({ rt, sandbox, run, logOf }) => {
      const sb = await sandbox();
      const id = await run(sb, {
        name: 'logger',
        command: [SH, '-c', `echo out1; echo err1 >&2; head -c 20000 /dev/zero | tr '\\0' a; echo; printf tail`],
      });
      await waitForState(rt, id);
      const text = await logOf(id);
      const records = text.split('\n').filter(Boolean).map((l) => parseCriLogLine(l));
      assert.ok(records.every((r) => r !== undefined), text.slice(0, 500));
      assert.match(text.split('\n')[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (stdout|stderr) [FP] /);
      const lines = parseCriLog(text);
      const out = lines.filter((r) => r.stream === 'stdout').map((r) => r.content);
      const err = lines.filter((r) => r.stream === 'stderr').map((r) => r.content);
      assert.deepEqual(out, ['out1', 'a'.repeat(20000), 'tail']);
      assert.deepEqual(err, ['err1']);
      assert.ok(records.some((r) => r!.partial), 'a 20000-byte line is split into P records');
      const now = Date.now();
      for (const r of lines) assert.ok(Math.abs(now - r.timeMs) < 60000, `timestamp ${r.time} is current`);
    });

    it(RUNTIME_TESTS.envAndWorkdir, async ({ rt, dir, sandbox, run, logOf }) => {
      const sb = await sandbox();
      const wd = join(dir, 'work');
      mkdirSync(wd);
      const id = await run(sb, {
        name: 'env',
        command: [SH, '-c', 'echo "foo=$FOO"; echo "spaced=$SPACED"; pwd'],
        envs: [
          { key: 'FOO', value: 'bar' },
          { key: 'SPACED', value: "a b 'c'" },
        ],
        workingDir: wd,
      });
      assert.equal((await waitForState(rt, id)).exitCode, 0);
      const out = parseCriLog(await logOf(id)).map((r) => r.content);
      assert.deepEqual(out, ['foo=bar', "spaced=a b 'c'", wd]);
    });

    it(RUNTIME_TESTS.sigterm, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const id = await run(sb, {
        name: 'term',
        command: [SH, '-c', 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.05; done'],
      });
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'CONTAINER_RUNNING');
      assert.ok(st.pid > 0);
      await waitForLog(st.logPath, /ready/);
      const t0 = Date.now();
      await rt.stopContainer(id, 10);
      assert.ok(Date.now() - t0 < 5000, 'exited on SIGTERM well before the timeout');
      const done = await rt.containerStatus(id);
      assert.equal(done.state, 'CONTAINER_EXITED');
      assert.equal(done.exitCode, 0);
      await waitForLog(st.logPath, /got-term/);
      await rt.stopContainer(id, 10); // idempotent on an exited container
    });

    it(RUNTIME_TESTS.sigkill, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const id = await run(sb, { name: 'stubborn', command: [SH, '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'] });
      await waitForLog((await rt.containerStatus(id)).logPath, /ready/);
      const t0 = Date.now();
      await rt.stopContainer(id, 1);
      const took = Date.now() - t0;
      assert.ok(took >= 900, `waited the timeout (${took} ms)`);
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'CONTAINER_EXITED');
      assert.equal(st.exitCode, 137);
    });

    it(RUNTIME_TESTS.exec, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const id = await run(sb, { name: 'main', command: [SH, '-c', 'sleep 30'], envs: [{ key: 'WHO', value: 'ctr' }] });
      const s = await rt.exec(id, [SH, '-c', 'read x; echo "out:$x:$WHO"; echo err >&2; exit 4'], { stdin: true, stdout: true, stderr: true });
      s.stdin!.end('hi\n');
      const [out, err, code] = await Promise.all([readAll(s.stdout), readAll(s.stderr), s.exit]);
      assert.equal(out, 'out:hi:ctr\n');
      assert.equal(err, 'err\n');
      assert.equal(code, 4);
      const s2 = await rt.exec(id, ['true'], { stdout: true });
      assert.equal(await s2.exit, 0);
      await rt.stopContainer(id, 0);
      await assert.rejects(rt.exec(id, ['true'], {}), /not running/);
    });

    it(RUNTIME_TESTS.execSync, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const id = await run(sb, { name: 'main', command: [SH, '-c', 'sleep 30'] });
      const r = await rt.execSync(id, [SH, '-c', 'echo hello; echo oops >&2; exit 2'], 5);
      assert.equal(r.stdout.toString(), 'hello\n');
      assert.equal(r.stderr.toString(), 'oops\n');
      assert.equal(r.exitCode, 2);
      const t0 = Date.now();
      await assert.rejects(rt.execSync(id, ['sleep', '10'], 1), ExecTimeoutError);
      assert.ok(Date.now() - t0 < 4000);
    });

    it(RUNTIME_TESTS.attach, async ({ rt, sandbox, run, logOf }) => {
      const sb = await sandbox();
      const id = await run(sb, { name: 'cat', command: [SH, '-c', 'read x; echo "got:$x"; echo done >&2'], stdin: true, stdinOnce: true });
      const s = await rt.attach(id, { stdin: true, stdout: true, stderr: true });
      s.stdin!.end('hello\n');
      const [out, err, code] = await Promise.all([readAll(s.stdout), readAll(s.stderr), s.exit]);
      assert.equal(out, 'got:hello\n');
      assert.equal(err, 'done\n');
      assert.equal(code, 0);
      assert.match(await logOf(id), /stdout F got:hello/);
    });

    it(RUNTIME_TESTS.portForward, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const port = 20000 + Math.floor(Math.random() * 30000);
      const server = `require('net').createServer((s) => s.end('pong')).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
      const id = await run(sb, { name: 'srv', command: [process.execPath, '-e', server] });
      await waitForLog((await rt.containerStatus(id)).logPath, /listening/);
      const sock = await rt.portForward(sb, port);
      assert.equal(await readAll(sock), 'pong');
      sock.destroy();
    });

    it(RUNTIME_TESTS.reopenLog, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const id = await run(sb, { name: 'ticker', command: [SH, '-c', 'echo first; read x; echo second; sleep 30'], stdin: true });
      const path = (await rt.containerStatus(id)).logPath;
      await waitForLog(path, /first/);
      renameSync(path, `${path}.1`);
      await rt.reopenContainerLog(id);
      await sleep(100);
      const a = await rt.attach(id, { stdin: true });
      a.stdin!.write('go\n');
      await waitForLog(path, /second/);
      a.close();
      assert.doesNotMatch(readFileSync(path, 'utf8'), /first/);
      assert.match(readFileSync(`${path}.1`, 'utf8'), /first/);
    });

    it(RUNTIME_TESTS.sharedNetwork, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const st = await rt.podSandboxStatus(sb);
      assert.equal(st.namespaces.network, 'POD');
      const port = 20000 + Math.floor(Math.random() * 30000);
      const server = `require('net').createServer((s) => s.end('pong')).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
      const srv = await run(sb, { name: 'srv', command: [process.execPath, '-e', server] });
      await waitForLog((await rt.containerStatus(srv)).logPath, /listening/);
      const client = `require('net').connect(${port}, '127.0.0.1').on('data', (d) => console.log('got ' + d))`;
      const cli = await run(sb, { name: 'cli', command: [process.execPath, '-e', client] });
      assert.equal((await waitForState(rt, cli)).exitCode, 0);
      assert.match(await readFileSync((await rt.containerStatus(cli)).logPath, 'utf8'), /stdout F got pong/);
      // The port is not on the host's loopback, and the namespace differs from ours.
      await assert.rejects(
        new Promise((resolve, reject) => net.connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)),
        /ECONNREFUSED/,
      );
      const r = await rt.execSync(srv, ['readlink', '/proc/self/ns/net'], 5);
      assert.notEqual(r.stdout.toString().trim(), realpathOrLink('/proc/self/ns/net'));
      const h = await rt.execSync(srv, ['cat', '/proc/sys/kernel/hostname'], 5);
      assert.equal(h.stdout.toString().trim(), (await rt.podSandboxStatus(sb)).metadata.name);
    });

    it(RUNTIME_TESTS.mounts, async ({ rt, dir, sandbox, run, logOf }) => {
      const sb = await sandbox();
      const host = join(dir, 'hostdata');
      mkdirSync(host);
      writeFileSync(join(host, 'hello.txt'), 'hello from host\n');
      const top = `/tmp/skiff-mnt-${randomBytes(4).toString('hex')}`;
      const target = `${top}/data`;
      const id = await run(sb, {
        name: 'mnt',
        command: [SH, '-c', `cat ${target}/hello.txt; touch ${target}/x 2>/dev/null && echo writable || echo readonly`],
        mounts: [{ hostPath: host, containerPath: target, readonly: true }],
      });
      assert.equal((await waitForState(rt, id)).exitCode, 0);
      assert.deepEqual(parseCriLog(await logOf(id)).map((r) => r.content), ['hello from host', 'readonly']);
      assert.ok(!existsSync(join(host, 'x')));
      await rt.removeContainer(id);
      assert.ok(!existsSync(top), 'mountpoints created for the container are removed with it');
    });

    it(RUNTIME_TESTS.oom, async ({ rt, sandbox, run }) => {
      const sb = await sandbox();
      const id = await run(sb, {
        name: 'hog',
        // tail keeps the (newline-free) input in memory until it is killed.
        command: [SH, '-c', 'head -c 400000000 /dev/zero | tail'],
        linux: { resources: { memoryLimitInBytes: 32 * 1024 * 1024 } },
      });
      const st = await waitForState(rt, id, 'CONTAINER_EXITED', 20000);
      assert.equal(st.reason, 'OOMKilled');
      assert.equal(st.exitCode, 137);
    });

    it(RUNTIME_TESTS.pids, async ({ rt, sandbox, run, logOf }) => {
      const sb = await sandbox();
      const id = await run(sb, {
        name: 'forky',
        command: [SH, '-c', 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; echo spawned-all'],
        linux: { resources: { pidsLimit: 8 } },
      });
      const st = await waitForState(rt, id, 'CONTAINER_EXITED', 20000);
      const log = await logOf(id);
      assert.ok(st.exitCode !== 0 || /fork/i.test(log), `forks beyond the limit fail (exit ${st.exitCode}, log ${log})`);
      assert.doesNotMatch(log, /spawned-all/);
    });

    it(RUNTIME_TESTS.runAsUser, async ({ rt, sandbox, run, logOf }) => {
      const sb = await sandbox();
      const id = await run(sb, {
        name: 'user',
        command: [SH, '-c', 'id -u; id -g'],
        linux: { securityContext: { runAsUser: 1234, runAsGroup: 2345 } },
      });
      assert.equal((await waitForState(rt, id)).exitCode, 0);
      assert.deepEqual(parseCriLog(await logOf(id)).map((r) => r.content), ['1234', '2345']);
      const main = await run(sb, { name: 'sleeper', command: ['sleep', '30'], linux: { securityContext: { runAsUser: 1234 } } });
      const r = await rt.execSync(main, ['id', '-u'], 5);
      assert.equal(r.stdout.toString().trim(), '1234', 'exec runs as the container user');
    });

    it(RUNTIME_TESTS.adoption, async (ctx) => {
      const sb = await ctx.sandbox();
      const trigger = join(ctx.dir, 'trigger');
      const id = await ctx.run(sb, {
        name: 'long',
        command: [SH, '-c', `echo up; while [ ! -e ${trigger} ]; do sleep 0.05; done; exit 7`],
      });
      const before = await ctx.rt.containerStatus(id);
      assert.equal(before.state, 'CONTAINER_RUNNING');
      // The agent goes away (its runtime object with it); a new one starts on the same state.
      await ctx.rt.close();
      ctx.rt = await opts.newRuntime(join(ctx.dir, 'state'));
      const after = await ctx.rt.containerStatus(id);
      assert.equal(after.state, 'CONTAINER_RUNNING');
      assert.equal(after.pid, before.pid);
      assert.equal(after.startedAt, before.startedAt);
      assert.equal((await ctx.rt.podSandboxStatus(sb)).state, 'SANDBOX_READY');
      const r = await ctx.rt.execSync(id, ['echo', 'still-here'], 5);
      assert.equal(r.stdout.toString(), 'still-here\n');
      writeFileSync(trigger, '');
      const done = await waitForState(ctx.rt, id);
      assert.equal(done.exitCode, 7);
      assert.equal(done.reason, 'Error');
      assert.match(await ctx.logOf(id), /stdout F up/);
    });

    it(RUNTIME_TESTS.image, async ({ rt, sandbox }) => {
      const sh = await rt.resolveImage('docker.io/library/sh:latest');
      assert.ok(sh && sh.endsWith('/sh'), `sh resolves to a host path (${sh})`);
      assert.equal(await rt.resolveImage('sh'), sh);
      assert.ok(await rt.resolveImage('registry.local:5000/tools/sleep@sha256:abc'));
      assert.equal(await rt.resolveImage('docker.io/library/no-such-binary-skiff:1.0'), undefined);
      const sb = await sandbox();
      const err = await rt
        .createContainer(sb, { metadata: { name: 'x' }, image: 'docker.io/library/no-such-binary-skiff:1.0' })
        .then(() => assert.fail('expected ImagePullError'), (e: unknown) => e);
      assert.ok(err instanceof ImagePullError);
      assert.equal(err.reason, 'ErrImagePull');
      assert.match(err.message, /no-such-binary-skiff/);
      const id = await rt.createContainer(sb, { metadata: { name: 'img' }, image: 'library/sh:5', args: ['-c', 'exit 5'] });
      await rt.startContainer(id);
      assert.equal((await waitForState(rt, id)).exitCode, 5);
    });
  });
}

function realpathOrLink(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}
