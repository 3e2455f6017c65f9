import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeVolumeFiles, writeVolumeFilesSync, type VolumeFiles } from './volume-writer.js';

const root = mkdtempSync(join(tmpdir(), 'skiff-volume-writer-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const files = (d: string) => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(d.length + 1)).sort();
const modeOf = (p: string) => statSync(p).mode & 0o777;
const vf = (o: Record<string, [string, number?]>): VolumeFiles => new Map(Object.entries(o).map(([k, [s, mode]]) => [k, { data: Buffer.from(s), mode }]));

const onLoop = async (dir: string, f: VolumeFiles, mode: number) => writeVolumeFilesSync(dir, f, mode);
for (const [name, write] of [['writer (thread, or the loop when quiet)', writeVolumeFiles], ['event loop', onLoop]] as const) {
  test(`volume files via the ${name}: nested paths, exact modes, refresh removes stale files, errors reject`, async () => {
    const dir = join(root, name.replace(/\W/g, '-'), 'volumes', 'kubernetes.io~configmap', 'cfg');
    await write(dir, vf({ a: ['1'], 'sub/b': ['2', 0o600], x: ['x', 0o777] }), 0o644);
    assert.deepEqual(files(dir), ['a', 'sub/b', 'x']);
    assert.equal(readFileSync(join(dir, 'sub/b'), 'utf8'), '2');
    assert.equal(modeOf(join(dir, 'a')), 0o644);
    assert.equal(modeOf(join(dir, 'sub/b')), 0o600);
    assert.equal(modeOf(join(dir, 'x')), 0o777, 'the umask does not take bits away');
    // Refresh: changed content rewritten, unchanged kept, stale removed, modes converge.
    writeFileSync(join(dir, 'leftover'), 'old');
    const before = statSync(join(dir, 'a')).mtimeMs;
    await write(dir, vf({ a: ['1', 0o640], 'sub/b': ['22'] }), 0o644);
    assert.deepEqual(files(dir), ['a', 'sub/b']);
    assert.equal(readFileSync(join(dir, 'sub/b'), 'utf8'), '22');
    assert.equal(modeOf(join(dir, 'sub/b')), 0o644);
    assert.equal(modeOf(join(dir, 'a')), 0o640);
    assert.equal(statSync(join(dir, 'a')).mtimeMs, before, 'unchanged content is not rewritten');
    // A directory that cannot be made (a file is in the way): the error comes back with its code.
    const blocked = join(root, `${name.replace(/\W/g, '-')}-file`);
    writeFileSync(blocked, '');
    await assert.rejects(write(join(blocked, 'vol'), vf({ a: ['1'] }), 0o644), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' || e.code === 'EEXIST');
    // Many at once (a burst): all written.
    await Promise.all(Array.from({ length: 20 }, (_, i) => write(join(root, `${name.replace(/\W/g, '-')}-many`, String(i)), vf({ token: [`t${i}`], 'ca.crt': ['CA'] }), 0o644)));
    for (let i = 0; i < 20; i++) assert.equal(readFileSync(join(root, `${name.replace(/\W/g, '-')}-many`, String(i), 'token'), 'utf8'), `t${i}`);
  });
}
