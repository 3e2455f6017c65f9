/**
 * Client of the native launcher (`skiff-shim launcher`, see native/shim/skiff-shim.c): one small long-lived process
 * that starts the runtime's shims and infra processes, so the large agent process never forks itself
 * (`child_process.spawn` from a process of the agent's size blocks its event loop for milliseconds per call under
 * load, which dominated pod start-up). Started processes are double-forked and setsid by the launcher: they are
 * nobody's children and survive an agent (and launcher) kill -9, as the shims must.
 *
 * Per start the launcher reports the pid, then the first line the process writes to stdout (the shim's handshake,
 * the infra process's "ok") or that stdout closed without one. A gated start keeps the process's stdin as a gate:
 * {@link Launched.open} writes one byte (go) or closes it (abort).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Logger } from '../../../client/log.js';

/** What to start. */
export interface LaunchSpec {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  /** File the process's stderr is appended to (default /dev/null). */
  stderrPath?: string;
  /** Keep stdin as a gate pipe (see {@link Launched.open}); otherwise stdin is /dev/null. */
  gate?: boolean;
  /**
   * Its first line may be far off (a pre-forked shim waits for its container): waiting for it does not keep the
   * agent's event loop alive.
   */
  idle?: boolean;
}

/** A started process. */
export interface Launched {
  pid: number;
  /** The first stdout line (without the newline); undefined when stdout closed without one (it exited/failed). */
  firstLine: Promise<string | undefined>;
  /** Gated starts: `true` lets it go on (one byte on its stdin), `false` closes the gate (it aborts). */
  open(go: boolean): void;
  /** Gated starts: writes `data` to its stdin and closes it (a pre-forked shim's spec path). */
  send(data: string): void;
}

/**
 * The same contract as {@link Launcher.launch}, by forking this process (`child_process.spawn`, detached): the
 * fallback when the native launcher is off or broken, so the runtime has one start path whichever starts the process.
 * Rejects when the process cannot be spawned at all.
 */
