import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ingress, IngressClass, IngressRule } from 'kubernetes-types/networking/v1.js';
import { buildRouteTable, hostMatches, isOurIngress, normalizeHost, pathMatches, requestPath } from './routes.js';

// ---- tiny builders ----------------------------------------------------------------------------------------------

let seq = 0;
function ing(name: string, spec: Ingress['spec'], meta: Partial<NonNullable<Ingress['metadata']>> = {}): Ingress {
  seq++;
  return {
    metadata: { name, namespace: 'default', creationTimestamp: `2026-01-01T00:00:${String(seq).padStart(2, '0')}Z`, ...meta },
    spec,
  };
}
const svc = (name: string, port = 80) => ({ service: { name, port: { number: port } } });
function rule(host: string | undefined, ...paths: Array<[string, 'Exact' | 'Prefix' | 'ImplementationSpecific', string]>): IngressRule {
  return { host, http: { paths: paths.map(([path, pathType, s]) => ({ path, pathType, backend: svc(s) })) } };
}
const cls = (name: string, controller: string, isDefault = false): IngressClass => ({
  metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} },
  spec: { controller },
});

// ---- matchers ---------------------------------------------------------------------------------------------------

test('pathMatches follows the Ingress spec examples table', () => {
  const cases: Array<[type: 'Exact' | 'Prefix', rule: string, req: string, want: boolean]> = [
    ['Prefix', '/', '/anything', true],
    ['Exact', '/foo', '/foo', true],
    ['Exact', '/foo', '/bar', false],
    ['Exact', '/foo', '/foo/', false],
    ['Exact', '/foo/', '/foo', false],
    ['Prefix', '/foo', '/foo', true],
    ['Prefix', '/foo', '/foo/', true],
    ['Prefix', '/foo/', '/foo', true],
    ['Prefix', '/foo/', '/foo/', true],
    ['Prefix', '/aaa/bb', '/aaa/bbb', false],
    ['Prefix', '/aaa/bbb', '/aaa/bbb', true],
    ['Prefix', '/aaa/bbb/', '/aaa/bbb', true],
    ['Prefix', '/aaa/bbb', '/aaa/bbb/', true],
    ['Prefix', '/aaa/bbb', '/aaa/bbb/ccc', true],
    ['Prefix', '/aaa/bbb', '/aaa/bbbxyz', false],
    ['Prefix', '/foo', '/foobar', false],
  ];
  for (const [type, r, req, want] of cases) assert.equal(pathMatches(type, r, req), want, `${type} ${r} vs ${req}`);
});

test('hostMatches: exact, case-insensitive, and wildcards covering exactly one label', () => {
  const cases: Array<[string, string, boolean]> = [
    ['foo.bar.com', 'foo.bar.com', true],
    ['Foo.Bar.com', 'foo.bar.com', true],
    ['*.bar.com', 'foo.bar.com', true],
    ['*.bar.com', 'bar.com', false],
    ['*.bar.com', 'baz.foo.bar.com', false],
    ['foo.bar.com', 'baz.bar.com', false],
  ];
  for (const [p, h, want] of cases) assert.equal(hostMatches(p, h), want, `${p} vs ${h}`);
});

test('normalizeHost and requestPath strip ports, dots, queries and absolute-form URLs', () => {
  assert.equal(normalizeHost('Foo.Example.COM:8080'), 'foo.example.com');
  assert.equal(normalizeHost('foo.example.com.'), 'foo.example.com');
  assert.equal(normalizeHost('[::1]:80'), '::1');
  assert.equal(normalizeHost(undefined), '');
  assert.equal(requestPath('/a/b?x=1'), '/a/b');
  assert.equal(requestPath('http://h.example/a?x'), '/a');
  assert.equal(requestPath(''), '/');
});

// ---- class selection --------------------------------------------------------------------------------------------

