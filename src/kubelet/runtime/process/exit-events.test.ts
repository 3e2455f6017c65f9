/**
 * ProcessRuntime.onContainerExit: a subscriber hears of a container's exit soon after its shim wrote exit.json
 * (no relist needed), for containers started before and after subscribing; removed or unsubscribed containers are
 * not watched. Uses the native shim (compiled into a temp dir; skips loudly without a C compiler).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { compileNativeShim } from './testing-shim.js';
import { ProcessRuntime } from './process-runtime.js';

const shim = compileNativeShim('exitev');
const skip: string | false = shim.skip ?? false;
if (skip) console.warn(`SKIP (container exit events): ${skip}`);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('process runtime: container exit events', { skip }, () => {
  test('subscribers hear of exits without a relist; unsubscribe stops the watches', async () => {
    const rt = new ProcessRuntime({ stateDir: join(shim.work, 'state'), shim: 'native', shimBinary: shim.binary, log: quiet, cgroupRoot: `skiff-exitev-${randomBytes(3).toString('hex')}` });
    try {
      const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'default', uid: 'uid-p', attempt: 0 }, logDirectory: join(shim.work, 'logs') });
      const mk = async (name: string, cmd: string[]) => {
        const id = await rt.createContainer(sb, { metadata: { name, attempt: 0 }, command: cmd, logPath: `${name}.log` });
        await rt.startContainer(id);
        return id;
      };
      // Started before anyone listens: picked up on subscribe.
      const early = await mk('early', ['/bin/sleep', '30']); // (not `read`: stdin is /dev/null, it would exit at once)
      const heard: string[] = [];
      let wake: (() => void) | undefined;
      const off = rt.onContainerExit((id) => {
        heard.push(id);
        wake?.();
      });
      const waitHeard = (id: string) => new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no exit event for ${id}`)), 10000);
        const check = () => {
          if (heard.includes(id)) {
            clearTimeout(t);
            resolve();
          }
        };
        wake = check;
        check();
      });
      const quick = await mk('quick', ['/bin/sh', '-c', 'exit 4']);
      await waitHeard(quick);
      assert.equal((await rt.containerStatus(quick)).exitCode, 4, 'exit.json is there when the event comes');
      await rt.stopContainer(early, 0);
      await waitHeard(early);
      assert.equal(heard.filter((id) => id === quick).length, 1, 'one event per exit');
      // A removed container is no longer watched.
      const gone = await mk('gone', ['/bin/sleep', '30']);
      await rt.removeContainer(gone);
      const watches = (rt as unknown as { exitWatches: Map<string, unknown> }).exitWatches;
      assert.equal(watches.has(gone), false);
      off();
      const after = await mk('after', ['/bin/sleep', '30']);
      assert.equal(watches.size, 0, 'no watches without subscribers');
      await rt.stopContainer(after, 0);
      assert.equal(heard.includes(after), false);
    } finally {
      await rt.purge();
      await rt.close();
    }
  });
});
