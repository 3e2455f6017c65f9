/**
 * Pod volumes, as the kubelet's volume manager sets them up under `<podDir>/volumes/<plugin>/<name>`: emptyDir
 * (a tmpfs when `medium: Memory` and the agent is root), configMap, secret, downwardAPI and projected volumes written
 * as files (keys → files, `items` with paths and modes, `defaultMode`), projected serviceAccountToken through the
 * TokenRequest API bound to the pod (cached, renewed at 80% of its lifetime), and hostPath (created for
 * `DirectoryOrCreate`/`FileOrCreate`). File contents are written on a thread of their own ({@link writeVolumeFiles}).
 * The pod worker refreshes them on every periodic resync. The runtime then mounts each volumeMount's host path (plus
 * `subPath`) at its `mountPath`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { Container, DownwardAPIVolumeFile, KeyToPath, Pod, Volume, VolumeProjection } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../client/dynamic.js';
import { isNotFound } from '../client/rest.js';
import { ContainerConfigError, ObjectSource, resolveFieldRef, resolveResourceFieldRef, type DownwardContext } from './env.js';
import type { Mount } from './runtime/types.js';
import { trace } from './runtime/process/trace.js';
import { writeVolumeFiles, type VolumeFiles } from './volume-writer.js';

type Files = VolumeFiles;

/**
 * A volume cannot be set up yet (a ConfigMap such as `kube-root-ca.crt`, a Secret or the ServiceAccount is missing).
 * Upstream the pod then stays `ContainerCreating` and the kubelet reports a `FailedMount` Warning event with
 * {@link VolumeSetupError.eventMessage}, retrying until it works. Still a ContainerConfigError for callers that
 * treat all "not yet" cases alike.
 */
export class VolumeSetupError extends ContainerConfigError {
  constructor(readonly volume: string, message: string) {
    super(message);
  }

  /** Upstream's FailedMount message: `MountVolume.SetUp failed for volume "<name>" : <why>`. */
  get eventMessage(): string {
    return `MountVolume.SetUp failed for volume "${this.volume}" : ${this.message}`;
  }
}

/** A projected token is requested again once this share of its lifetime has passed (kubelet token manager: 80%). */
const TOKEN_REFRESH_FRACTION = 0.8;

const PLUGIN: Record<string, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

function safeRel(p: string): string {
  const n = normalize(p);
  if (n.startsWith('..') || n.startsWith('/')) throw new ContainerConfigError(`invalid volume path ${JSON.stringify(p)}`);
  return n;
}

function addKeys(files: Files, data: Record<string, Buffer>, items: KeyToPath[] | undefined, what: string, optional: boolean, mode?: number): void {
  if (!items?.length) {
    for (const [k, v] of Object.entries(data)) files.set(k, { data: v, mode });
    return;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new ContainerConfigError(`configmap references non-existent config key: ${it.key} (${what})`);
    }
    files.set(safeRel(it.path), { data: v, mode: it.mode ?? mode });
  }
}

function downwardFiles(files: Files, pod: Pod, items: DownwardAPIVolumeFile[] | undefined, ctx: DownwardContext, mode?: number): void {
  for (const it of items ?? []) {
    let v = '';
    if (it.fieldRef) v = resolveFieldRef(pod, it.fieldRef, ctx);
    else if (it.resourceFieldRef) v = resolveResourceFieldRef(pod, undefined, it.resourceFieldRef, ctx);
    files.set(safeRel(it.path), { data: Buffer.from(v), mode: it.mode ?? mode });
  }
}

/** Mount points at or below `dir` (deepest first). */
function mountsUnder(mountsText: string, dir: string): string[] {
  return mountsText
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts every mount at or below `dir` (deepest first), so the directory can be removed. */
export function unmountUnder(dir: string): void {
  let mounts: string[];
  try {
    mounts = mountsUnder(readFileSync('/proc/self/mounts', 'utf8'), dir);
  } catch {
    return;
  }
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

/** Runs a command without blocking the event loop; resolves with its exit status and stderr. */
function run(cmd: string, args: string[]): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({ status: err ? (typeof code === 'number' ? code : 1) : 0, stderr: String(stderr || (err && !stderr ? err.message : '')) });
    });
  });
}

/** {@link unmountUnder} without blocking the event loop. */
async function unmountUnderAsync(dir: string): Promise<void> {
  let mounts: string[];
  try {
    mounts = mountsUnder(await readFile('/proc/self/mounts', 'utf8'), dir);
  } catch {
    return;
  }
  for (const m of mounts) await run('umount', ['-l', m]);
}

