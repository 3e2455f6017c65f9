/**
 * The per-container shim of the process runtime, in the role of containerd-shim / Nomad's executor: a tiny Node
 * program (CommonJS, no dependencies) that the agent starts detached, so containers outlive an agent crash. It
 *  - spawns the container's process (its own process group) and reports `{pid, start time}` in `started.json`;
 *  - owns the container's stdout/stderr pipes and writes them to the log in CRI format (`<RFC3339Nano> stdout F …`,
 *    `P` records for lines over 16 KiB, as containerd does), rotating by size and reopening the file on SIGUSR2
 *    (the kubelet's ReopenContainerLog);
 *  - serves attach (stdin / stdout / stderr) on a unix socket with a small framed protocol;
 *  - ignores SIGTERM/SIGINT/SIGHUP (the agent signals the container's process group directly), and when the main
 *    process exits it SIGKILLs what is left of the container (process group and cgroup, like runc when a container's
 *    init dies) and writes `exit.json` `{exitCode (128+signal when signalled), signal, finishedAt, oomKilled}`, so
 *    an agent that restarted — and is not the container's parent — still learns the exit code.
 *
 * The source is embedded as a string and written to the state directory at runtime start, so it works the same from
 * the TypeScript sources (tsx) and the compiled dist/ tree.
 *
 * This is the fallback: when `npm run build` could compile native/shim/skiff-shim.c (a C compiler exists), the runtime
 * uses that native shim instead — same files, framing and signals (FRAME below), ~1.6 MB instead of ~40 MB per
 * container and no JS engine boot per start; it also does the namespace/cgroup/mount/credential setup itself.
 */

/** Frame types on the attach socket: [type u8][length u32 BE][payload]. */
export const FRAME = {
  /** client → shim: bytes for the container's stdin. */
  STDIN: 0,
  /** shim → client: container stdout bytes. */
  STDOUT: 1,
  /** shim → client: container stderr bytes. */
  STDERR: 2,
  /** client → shim: close the container's stdin. */
  STDIN_CLOSE: 3,
  /** shim → client: the container exited; payload is the decimal exit code. */
  EXIT: 5,
} as const;

/** What the agent hands the shim (written as JSON; its path is the shim's only argument). */
export interface ShimSpec {
  /** Container state directory: `started.json` and `exit.json` are written there. */
  dir: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  stdin: boolean;
  /** Absolute CRI log path, or '' for none. */
  logPath: string;
  logMaxBytes: number;
  logMaxFiles: number;
  /** Unix socket for attach. */
  sockPath: string;
  /** Counter files whose `oom_kill` field rising means the container was OOM-killed. */
  oomFiles: string[];
  /** `cgroup.procs` files whose processes are killed once the main process exited. */
  cgroupProcs: string[];
}