export function spawnDirect(spec: LaunchSpec): Promise<Launched> {
  const errFd = openSync(spec.stderrPath || '/dev/null', 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.argv[0]!, spec.argv.slice(1), { detached: true, stdio: [spec.gate ? 'pipe' : 'ignore', 'pipe', errFd], cwd: spec.cwd ?? '/', env: spec.env });
  } finally {
    closeSync(errFd);
  }
  child.stdin?.on('error', () => {}); // a process that died early is reported through firstLine
  if (spec.idle) {
    // Waiting for its first line must not keep this process alive (see LaunchSpec.idle).
    child.unref();
    for (const st of [child.stdin, child.stdout] as unknown as { unref?: () => void }[]) st?.unref?.();
  }
  return new Promise<Launched>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start ${spec.argv[0]}: ${e.message}`)));
    child.once('spawn', () => {
      const firstLine = new Promise<string | undefined>((res) => {
        let buf = '';
        const done = (line: string | undefined) => {
          child.stdout!.removeAllListeners('data');
          child.stdout!.destroy();
          child.unref();
          res(line);
        };
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const nl = buf.indexOf('\n');
          if (nl >= 0) done(buf.slice(0, nl));
        });
        child.stdout!.once('close', () => done(undefined));
      });
      resolve({
        pid: child.pid!,
        firstLine,
        open: (go) => {
          if (spec.gate) child.stdin?.end(go ? '1' : undefined);
        },
        send: (data) => {
          if (!spec.gate) return;
          if (spec.idle) {
            child.ref();
            for (const st of [child.stdin, child.stdout] as unknown as { ref?: () => void }[]) st?.ref?.();
          }
          child.stdin?.end(data);
        },
      });
    });
  });
}

/** The outcome of {@link Launcher.exec}. */
export interface ExecResult {
  /** Exit code, or null when killed by `signal`. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

interface Pending {
  /** Does not keep the event loop alive (LaunchSpec.idle). */
  idle?: boolean;
  pid?: (pid: number) => void;
  fail: (err: Error) => void;
  line?: (line: string | undefined) => void;
  done?: (r: ExecResult) => void;
}

function frame(tokens: (string | number)[]): Buffer {
  for (const t of tokens) if (String(t).includes('\0')) throw new Error('launcher: arguments cannot hold NUL bytes');
  const body = Buffer.from(tokens.map((t) => `${t}\0`).join(''));
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
}

/** The launcher process and its request/reply channel (started lazily, restarted if it dies). */
export class Launcher {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly binary: string,
    private readonly log?: Logger,
  ) {}

  private ensure(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.child.stdin?.writable) return this.child;
    const child = spawn(this.binary, ['launcher'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    this.buf = Buffer.alloc(0);
    child.stdout!.on('data', (d: Buffer) => this.onData(d));
    child.stdin!.on('error', () => {});
    const gone = (why: string) => {
      if (this.child === child) this.child = undefined;
      const err = new Error(`process launcher ${why}`);
      for (const p of this.pending.values()) p.fail(err);
      this.pending.clear();
      this.held = 0;
    };
    child.on('error', (e) => gone(`failed: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.pending.size) this.log?.warn({ code, signal }, 'process launcher exited with starts in flight');
      gone(`exited (${code ?? signal})`);
    });
    // The launcher must not keep the agent alive while idle; it exits by itself when the agent goes (EOF on stdin).
    this.hold(child, false);
    return child;
  }

  /** Keeps the event loop alive while replies are awaited (ref), not while idle (unref). */
  private hold(child: ChildProcess, on: boolean): void {
    const m = on ? 'ref' : 'unref';
    child[m]();
    for (const s of [child.stdin, child.stdout] as unknown as { ref?: () => void; unref?: () => void }[]) s?.[m]?.();
  }

  /** Pending replies that keep the event loop alive. */
  private held = 0;

  private addPending(id: number, child: ChildProcess, p: Pending): void {
    if (!p.idle && this.held++ === 0) this.hold(child, true);
    this.pending.set(id, p);
  }

  private settled(id: number): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (p && !p.idle && --this.held === 0 && this.child) this.hold(this.child, false);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let nl: number;
    while ((nl = this.buf.indexOf(10)) >= 0) {
      const line = this.buf.subarray(0, nl).toString();
      const m = /^(\d+) (pid|line|eof|error|done) ?(.*)$/s.exec(line);
      if (!m) {
        this.buf = this.buf.subarray(nl + 1);
        this.log?.warn({ line }, 'process launcher: unexpected reply');
        continue;
      }
      const id = Number(m[1]);
      if (m[2] === 'done') {
        // `ID done CODE SIGNAL OUTLEN ERRLEN` and then the output bytes.
        const [code, sig, outLen, errLen] = m[3]!.split(' ').map(Number) as [number, number, number, number];
        if (this.buf.length < nl + 1 + outLen + errLen) return; // the rest of the output is still coming
        const out = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + outLen));
        const err = Buffer.from(this.buf.subarray(nl + 1 + outLen, nl + 1 + outLen + errLen));
        this.buf = this.buf.subarray(nl + 1 + outLen + errLen);
        const p = this.pending.get(id);
        if (!p) continue;
        this.settled(id);
        const signal = sig ? ((Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0] ?? null) as NodeJS.Signals | null) : null;
        p.done?.({ code: code < 0 ? null : code, signal, stdout: out, stderr: err });
        continue;
      }
      this.buf = this.buf.subarray(nl + 1);
      const p = this.pending.get(id);
      if (!p) continue;
      if (m[2] === 'pid') {
        p.pid?.(Number(m[3]));
        p.pid = undefined;
        continue;
      }
      this.settled(id);
      if (m[2] === 'error') p.fail(new Error(`process launcher: ${m[3]}`));
      else p.line?.(m[2] === 'line' ? m[3] : undefined);
    }
  }

  /** Starts a process; resolves once its pid is known. */
  launch(spec: LaunchSpec): Promise<Launched> {
    const child = this.ensure();
    const id = this.nextId++;
    const tokens: (string | number)[] = ['spawn', id, 'gate', spec.gate ? 1 : 0, 'cwd', spec.cwd ?? '/', 'err', spec.stderrPath ?? ''];
    for (const a of spec.argv) tokens.push('argv', a);
    for (const [k, v] of Object.entries(spec.env)) tokens.push('env', `${k}=${v}`);
    const msg = frame(tokens);
    return new Promise<Launched>((resolve, reject) => {
      let lineResolve!: (l: string | undefined) => void;
      let lineReject!: (e: Error) => void;
      const firstLine = new Promise<string | undefined>((res, rej) => {
        lineResolve = res;
        lineReject = rej;
      });
      firstLine.catch(() => {});
      let started = false;
      this.addPending(id, child, {
        pid: (pid) => {
          started = true;
          if (spec.idle) {
            // Started: from here on its first line is not awaited (until send).
            const p = this.pending.get(id);
            if (p && !p.idle) {
              p.idle = true;
              if (--this.held === 0 && this.child === child) this.hold(child, false);
            }
          }
          resolve({
            pid,
            firstLine,
            open: (go) => {
              if (spec.gate && this.child === child) child.stdin!.write(frame([go ? 'go' : 'abort', id]));
            },
            send: (data) => {
              if (!spec.gate || this.child !== child) return;
              // Its first line is awaited now: it keeps the event loop alive from here on.
              const p = this.pending.get(id);
              if (p?.idle) {
                p.idle = false;
                if (this.held++ === 0) this.hold(child, true);
              }
              child.stdin!.write(frame(['send', id, data]));
            },
          });
        },
        line: lineResolve,
        fail: (err) => {
          if (!started) reject(err);
          lineReject(err);
        },
      });
      child.stdin!.write(msg);
    });
  }

  /**
   * Runs a short-lived helper (a CNI plugin…) as the launcher's child — what `child_process.spawn` + collecting
   * stdout/stderr + 'close' does, without forking the agent. `input` goes to its stdin (no NUL bytes); after
   * `timeoutMs` it is SIGKILLed.
   */
  exec(argv: string[], env: Record<string, string | undefined>, input = '', timeoutMs = 60_000): Promise<ExecResult> {
    const child = this.ensure();
    const id = this.nextId++;
    const tokens: (string | number)[] = ['exec', id, 'stdin', input];
    for (const a of argv) tokens.push('argv', a);
    for (const [k, v] of Object.entries(env)) if (v !== undefined) tokens.push('env', `${k}=${v}`);
    const msg = frame(tokens);
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.child === child) child.stdin!.write(frame(['kill', id]));
      }, timeoutMs);
      this.addPending(id, child, {
        done: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        fail: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      child.stdin!.write(msg);
    });
  }

  /** Stops the launcher (processes it started keep running). */
  close(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}
