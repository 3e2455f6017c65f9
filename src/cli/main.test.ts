import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main.js';

/** Runs the CLI in this process, capturing what it writes and the exit code it sets. */
async function run(argv: string[]): Promise<{ out: string; err: string; code: number | string | undefined }> {
  let out = '';
  let err = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => { out += String(c); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => { err += String(c); return true; }) as typeof process.stderr.write;
  try {
    await main(argv);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const code = process.exitCode;
  process.exitCode = undefined;
  return { out, err, code };
}

afterEach(() => { process.exitCode = undefined; });

test('--help after a subcommand prints the usage and succeeds', async () => {
  for (const cmd of ['server', 'scheduler', 'controller-manager', 'agent', 'compact', 'network-cleanup']) {
    const r = await run([cmd, '--help']);
    assert.match(r.out, /^Usage: skiff <command> \[flags\]/, cmd);
    assert.equal(r.err, '', cmd);
    assert.equal(r.code, undefined, cmd);
  }
});

test('an unknown flag or a missing value is a usage error (exit 2), not a stack trace', async () => {
  const unknown = await run(['scheduler', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^skiff scheduler: Unknown option '--bogus'\n\nUsage: skiff/);
  const missing = await run(['network-cleanup', '--data-dir']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /^skiff network-cleanup: Option '--data-dir <value>' argument missing/);
  const cmd = await run(['no-such-command']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.err, /unknown command "no-such-command"/);
});

test('a failing command is one line on stderr with exit 1; compact does not create a store in a mistyped data dir', async () => {
  const { mkdtempSync, existsSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cli-test-'));
  try {
    const missing = join(dir, 'no-such-dir');
    const r = await run(['compact', '--data-dir', missing]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `skiff compact: no Skiff store in ${missing} (${join(missing, 'state.db')} does not exist)\n`);
    assert.equal(existsSync(missing), false, 'nothing created');
    const bad = await run(['network-cleanup', '--data-dir', dir, '--cluster-cidr', 'bogus']);
    assert.equal(bad.code, 1);
    assert.equal(bad.err, 'skiff network-cleanup: --cluster-cidr "bogus" is not an IPv4 CIDR\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad server flag is the same usage error as for any subcommand', async () => {
  const r = await run(['server', '--no-such-flag']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^skiff server: Unknown option '--no-such-flag'\n\nUsage: skiff/);
});
