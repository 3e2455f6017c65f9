/**
 * Entry point of the store: picks a Backend from the `--storage` URL (kine-style endpoints) and re-exports the
 * contract, so the apiserver imports everything store-related from one module.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { MemoryBackend } from './memory.js';
import { SqliteBackend } from './sqlite/sqlite-backend.js';
import type { Backend } from './types.js';

export * from './types.js';
export { MemoryBackend } from './memory.js';
export { SqliteBackend, type SqliteBackendOptions } from './sqlite/sqlite-backend.js';
export { startCompactor, type Compactor, type CompactorOptions } from './compactor.js';

/** The database file used by `sqlite://` when no path is given. */
export const DEFAULT_SQLITE_FILE = 'state.db';

/**
 * Builds (does not start) the backend for `url`:
 * - `sqlite://` → `<dataDir>/state.db`
 * - `sqlite:///abs/path.db` → that absolute file
 * - `sqlite://relative/path.db` → resolved against `dataDir`
 * - `memory://` → a MemoryBackend (state is lost on exit)
 * Anything else throws an Error naming the accepted forms.
 */
export function newBackend(url: string, dataDir: string): Backend {
  if (url === 'memory://') return new MemoryBackend();
  if (url.startsWith('sqlite://')) {
    const path = url.slice('sqlite://'.length);
    if (path.includes('?') || path.includes('#')) {
      throw new Error(`unsupported storage URL ${JSON.stringify(url)}: query parameters are not supported`);
    }
    const decoded = decodeURIComponent(path);
    const file = decoded === '' ? join(dataDir, DEFAULT_SQLITE_FILE) : isAbsolute(decoded) ? decoded : resolve(dataDir, decoded);
    return new SqliteBackend(file);
  }
  throw new Error(
    `unsupported storage URL ${JSON.stringify(url)}: expected sqlite:// (default <data-dir>/${DEFAULT_SQLITE_FILE}), ` +
      `sqlite:///absolute/path.db or memory://`,
  );
}