/** Prepares volumes of one pod; `setup` is cheap to call again (it rewrites changed content only). */
export class PodVolumes {
  /** Volume name → host path. */
  readonly paths = new Map<string, string>();
  private readonly tmpfs = new Set<string>();

  constructor(
    private readonly podDir: string,
    private readonly client: DynamicClient,
    private readonly root: boolean,
  ) {}

  /** Bound tokens by request (account, audience, lifetime), reused until {@link TOKEN_REFRESH_FRACTION} of their life. */
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();

  /** Sets up (or refreshes) every volume of the pod; a volume that cannot be set up yet throws {@link VolumeSetupError}. */
  async setup(pod: Pod, ctx: DownwardContext, src: ObjectSource): Promise<void> {
    // Volumes are independent: all set up at once (API reads, token requests and files overlap); the first failure
    // in spec order is the one reported, as when they were set up one after the other.
    const vols = pod.spec?.volumes ?? [];
    const results = await Promise.allSettled(vols.map((v) => this.setupOne(pod, v, ctx, src)));
    for (let i = 0; i < vols.length; i++) {
      const v = vols[i]!;
      const r = results[i]!;
      if (r.status === 'fulfilled') {
        this.paths.set(v.name, r.value);
        continue;
      }
      const e = r.reason as unknown;
      if (e instanceof ContainerConfigError && !(e instanceof VolumeSetupError)) throw new VolumeSetupError(v.name, e.message);
      throw e;
    }
  }

  private dirFor(plugin: string, name: string): string {
    return join(this.podDir, 'volumes', plugin, name);
  }