/** The shim program (CommonJS). */
export const SHIM_SOURCE = String.raw`'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const { spawn } = require('child_process');
const { StringDecoder } = require('string_decoder');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
process.stdout.on('error', () => {});
process.on('uncaughtException', (e) => { try { process.stderr.write('skiff-shim: ' + (e && e.stack || e) + '\n'); } catch (e2) {} });
const MAX_LINE = 16 * 1024;
const base = BigInt(Date.now()) * 1000000n - process.hrtime.bigint();
const nowNs = () => base + process.hrtime.bigint();

function writeJson(name, obj) {
  const p = spec.dir + '/' + name;
  fs.writeFileSync(p + '.tmp', JSON.stringify(obj));
  fs.renameSync(p + '.tmp', p);
}
function startTicks(pid) {
  try {
    const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch (e) { return ''; }
}
function oomCount() {
  let n = 0;
  for (const f of spec.oomFiles) {
    try {
      const m = /(?:^|\n)oom_kill (\d+)/.exec(fs.readFileSync(f, 'utf8'));
      if (m) n += Number(m[1]);
    } catch (e) { /* cgroup gone */ }
  }
  return n;
}
function stamp(ns) {
  const d = new Date(Number(ns / 1000000n)).toISOString().slice(0, 19);
  return d + '.' + (ns % 1000000000n).toString().padStart(9, '0') + 'Z';
}

// ---- log file with size rotation ----
let logFd = -1;
let logSize = 0;
function openLog() {
  if (!spec.logPath) return;
  try {
    logFd = fs.openSync(spec.logPath, 'a', 0o640);
    logSize = fs.fstatSync(logFd).size;
  } catch (e) { logFd = -1; }
}
function rotate() {
  try { fs.closeSync(logFd); } catch (e) {}
  logFd = -1;
  const d = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let target = spec.logPath + '.' + d;
  for (let i = 1; fs.existsSync(target); i++) target = spec.logPath + '.' + d + '.' + i;
  try { fs.renameSync(spec.logPath, target); } catch (e) {}
  const dir = require('path').dirname(spec.logPath);
  const baseName = require('path').basename(spec.logPath) + '.';
  try {
    const old = fs.readdirSync(dir).filter((n) => n.startsWith(baseName)).sort();
    while (old.length > Math.max(0, spec.logMaxFiles - 1)) fs.rmSync(dir + '/' + old.shift(), { force: true });
  } catch (e) {}
  openLog();
}
function writeRecord(stream, partial, content) {
  if (logFd < 0) return;
  const buf = Buffer.from(stamp(nowNs()) + ' ' + stream + (partial ? ' P ' : ' F ') + content + '\n');
  try { fs.writeSync(logFd, buf); } catch (e) { return; }
  logSize += buf.length;
  if (spec.logMaxBytes > 0 && logSize >= spec.logMaxBytes) rotate();
}
openLog();
process.on('SIGUSR2', () => { try { fs.closeSync(logFd); } catch (e) {} logFd = -1; openLog(); });
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGPIPE']) process.on(s, () => {});

// ---- attach clients ----
const clients = new Set();
function frame(type, payload) {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}
function broadcast(type, payload) {
  if (clients.size === 0) return;
  const f = frame(type, payload);
  for (const c of clients) c.write(f);
}

const oomBefore = oomCount();
let child;
try {
  child = spawn(spec.argv[0], spec.argv.slice(1), {
    cwd: spec.cwd, env: spec.env, detached: true,
    uid: spec.uid, gid: spec.gid,
    stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
} catch (e) {
  child = null;
  fail(e);
}
function fail(e) {
  const message = String(e && e.message || e);
  writeRecord('stderr', false, 'skiff-shim: ' + message);
  writeJson('exit.json', { exitCode: 128, signal: null, finishedAt: String(nowNs()), oomKilled: false, reason: 'StartError', message });
  try { process.stdout.write(JSON.stringify({ ok: false, message }) + '\n'); } catch (e2) {}
  setTimeout(() => process.exit(0), 20);
}

if (child) {
  child.on('error', (e) => { if (!child.pid) fail(e); });
  child.on('spawn', () => {
    writeJson('started.json', { pid: child.pid, pidStart: startTicks(child.pid), startedAt: String(nowNs()), shimPid: process.pid, shimStart: startTicks(process.pid) });
    // Report only once attach is being served, so an attach right after start finds the socket.
    serve(() => { try { process.stdout.write(JSON.stringify({ ok: true, pid: child.pid }) + '\n'); process.stdout.end(); } catch (e) {} });
  });
  const pump = (stream, name, type) => {
    const dec = new StringDecoder('utf8');
    let rest = '';
    const emit = (text) => {
      rest += text;
      let i;
      while ((i = rest.indexOf('\n')) >= 0) {
        let line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        while (line.length > MAX_LINE) { writeRecord(name, true, line.slice(0, MAX_LINE)); line = line.slice(MAX_LINE); }
        writeRecord(name, false, line);
      }
      while (rest.length > MAX_LINE) { writeRecord(name, true, rest.slice(0, MAX_LINE)); rest = rest.slice(MAX_LINE); }
    };
    stream.on('data', (b) => { broadcast(type, b); emit(dec.write(b)); });
    stream.on('end', () => { emit(dec.end()); if (rest) writeRecord(name, false, rest); rest = ''; });
  };
  pump(child.stdout, 'stdout', 1);
  pump(child.stderr, 'stderr', 2);
  if (child.stdin) child.stdin.on('error', () => {});

  let exitInfo = null;
  child.on('exit', (code, signal) => {
    const finishedAt = nowNs();
    // Take down whatever the container left behind, as runc does when a container's init exits.
    try { process.kill(-child.pid, 'SIGKILL'); } catch (e) {}
    for (const f of spec.cgroupProcs) {
      try { for (const p of fs.readFileSync(f, 'utf8').split('\n')) if (p) try { process.kill(Number(p), 'SIGKILL'); } catch (e) {} } catch (e) {}
    }
    const exitCode = code !== null ? code : 128 + (os.constants.signals[signal] || 0);
    exitInfo = { exitCode, signal: signal || null, finishedAt: String(finishedAt) };
    const t = setTimeout(finish, 2000);
    child.on('close', () => { clearTimeout(t); finish(); });
  });
  let finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    // The kernel bumps oom_kill just before the victim dies; read it once the process is gone.
    const oomKilled = oomCount() > oomBefore;
    writeJson('exit.json', Object.assign(exitInfo, { oomKilled }));
    broadcast(5, Buffer.from(String(exitInfo.exitCode)));
    for (const c of clients) c.end();
    try { fs.rmSync(spec.sockPath, { force: true }); } catch (e) {}
    if (logFd >= 0) try { fs.closeSync(logFd); } catch (e) {}
    setTimeout(() => process.exit(0), 50);
  }
}

function serve(ready) {
  try { fs.rmSync(spec.sockPath, { force: true }); } catch (e) {}
  const srv = net.createServer((c) => {
    clients.add(c);
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        const type = buf[0];
        const payload = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        if (type === 0 && child.stdin && !child.stdin.destroyed) child.stdin.write(payload);
        else if (type === 3 && child.stdin) child.stdin.end();
      }
    });
    c.on('error', () => {});
    c.on('close', () => clients.delete(c));
  });
  srv.on('error', (e) => { process.stderr.write('skiff-shim: attach socket: ' + e.message + '\n'); ready(); });
  srv.listen(spec.sockPath, ready);
  srv.unref();
}
`;
