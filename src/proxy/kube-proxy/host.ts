/**
 * The host side of the proxier: running `iptables-restore`, `iptables-save`, `iptables -C/-I/-D`, `conntrack` and
 * writing sysctls. Kept behind the {@link ProxyHost} interface so the proxier's sync loop is testable without root
 * (tests pass a recording fake) — the role upstream's `utiliptables.Interface` fake plays.
 */

import { execFile, spawn } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';

/** A built-in chain jump the proxier owns: `iptables -t TABLE -I CHAIN ...args`. */
export interface JumpRule {
  table: 'nat' | 'filter';
  chain: string;
  args: string[];
}

/** What the proxier needs from the host. */
export interface ProxyHost {
  /** `iptables-restore --noflush` with `payload` on stdin; rejects with {@link RestoreError} on failure. */
  restore(payload: string): Promise<void>;
  /** The output of `iptables-save -t table`. */
  save(table: 'nat' | 'filter'): Promise<string>;
  /** Inserts `rule` at the top of its chain unless `iptables -C` finds it. Returns whether it inserted. */
  ensureRule(rule: JumpRule): Promise<boolean>;
  /** Deletes every copy of `rule`; absent is fine. */
  deleteRule(rule: JumpRule): Promise<void>;
  /** Writes `/proc/sys/<key with dots as slashes>`; returns false when that file does not exist. */
  setSysctl(key: string, value: string): Promise<boolean>;
  /** Runs `conntrack args`; resolves false when conntrack is not installed. */
  conntrack(args: string[]): Promise<boolean>;
}

/** iptables-restore failed; `line` is the payload line it named, when it named one. */
export class RestoreError extends Error {
  constructor(readonly stderr: string, readonly lineNumber?: number, readonly line?: string) {
    super(`iptables-restore failed${lineNumber ? ` at line ${lineNumber} (${line ?? '?'})` : ''}: ${stderr.trim()}`);
    this.name = 'RestoreError';
  }
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => { /* the exit code reports the failure */ });
    child.stdin.end(input ?? '');
  });
}

/** The real host: iptables binaries from PATH (whichever backend, legacy or nft, the alternatives select). */
export function execHost(): ProxyHost {
  let conntrackMissing = false;
  return {
    async restore(payload) {
      const r = await run('iptables-restore', ['-w', '5', '--noflush'], payload);
      if (r.code === 0) return;
      const m = /line:?\s*(\d+)/i.exec(r.stderr);
      const n = m ? Number(m[1]) : undefined;
      throw new RestoreError(r.stderr, n, n ? payload.split('\n')[n - 1] : undefined);
    },
    async save(table) {
      const r = await run('iptables-save', ['-t', table]);
      if (r.code !== 0) throw new Error(`iptables-save -t ${table} failed: ${r.stderr.trim()}`);
      return r.stdout;
    },
    async ensureRule(rule) {
      const check = await run('iptables', ['-w', '5', '-t', rule.table, '-C', rule.chain, ...rule.args]);
      if (check.code === 0) return false;
      const ins = await run('iptables', ['-w', '5', '-t', rule.table, '-I', rule.chain, ...rule.args]);
      if (ins.code !== 0) throw new Error(`iptables -t ${rule.table} -I ${rule.chain} ${rule.args.join(' ')}: ${ins.stderr.trim()}`);
      return true;
    },
    async deleteRule(rule) {
      // -C fails both when the rule is absent and when its target chain is gone; -D of an absent rule fails too.
      for (let i = 0; i < 16; i++) {
        const d = await run('iptables', ['-w', '5', '-t', rule.table, '-D', rule.chain, ...rule.args]);
        if (d.code !== 0) return;
      }
    },
    async setSysctl(key, value) {
      const path = `/proc/sys/${key.replace(/\./g, '/')}`;
      try {
        await access(path);
      } catch {
        return false;
      }
      await writeFile(path, value);
      return true;
    },
    async conntrack(args) {
      if (conntrackMissing) return false;
      return new Promise((resolve, reject) => {
        execFile('conntrack', args, (err, _stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
            conntrackMissing = true;
            return resolve(false);
          }
          // conntrack -D exits 1 when nothing matched: not an error.
          if (err && !/0 flow entries/.test(stderr)) return reject(new Error(`conntrack ${args.join(' ')}: ${stderr.trim() || err.message}`));
          resolve(true);
        });
      });
    },
  };
}
