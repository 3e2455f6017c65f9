/**
 * Writes volume files (configMap, secret, downwardAPI, projected) on a dedicated worker thread. A burst of pod starts
 * fills libuv's four-thread pool with the runtime's cgroup and state-file work (cgroup v1 mkdirs block a pool thread
 * in the kernel for milliseconds); a volume written with fs.promises then queues behind all of it once per step
 * (mkdir, open, write, close, chmod), which measured 0.7–2 s for three small files during a 100-pod burst — on the
 * pod's start path. Here the whole write is one message to a thread of its own doing plain synchronous calls, and the
 * event loop pays only the message. A thread that dies fails the writes in flight (the pod worker retries them) and
 * is started again on the next write. A small volume written when no other write came lately (a single pod start, not
 * a burst) is written synchronously on the loop instead: cheaper than waking the thread (see writeVolumeFiles).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LoneCallGate } from '../util/lone-call.js';

/** Relative path → content and mode (undefined: the volume's default mode). */
export type VolumeFiles = Map<string, { data: Buffer; mode?: number }>;

/** The agent's umask (file modes of new files are masked by it). */
const UMASK = process.umask();

// The write itself, plain JavaScript shared by the worker (an `eval` worker needs no file of its own, so it runs the
// same under tsx and from dist) and the event loop's own synchronous path (see writeVolumeFiles).
const WRITE_SOURCE = `
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
`;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
${WRITE_SOURCE}
parentPort.on('message', (m) => {
  try {
    write(m);
    parentPort.postMessage({ id: m.id });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { message: String(e && e.message || e), code: e && e.code } });
  }
});
`;

type WriteFn = (m: { dir: string; files: [string, Buffer, number | undefined][]; defaultMode: number; umask: number }) => void;
let writeOnLoop: WriteFn | undefined;

/**
 * The same write, synchronously on the calling thread: a few small files (a service-account volume: token, ca.crt,
 * namespace) take ~0.1–0.3 ms here, against a message round trip to the writer thread that must first be scheduled
 * (milliseconds on a loaded host). Exported for tests.
 */
export function writeVolumeFilesSync(dir: string, files: VolumeFiles, defaultMode: number): void {
  writeOnLoop ??= new Function('fs', 'path', `${WRITE_SOURCE}\nreturn write;`)(fs, path) as WriteFn;
  writeOnLoop({ dir, defaultMode, umask: UMASK, files: [...files].map(([rel, f]) => [rel, f.data, f.mode]) });
}

/** Writes of at most this many files and bytes may run on the event loop when it is quiet (see writeVolumeFiles). */
const SYNC_MAX_FILES = 8;
const SYNC_MAX_BYTES = 64 * 1024;
/** The event loop writes a small volume itself only when no other write came this recently (not in a burst). */
const SYNC_QUIET_MS = 50;
const writeGate = new LoneCallGate(SYNC_QUIET_MS);

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
  // Never keeps the agent alive; it is idle between writes. After the listeners: adding a 'message' listener refs the
  // worker's port again (it used to be unref'd only by the first reply, so a writer never written to held the process).
  w.unref();
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
  // A single pod start (nothing else being written lately): a small volume is written here at once. In a burst the
  // writes go to the thread, where they cannot block the loop behind a contended file system.
  const quiet = writeGate.lone() && pending.size === 0;
  if (quiet && files.size <= SYNC_MAX_FILES) {
    let bytes = 0;
    for (const f of files.values()) bytes += f.data.length;
    if (bytes <= SYNC_MAX_BYTES) {
      try {
        writeVolumeFilesSync(dir, files, defaultMode);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
  return new Promise<void>((resolve, reject) => {
    const w = getWorker();
    const id = nextId++;
    pending.set(id, { resolve, reject });
    if (pending.size === 1) w.ref(); // a write in flight keeps the process until it is done
    w.postMessage({ id, dir, defaultMode, umask: UMASK, files: [...files].map(([rel, f]) => [rel, f.data, f.mode]) });
  });
}
