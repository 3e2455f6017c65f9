import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecError, runCommand } from './exec.js';

describe('runCommand', () => {
  it('resolves with stdout, stderr and code 0', async () => {
    const r = await runCommand('sh', ['-c', 'echo out; echo err >&2']);
    assert.deepEqual(r, { code: 0, stdout: 'out\n', stderr: 'err\n' });
  });

  it('writes input to stdin', async () => {
    const r = await runCommand('cat', [], { input: 'line 1\nline 2\n' });
    assert.equal(r.stdout, 'line 1\nline 2\n');
  });

  it('closes stdin when there is no input', async () => {
    const r = await runCommand('cat', []);
    assert.equal(r.stdout, '');
  });

  it('rejects a non-zero exit with the command, exit code and stderr', async () => {
    await assert.rejects(runCommand('sh', ['-c', 'echo partial; echo "No chain by that name" >&2; exit 3']), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.equal(err.cmd, 'sh');
      assert.equal(err.exitCode, 3);
      assert.equal(err.stderr, 'No chain by that name\n');
      assert.equal(err.stdout, 'partial\n');
      assert.equal(err.notFound, false);
      assert.match(err.message, /^sh -c .*: exit status 3: No chain by that name$/);
      return true;
    });
  });

  it('resolves exit codes listed in okCodes, still rejecting the others', async () => {
    const r = await runCommand('sh', ['-c', 'exit 1'], { okCodes: [1] });
    assert.equal(r.code, 1);
    await assert.rejects(runCommand('sh', ['-c', 'exit 2'], { okCodes: [1] }), (err: unknown) => err instanceof ExecError && err.exitCode === 2);
  });

  it('reports a missing binary as notFound with no exit code', async () => {
    await assert.rejects(runCommand('skiff-no-such-binary-xyz', ['a']), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.equal(err.notFound, true);
      assert.equal(err.exitCode, null);
      assert.match(err.message, /skiff-no-such-binary-xyz a: command not found/);
      return true;
    });
  });

  it('survives a command that exits without reading a large stdin', async () => {
    await assert.rejects(runCommand('sh', ['-c', 'exit 4'], { input: 'x'.repeat(4 << 20) }), (err: unknown) => err instanceof ExecError && err.exitCode === 4);
  });

  it('kills a command that outlives timeoutMs', async () => {
    await assert.rejects(runCommand('sleep', ['30'], { timeoutMs: 100 }), (err: unknown) => {
      assert.ok(err instanceof ExecError);
      assert.equal(err.exitCode, null);
      assert.match(err.message, /sleep 30: timeout after 100 ms/);
      return true;
    });
  });
});
