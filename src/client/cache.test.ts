import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Indexer, keyOf, Lister, splitKey, type MetaObject } from './cache.js';

const obj = (ns: string | undefined, name: string, labels?: Record<string, string>): MetaObject => ({ metadata: { namespace: ns, name, labels } });

test('keys follow MetaNamespaceKeyFunc', () => {
  const cases: Array<{ o: MetaObject; key: string }> = [
    { o: obj('ns', 'a'), key: 'ns/a' },
    { o: obj(undefined, 'node-1'), key: 'node-1' },
  ];
  for (const c of cases) {
    assert.equal(keyOf(c.o), c.key);
    assert.deepEqual(splitKey(c.key), c.o.metadata!.namespace ? { namespace: 'ns', name: 'a' } : { name: 'node-1' });
  }
  assert.throws(() => keyOf({ metadata: {} }), /no metadata.name/);
});

test('indexes follow set/delete, late indexers index existing items, duplicates are rejected', () => {
  const ix = new Indexer<MetaObject>();
  ix.set('a/x', obj('a', 'x', { tier: 'fe' }));
  ix.set('b/y', obj('b', 'y', { tier: 'be' }));
  ix.addIndexer('tier', (o) => [o.metadata?.labels?.tier ?? '']);
  assert.deepEqual(ix.indexKeys('tier', 'fe'), ['a/x']);
  ix.set('a/x', obj('a', 'x', { tier: 'be' }));
  assert.deepEqual(ix.indexKeys('tier', 'fe'), []);
  assert.deepEqual(ix.indexKeys('tier', 'be').sort(), ['a/x', 'b/y']);
  ix.delete('b/y');
  assert.deepEqual(ix.indexKeys('tier', 'be'), ['a/x']);
  assert.deepEqual(ix.indexKeys('namespace', 'b'), []);
  assert.equal(ix.delete('missing'), undefined);
  assert.throws(() => ix.addIndexer('tier', () => []), /already exists/);
  assert.throws(() => ix.indexKeys('nope', 'x'), /does not exist/);
});

test('lister selects by namespace and selector, cluster-scoped objects included', () => {
  const ix = new Indexer<MetaObject>();
  for (const o of [obj('a', 'x', { app: 'web' }), obj('a', 'y', { app: 'db' }), obj(undefined, 'n1', { app: 'web' })]) ix.set(keyOf(o), o);
  const l = new Lister(ix);
  const names = (os: MetaObject[]) => os.map((o) => o.metadata!.name).sort();
  const cases: Array<{ ns?: string; sel?: string; want: string[] }> = [
    { want: ['n1', 'x', 'y'] },
    { ns: 'a', want: ['x', 'y'] },
    { sel: 'app=web', want: ['n1', 'x'] },
    { ns: 'a', sel: 'app!=web', want: ['y'] },
    { sel: 'app in (web,db)', want: ['n1', 'x', 'y'] },
    { sel: '!app', want: [] },
  ];
  for (const c of cases) assert.deepEqual(names(l.list(c.ns, c.sel)), c.want, `${c.ns}/${c.sel}`);
  assert.equal(l.get(undefined, 'n1')?.metadata?.name, 'n1');
  assert.equal(l.get('a', 'x')?.metadata?.name, 'x');
});

test('replacing objects moves only changed index values; buckets empty out; late indexers stay aligned', () => {
  const ix = new Indexer<MetaObject>();
  ix.set('a/x', obj('a', 'x', { app: 'web', tier: 'fe' }));
  ix.set('a/x', obj('a', 'x', { app: 'web', tier: 'fe' }));
  assert.deepEqual(ix.indexKeys('labels', 'app=web'), ['a/x']);
  ix.set('a/x', obj('a', 'x', { tier: 'be', app: 'web' }));
  assert.deepEqual(ix.indexKeys('labels', 'app=web'), ['a/x']);
  assert.deepEqual(ix.indexKeys('labels', 'tier=fe'), []);
  assert.deepEqual(ix.indexKeys('labels', 'tier=be'), ['a/x']);
  // A cached object changed in place (a caller bug) still leaves the index consistent: old values were remembered.
  const o = obj('a', 'y', { app: 'db' });
  ix.set('a/y', o);
  o.metadata!.labels = { app: 'other' };
  ix.addIndexer('app', (v) => (v.metadata?.labels?.app ? [v.metadata.labels.app] : []));
  assert.deepEqual(ix.indexKeys('app', 'other'), ['a/y']);
  ix.delete('a/y');
  assert.deepEqual(ix.indexKeys('labels', 'app=db'), []);
  assert.deepEqual(ix.indexKeys('app', 'other'), []);
  ix.set('b/z', obj('b', 'z', { app: 'web' }));
  assert.deepEqual(ix.indexKeys('app', 'web').sort(), ['a/x', 'b/z']);
  ix.set('b/z', obj('b', 'z'));
  assert.deepEqual(ix.indexKeys('app', 'web'), ['a/x']);
  assert.deepEqual(ix.indexKeys('namespace', 'b'), ['b/z']);
  assert.equal(ix.size, 2);
});
