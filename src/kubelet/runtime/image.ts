/**
 * Image resolution for the process runtime: there is no image store, so an image reference names a host executable.
 * With no `command`, the image's last path segment without tag or digest is looked up on PATH
 * (`docker.io/library/python:3.11` → `python`), the way Nomad's exec driver takes its `command` from the host. When it
 * is absent the kubelet shows `ErrImagePull` / `ImagePullBackOff` with a message saying exactly that.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** The PATH a container gets when its env sets none (the default PATH containerd/Docker images carry). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The executable name an image reference stands for: last path segment, without `@digest` or `:tag`.
 * `registry:5000/team/app:1.0` → `app`; `python@sha256:…` → `python`.
 */
export function imageBinaryName(image: string): string {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const slash = ref.lastIndexOf('/');
  let last = slash >= 0 ? ref.slice(slash + 1) : ref;
  const colon = last.indexOf(':');
  if (colon >= 0) last = last.slice(0, colon);
  return last;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Looks `name` up like execvp(3) (and Go's exec.LookPath that runc uses): a name containing `/` is taken as a path
 * (relative ones against `cwd`), otherwise each PATH entry is tried. Returns the absolute path or undefined.
 */
export function lookPath(name: string, pathEnv: string = process.env.PATH ?? DEFAULT_PATH, cwd = process.cwd()): string | undefined {
  if (!name) return undefined;
  if (name.includes('/')) {
    const p = isAbsolute(name) ? name : join(cwd, name);
    return isExecutableFile(p) ? p : undefined;
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/** resolveImage for host-process runtimes: the host executable an image stands for, or undefined. */
export function resolveImageOnHost(image: string, pathEnv?: string): string | undefined {
  const name = imageBinaryName(image);
  if (!name || name === '.' || name === '..') return undefined;
  return lookPath(name, pathEnv);
}