  private async setupOne(pod: Pod, v: Volume, ctx: DownwardContext, src: ObjectSource): Promise<string> {
    if (v.hostPath) {
      const p = v.hostPath.path;
      const t = v.hostPath.type ?? '';
      if (t === 'DirectoryOrCreate' && !existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
      if (t === 'FileOrCreate' && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        closeSync(openSync(p, 'a', 0o644));
      }
      if ((t === 'Directory' || t === 'File' || t === 'Socket') && !existsSync(p)) {
        throw new ContainerConfigError(`hostPath type check failed: ${p} does not exist`);
      }
      return p;
    }
    if (v.emptyDir) {
      const dir = this.dirFor(PLUGIN.emptyDir!, v.name);
      await mkdir(dir, { recursive: true, mode: 0o777 });
      if (v.emptyDir.medium === 'Memory' && this.root && !this.tmpfs.has(dir)) {
        const opts = v.emptyDir.sizeLimit ? ['-o', `size=${v.emptyDir.sizeLimit}`.replace(/i$/, '')] : [];
        const isMounted = (await readFile('/proc/self/mounts', 'utf8')).split('\n').some((l) => l.split(' ')[1] === dir);
        if (!isMounted) {
          const r = await run('mount', ['-t', 'tmpfs', ...opts, 'tmpfs', dir]);
          if (r.status !== 0) throw new ContainerConfigError(`cannot mount tmpfs for emptyDir ${v.name}: ${r.stderr}`);
        }
        this.tmpfs.add(dir);
      }
      return dir;
    }
    const files: Files = new Map();
    const plugin = v.configMap ? PLUGIN.configMap : v.secret ? PLUGIN.secret : v.downwardAPI ? PLUGIN.downwardAPI : v.projected ? PLUGIN.projected : undefined;
    if (!plugin) throw new ContainerConfigError(`volume ${v.name}: unsupported volume type`);
    const dir = this.dirFor(plugin, v.name);
    let defaultMode = 0o644;
    if (v.configMap) {
      defaultMode = v.configMap.defaultMode ?? 0o644;
      const cm = await src.configMap(v.configMap.name ?? '');
      if (!cm && !v.configMap.optional) throw new ContainerConfigError(`configmap "${v.configMap.name}" not found`);
      const data: Record<string, Buffer> = {};
      for (const [k, s] of Object.entries(cm?.data ?? {})) data[k] = Buffer.from(s);
      for (const [k, s] of Object.entries(cm?.binaryData ?? {})) data[k] = Buffer.from(s, 'base64');
      addKeys(files, data, v.configMap.items, v.name, !!v.configMap.optional);
    } else if (v.secret) {
      defaultMode = v.secret.defaultMode ?? 0o644;
      const s = await src.secret(v.secret.secretName ?? '');
      if (!s && !v.secret.optional) throw new ContainerConfigError(`secret "${v.secret.secretName}" not found`);
      const data: Record<string, Buffer> = {};
      for (const [k, x] of Object.entries(s?.data ?? {})) data[k] = Buffer.from(x, 'base64');
      addKeys(files, data, v.secret.items, v.name, !!v.secret.optional);
    } else if (v.downwardAPI) {
      defaultMode = v.downwardAPI.defaultMode ?? 0o644;
      downwardFiles(files, pod, v.downwardAPI.items, ctx);
    } else if (v.projected) {
      defaultMode = v.projected.defaultMode ?? 0o644;
      // Sources are fetched at once (the token request overlaps the ConfigMap read) and merged in their order.
      const parts = await Promise.all((v.projected.sources ?? []).map(async (s) => {
        const part: Files = new Map();
        await this.projectSource(part, pod, s, ctx, src);
        return part;
      }));
      for (const part of parts) for (const [k, f] of part) files.set(k, f);
    }
    await writeVolumeFiles(dir, files, defaultMode);
    trace(pod.metadata!.name!, `vol-written ${v.name}`);
    return dir;
  }

  private async projectSource(files: Files, pod: Pod, s: VolumeProjection, ctx: DownwardContext, src: ObjectSource): Promise<void> {
    if (s.configMap) {
      const cm = await src.configMap(s.configMap.name ?? '');
      if (!cm && !s.configMap.optional) throw new ContainerConfigError(`configmap "${s.configMap.name}" not found`);
      const data: Record<string, Buffer> = {};
      for (const [k, x] of Object.entries(cm?.data ?? {})) data[k] = Buffer.from(x);
      addKeys(files, data, s.configMap.items, s.configMap.name ?? '', !!s.configMap.optional);
    }
    if (s.secret) {
      const sec = await src.secret(s.secret.name ?? '');
      if (!sec && !s.secret.optional) throw new ContainerConfigError(`secret "${s.secret.name}" not found`);
      const data: Record<string, Buffer> = {};
      for (const [k, x] of Object.entries(sec?.data ?? {})) data[k] = Buffer.from(x, 'base64');
      addKeys(files, data, s.secret.items, s.secret.name ?? '', !!s.secret.optional);
    }
    if (s.downwardAPI) downwardFiles(files, pod, s.downwardAPI.items, ctx);
    if (s.serviceAccountToken) {
      const t = s.serviceAccountToken;
      files.set(safeRel(t.path), { data: Buffer.from(await this.token(pod, t.audience, t.expirationSeconds ?? 3600)) });
    }
  }

  /**
   * A token for the pod's ServiceAccount bound to the pod (TokenRequest API), cached and renewed after 80% of its
   * lifetime as the kubelet's token manager does (the volume is refreshed every minute; the token is not re-issued
   * each time). A ServiceAccount that does not exist yet makes the volume wait, as upstream.
   */
  private async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const sa = pod.spec?.serviceAccountName || 'default';
    const key = `${sa}\n${audience ?? ''}\n${expirationSeconds}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    let tr: { status?: { token?: string; expirationTimestamp?: string } };
    trace(pod.metadata!.name!, 'vol-token');
    try {
      tr = await this.client.resource('v1', 'ServiceAccount').createSubresource<typeof tr>(pod.metadata!.namespace, sa, 'token', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          ...(audience ? { audiences: [audience] } : {}),
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid },
        },
      });
    } catch (e) {
      if (isNotFound(e)) throw new ContainerConfigError(`failed to fetch token: serviceaccounts "${sa}" not found`);
      throw e;
    }
    trace(pod.metadata!.name!, 'vol-token-got');
    const token = tr.status?.token ?? '';
    const now = Date.now();
    const expires = Date.parse(tr.status?.expirationTimestamp ?? '') || now + expirationSeconds * 1000;
    this.tokens.set(key, { token, refreshAt: now + (expires - now) * TOKEN_REFRESH_FRACTION });
    return token;
  }

  /** The runtime mounts of a container's volumeMounts (subPath resolved under the volume, created if missing). */
  mountsFor(c: Container): Mount[] {
    return (c.volumeMounts ?? []).map((m) => {
      const base = this.paths.get(m.name);
      if (!base) throw new ContainerConfigError(`volume "${m.name}" not found for volumeMount ${m.mountPath}`);
      let hostPath = base;
      if (m.subPath) {
        hostPath = join(base, safeRel(m.subPath));
        if (!existsSync(hostPath)) mkdirSync(hostPath, { recursive: true });
      }
      return { hostPath, containerPath: m.mountPath, readonly: !!m.readOnly };
    });
  }

  /**
   * Unmounts tmpfs emptyDirs (also those a previous agent mounted) and removes the pod directory, off the event
   * loop (removing a directory that was bind-mounted into a container costs milliseconds of kernel time).
   */
  async teardown(): Promise<void> {
    await unmountUnderAsync(this.podDir);
    this.tmpfs.clear();
    await rm(this.podDir, { recursive: true, force: true });
  }
}