test('isOurIngress: class name, legacy annotation, default class', () => {
  const skiff = cls('skiff', 'skiff.dev/ingress', true);
  const nginx = cls('nginx', 'k8s.io/ingress-nginx');
  const cases: Array<{ name: string; ing: Ingress; classes: IngressClass[]; want: boolean }> = [
    { name: 'className skiff', ing: ing('a', { ingressClassName: 'skiff' }), classes: [skiff, nginx], want: true },
    { name: 'className skiff before the class exists', ing: ing('a', { ingressClassName: 'skiff' }), classes: [], want: true },
    { name: 'className of another controller', ing: ing('a', { ingressClassName: 'nginx' }), classes: [skiff, nginx], want: false },
    { name: 'another class name with our controller', ing: ing('a', { ingressClassName: 'mine' }), classes: [cls('mine', 'skiff.dev/ingress')], want: true },
    { name: 'class skiff taken by another controller', ing: ing('a', { ingressClassName: 'skiff' }), classes: [cls('skiff', 'x/y')], want: false },
    { name: 'unknown class name', ing: ing('a', { ingressClassName: 'nope' }), classes: [skiff], want: false },
    {
      name: 'legacy annotation',
      ing: ing('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'skiff' } }),
      classes: [cls('skiff', 'skiff.dev/ingress'), cls('nginx', 'k8s.io/ingress-nginx', true)],
      want: true,
    },
    { name: 'legacy annotation of another class', ing: ing('a', {}, { annotations: { 'kubernetes.io/ingress.class': 'nginx' } }), classes: [skiff], want: false },
    { name: 'no class, skiff is the default', ing: ing('a', {}), classes: [skiff, nginx], want: true },
    { name: 'no class, no default', ing: ing('a', {}), classes: [cls('skiff', 'skiff.dev/ingress')], want: false },
    { name: 'no class, another default', ing: ing('a', {}), classes: [cls('skiff', 'skiff.dev/ingress'), cls('nginx', 'n', true)], want: false },
    { name: 'no class, two defaults', ing: ing('a', {}), classes: [skiff, cls('nginx', 'n', true)], want: false },
  ];
  for (const c of cases) assert.equal(isOurIngress(c.ing, c.classes), c.want, c.name);
});

// ---- the merged table -------------------------------------------------------------------------------------------

test('buildRouteTable: hosts, path types, precedence and default backend', () => {
  const t = buildRouteTable([
    ing('one', {
      rules: [
        rule('foo.example.com', ['/', 'Prefix', 'foo-root'], ['/api', 'Prefix', 'foo-api'], ['/api', 'Exact', 'foo-api-exact']),
        rule('*.example.com', ['/', 'Prefix', 'wild']),
        rule(undefined, ['/shared', 'ImplementationSpecific', 'any-shared']),
      ],
    }),
    ing('two', {
      defaultBackend: svc('default-two'),
      rules: [rule('foo.example.com', ['/api/v2', 'Prefix', 'foo-v2'], ['/', 'Prefix', 'loses-to-older'])],
    }),
    ing('three', { defaultBackend: svc('default-three'), rules: [rule('bar.example.com', ['/only', 'Exact', 'bar-only'])] }),
  ]);
  const cases: Array<[host: string, path: string, want: string | undefined]> = [
    ['foo.example.com', '/', 'foo-root'],
    ['FOO.example.com:80', '/x', 'foo-root'],
    ['foo.example.com', '/api', 'foo-api-exact'],
    ['foo.example.com', '/api/', 'foo-api'],
    ['foo.example.com', '/api/x?q=1', 'foo-api'],
    ['foo.example.com', '/apix', 'foo-root'],
    ['foo.example.com', '/api/v2/items', 'foo-v2'],
    ['foo.example.com', '/shared', 'foo-root'], // no fall-through to host-less rules
    ['zap.example.com', '/anything', 'wild'],
    ['a.b.example.com', '/shared', 'any-shared'],
    ['other.test', '/shared/x', 'any-shared'],
    ['other.test', '/', 'default-two'], // oldest Ingress's defaultBackend
    ['bar.example.com', '/only', 'bar-only'],
    ['bar.example.com', '/only/more', 'default-two'],
  ];
  for (const [host, path, want] of cases) assert.equal(t.match(host, path)?.backend.service?.name, want, `${host}${path}`);
  assert.equal(t.match('foo.example.com', '/api')?.pathType, 'Exact');
  assert.equal(t.match('zap.example.com', '/')?.ingress, 'default/one');
});

test('buildRouteTable: no default backend means no match (404), and relative paths are reported', () => {
  const t = buildRouteTable([ing('x', { rules: [rule('h.test', ['/a', 'Prefix', 's'], ['bad', 'Prefix', 's'])] })]);
  assert.equal(t.match('h.test', '/b'), undefined);
  assert.equal(t.match('h.test', '/a')?.backend.service?.name, 's');
  assert.equal(t.problems.length, 1);
  assert.match(t.problems[0]!.message, /not absolute/);
});

test('buildRouteTable: TLS bindings by exact and wildcard host; empty hosts cover the rule hosts', () => {
  const t = buildRouteTable([
    ing('a', { tls: [{ hosts: ['a.test', '*.wild.test'], secretName: 'a-cert' }], rules: [rule('a.test', ['/', 'Prefix', 's'])] }),
    ing('b', { tls: [{ secretName: 'b-cert' }], rules: [rule('b.test', ['/', 'Prefix', 's'])] }, { namespace: 'other' }),
    ing('c', { tls: [{ hosts: ['a.test'], secretName: 'newer' }] }),
  ]);
  assert.deepEqual(t.tlsFor('a.test'), { namespace: 'default', secretName: 'a-cert', ingress: 'default/a' });
  assert.equal(t.tlsFor('x.wild.test')?.secretName, 'a-cert');
  assert.equal(t.tlsFor('wild.test'), undefined);
  assert.deepEqual(t.tlsFor('B.test'), { namespace: 'other', secretName: 'b-cert', ingress: 'other/b' });
  assert.equal(t.tlsFor('unknown.test'), undefined);
});
