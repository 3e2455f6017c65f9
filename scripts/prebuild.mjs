// Build step run by scripts/build.mjs before tsc: regenerates files derived from dependencies (the OpenAPI schema
// graph from kubernetes-types) so dist never ships stale or missing generated assets.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const script of ['gen-openapi.mjs']) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', script)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error(`prebuild: ${script} failed`);
    process.exit(r.status ?? 1);
  }
}
