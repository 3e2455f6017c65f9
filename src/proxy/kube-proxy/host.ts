/**
 * The host side of the proxier: running `iptables-restore`, `iptables-save`, `iptables -C/-I/-D`, `conntrack` and
 * writing sysctls. Kept behind the {@link ProxyHost} interface so the proxier's sync loop is testable without root
 * (tests pass a recording fake) — the role upstream's `utiliptables.Interface` fake plays.
 */

import { access, writeFile } from 'node:fs/promises';
import { ExecError, runCommand } from '../../util/exec.js';

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

/** The real host: iptables binaries from PATH (whichever backend, legacy or nft, the alternatives select). */
export function execHost(): ProxyHost {
  let conntrackMissing = false;
  return {
    async restore(payload) {
      try {
        await runCommand('iptables-restore', ['-w', '5', '--noflush'], { input: payload });
      } catch (err) {
        if (!(err instanceof ExecError) || err.exitCode === null) throw err;
        const m = /line:?\s*(\d+)/i.exec(err.stderr);
        const n = m ? Number(m[1]) : undefined;
        throw new RestoreError(err.stderr, n, n ? payload.split('\n')[n - 1] : undefined);
      }
    },
    async save(table) {
      return (await runCommand('iptables-save', ['-t', table])).stdout;
    },
    async ensureRule(rule) {
      // Exit status 1 is "no such rule" (upstream's checkRule); any other failure is an error, not a reason to insert.
      const check = await runCommand('iptables', ['-w', '5', '-t', rule.table, '-C', rule.chain, ...rule.args], { okCodes: [1] });
      if (check.code === 0) return false;
      await runCommand('iptables', ['-w', '5', '-t', rule.table, '-I', rule.chain, ...rule.args]);
      return true;
    },
    async deleteRule(rule) {
      // -D fails both when the rule is absent and when its target chain is gone: either way there is nothing to delete.
      for (let i = 0; i < 16; i++) {
        try {
          await runCommand('iptables', ['-w', '5', '-t', rule.table, '-D', rule.chain, ...rule.args]);
        } catch (err) {
          if (err instanceof ExecError && err.exitCode !== null) return;
          throw err;
        }
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
      try {
        await runCommand('conntrack', args);
      } catch (err) {
        if (err instanceof ExecError && err.notFound) {
          conntrackMissing = true;
          return false;
        }
        // conntrack -D exits 1 when nothing matched: not an error.
        if (err instanceof ExecError && err.exitCode === 1 && /0 flow entries/.test(err.stderr)) return true;
        throw err;
      }
      return true;
    },
  };
}
