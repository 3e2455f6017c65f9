/**
 * Writes volume files (configMap, secret, downwardAPI, projected) on a dedicated worker thread. A burst of pod starts
 * fills libuv's four-thread pool with the runtime's cgroup and state-file work (cgroup v1 mkdirs block a pool thread
 * in the kernel for milliseconds); a volume written with fs.promises then queues behind all of it once per step
 * (mkdir, open, write, close, chmod), which measured 0.7–2 s for three small files during a 100-pod burst — on the
 * pod's start path. Here the whole write is one message to a thread of its own doing plain synchronous calls, and the
 * event loop pays only the message. A thread that dies fails the writes in flight (the pod worker retries them) and
 * is started again on the next write.
 */
import { Worker } from 'node:worker_threads';

/** Relative path → content and mode (undefined: the volume's default mode). */
export type VolumeFiles = Map<string, { data: Buffer; mode?: number }>;

/** The agent's umask (file modes of new files are masked by it). */
const UMASK = process.umask();

// The worker's code, plain CommonJS (an `eval` worker needs no file of its own, so it runs the same under tsx and
// from dist).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
function write({ dir, files, defaultMode, umask }) {
  const fresh = fs.mkdirSync(dir, { recursive: true }) !== undefined;
  if (!fresh) {
    const keep = new Set(files.map((f) => f[0]));
    const walk = (d, rel) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const r = rel ? rel + '/' + e.name : e.name;
        if (e.isDirectory()) walk(path.join(d, e.name), r);
        else if (!keep.has(r)) fs.rmSync(path.join(d, e.name), { force: true });
      }
    };
    walk(dir, '');
  }
  for (const [rel, data, fileMode] of files) {
    const p = path.join(dir, rel);
    if (path.dirname(rel) !== '.') fs.mkdirSync(path.dirname(p), { recursive: true });
    const mode = fileMode ?? defaultMode;
    let same = false;
    if (!fresh) {
      try { same = fs.readFileSync(p).equals(data); } catch {}
    }
    if (!same) fs.writeFileSync(p, data, { mode });
    if (!fresh || (mode & umask) !== 0) fs.chmodSync(p, mode);
  }
}
parentPort.on('message', (m) => {
  try {
    write(m);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { message: String(e && e.message || e), code: e && e.code } });
  }
});
`;

interface Pending {
  resolve(): void;
  reject(e: Error): void;
}

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

function failAll(e: Error): void {
  for (const p of pending.values()) p.reject(e);
  pending.clear();
}

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, stdout: false, stderr: false });
  w.unref(); // never keeps the agent alive; it is idle between writes
  w.on('message', (m: { id: number; error?: { message: string; code?: string } }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
    else p.resolve();
    if (pending.size === 0) w.unref();
  });
  const gone = (e: Error) => {
    if (worker === w) worker = undefined;
    failAll(e);
  };
  w.on('error', gone);
  w.on('exit', (code) => gone(new Error(`volume writer thread exited (${code})`)));
  return (worker = w);
}

/** Starts the writer thread ahead of the first pod (it takes tens of milliseconds to boot); idempotent. */
export function prewarmVolumeWriter(): void {
  getWorker();
}

/**
 * Writes `files` into `dir` (made if missing), removing files that are no longer there and rewriting only changed
 * content (what upstream's atomic writer converges to), with exact modes.
 */
export function writeVolumeFiles(dir: string, files: VolumeFiles, defaultMode: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const w = getWorker();
    const id = nextId++;
    pending.set(id, { resolve, reject });
    if (pending.size === 1) w.ref(); // a write in flight keeps the process until it is done
    w.postMessage({ id, dir, defaultMode, umask: UMASK, files: [...files].map(([rel, f]) => [rel, f.data, f.mode]) });
  });
}
