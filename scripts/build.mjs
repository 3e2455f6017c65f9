// Build: type-check and emit with tsc, then copy non-TS assets (generated OpenAPI, .proto files) into dist.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync, mkdirSync } from 'node:fs';
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
if (r.status !== 0) { console.error('build: tsc reported errors'); process.exit(r.status ?? 1); }
