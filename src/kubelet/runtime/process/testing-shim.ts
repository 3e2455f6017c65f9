/**
 * For tests: compiles `native/shim/skiff-shim.c` as it is in the tree (not a stale dist/ binary) into a temp dir
 * removed after the file's tests. Returns the binary and the work dir, or why it cannot (no source, no C compiler) —
 * the caller skips loudly with that reason. A source that does not compile throws.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export function compileNativeShim(tag: string): { work: string; binary?: string; skip?: string } {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // src/kubelet/runtime/process (tsx) or dist/src/kubelet/runtime/process (built).
  const source = [join(here, '../../../../native/shim/skiff-shim.c'), join(here, '../../../../../native/shim/skiff-shim.c')].find(existsSync);
  const work = mkdtempSync(join(tmpdir(), `skiff-${tag}-`));
  after(() => rmSync(work, { recursive: true, force: true }));
  if (!source) return { work, skip: 'native/shim/skiff-shim.c not found' };
  const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!cc) return { work, skip: 'NEEDS a C compiler (cc/gcc/clang) to build the native shim' };
  const binary = join(work, 'skiff-shim');
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', binary, source], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`native shim does not compile:\n${r.stderr}`);
  return { work, binary };
}
