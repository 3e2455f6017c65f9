// Build: type-check and emit with tsc, then copy non-TS assets (generated OpenAPI, .proto files) into dist.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync, mkdirSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pre = join(root, 'scripts', 'prebuild.mjs');
if (existsSync(pre)) {
  const r = spawnSync(process.execPath, [pre], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const r = spawnSync(process.execPath, [tsc, '-p', root], { stdio: 'inherit', cwd: root });
// Copy assets (anything not .ts under src/) so runtime code can load them next to the JS.
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { copyAssets(p); continue; }
    if (/\.(proto|json|yaml)$/.test(name)) {
      const out = join(root, 'dist', p.slice(root.length + 1));
      mkdirSync(dirname(out), { recursive: true });
      cpSync(p, out);
    }
  }
}
copyAssets(join(root, 'src'));
// The native container shim (native/shim/skiff-shim.c) when a C compiler exists; the process runtime falls back to
// its Node shim (~40 MB per container) without it. Built to a temp name and renamed: running shims keep their inode.
const shimSrc = join(root, 'native', 'shim', 'skiff-shim.c');
const cc = [process.env.CC, 'cc', 'gcc', 'clang'].find((c) => c && spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!cc) console.warn('build: no C compiler (cc/gcc): containers will use the Node shim; install gcc for the native one');
else if (existsSync(shimSrc)) {
  const out = join(root, 'dist', 'native', 'skiff-shim');
  mkdirSync(dirname(out), { recursive: true });
  const c = spawnSync(cc, ['-O2', '-Wall', '-o', `${out}.tmp`, shimSrc], { stdio: 'inherit' });
  if (c.status === 0) renameSync(`${out}.tmp`, out);
  else console.warn('build: the native shim did not compile; containers will use the Node shim');
}
if (r.status !== 0) { console.error('build: tsc reported errors'); process.exit(r.status ?? 1); }
