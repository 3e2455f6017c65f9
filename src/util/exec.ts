/**
 * Running host commands (`iptables`, `iptables-restore`, `ip`, `conntrack`, `modprobe`) with one error contract, the
 * role upstream's `k8s.io/utils/exec` plays for kube-proxy and the kubelet:
 *
 *  - it resolves with `{ code, stdout, stderr }` when the command exits 0, or with a code the caller listed in
 *    `okCodes` (e.g. `iptables -C` exits 1 for "no such rule", upstream's `ExitError.ExitStatus() == 1` check);
 *  - otherwise it rejects with an {@link ExecError} carrying the command line, the exit code (null when the command
 *    did not start, was killed by a signal or timed out) and its stderr — the message says all three, so a logged
 *    `String(err)` is enough to debug it;
 *  - `input` is written to stdin (`iptables-restore` reads its payload there); without it stdin is closed at once;
 *  - output is collected without a size limit (`iptables-save` of a large cluster is megabytes, past `execFile`'s
 *    1 MiB default), and a command that hangs is killed after `timeoutMs`.
 */

import { spawn } from 'node:child_process';

/** Options for {@link runCommand}. */
export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Exit codes besides 0 that resolve instead of rejecting; the caller reads `code` to tell them apart. */
  okCodes?: readonly number[];
  /** Kills the command (SIGKILL) and rejects after this many milliseconds; 0 for no limit. Default 30 s. */
  timeoutMs?: number;
}

/** What a command that ended with an accepted exit code printed. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A host command failed: it did not start, exited with a code not accepted, was killed, or timed out. */
export class ExecError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    /** The exit code; null when the command did not start, was killed by a signal or timed out. */
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
    /** How it failed when there is no exit code: the spawn errno (`ENOENT`…), the signal, or `timeout`. */
    readonly reason?: string,
  ) {
    const what = exitCode !== null ? `exit status ${exitCode}` : reason === 'ENOENT' ? 'command not found' : (reason ?? 'failed');
    const detail = stderr.trim();
    super(`${[cmd, ...args].join(' ')}: ${what}${detail ? `: ${detail}` : ''}`);
    this.name = 'ExecError';
  }

  /** The binary is not installed (spawn failed with ENOENT). */
  get notFound(): boolean {
    return this.reason === 'ENOENT';
  }
}

/** Runs `cmd args` (no shell) under the contract in the module comment. */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      fn();
    };
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = timeoutMs > 0
      ? setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      settle(() => reject(new ExecError(cmd, args, null, stderr, stdout, err.code ?? err.message)));
    });
    child.on('close', (code, signal) => {
      settle(() => {
        if (timedOut) reject(new ExecError(cmd, args, null, stderr, stdout, `timeout after ${timeoutMs} ms`));
        else if (code === null) reject(new ExecError(cmd, args, null, stderr, stdout, `killed by ${signal ?? 'signal'}`));
        else if (code === 0 || opts.okCodes?.includes(code)) resolve({ code, stdout, stderr });
        else reject(new ExecError(cmd, args, code, stderr, stdout));
      });
    });
    // A command that exits without reading its stdin makes the write fail with EPIPE; its exit code reports that.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}
