import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApiError } from '../errors.js';
import { applyPatch, patchKind, patchTypeName, MAX_JSON_PATCH_OPERATIONS } from './index.js';
import { goSyntaxError } from './json-syntax.js';

const JSON_PATCH = 'application/json-patch+json';
const MERGE = 'application/merge-patch+json';
const SMP = 'application/strategic-merge-patch+json';

// A loosely typed fixture: the cases below reshape it freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const deployment = (): any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'front' }, finalizers: ['a'] },
  spec: {
    replicas: 1,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 'busybox' },
        ],
        tolerations: [{ key: 'k', operator: 'Exists' }],
      },
    },
  },
});

interface Case {
  name: string;
  contentType: string;
  patch: unknown;
  typeName?: string;
  original?: object;
  /** Applied to a fresh deployment() to build the expected result. */
  want: (d: ReturnType<typeof deployment>) => unknown;
}

const DEPLOY = patchTypeName('apps/v1', 'Deployment');

const cases: Case[] = [
  {
    name: 'json patch: replace',
    contentType: JSON_PATCH,
    patch: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    want: (d) => ((d.spec.replicas = 3), d),
  },
  {
    name: 'json patch: add, remove and passing test',
    contentType: JSON_PATCH,
    patch: [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'add', path: '/metadata/labels/new', value: 'x' },
      { op: 'remove', path: '/metadata/labels/tier' },
      { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'z', image: 'z' } },
    ],
    want: (d) => {
      d.metadata.labels = { app: 'web', new: 'x' } as typeof d.metadata.labels;
      (d.spec.template.spec.containers as unknown[]).push({ name: 'z', image: 'z' });
      return d;
    },
  },
  {
    name: 'json patch: escaped pointer, move and copy',
    contentType: JSON_PATCH,
    patch: [
      { op: 'add', path: '/metadata/annotations', value: { 'a/b': '1' } },
      { op: 'copy', from: '/metadata/annotations/a~1b', path: '/metadata/labels/copied' },
      { op: 'move', from: '/metadata/labels/tier', path: '/metadata/labels/moved' },
    ],
    want: (d) => {
      (d.metadata as Record<string, unknown>).annotations = { 'a/b': '1' };
      d.metadata.labels = { app: 'web', copied: '1', moved: 'front' } as typeof d.metadata.labels;
      return d;
    },
  },
  {
    name: 'merge patch: null deletes, lists replace',
    contentType: MERGE,
    patch: { metadata: { labels: { tier: null } }, spec: { template: { spec: { containers: [{ name: 'only' }] } } } },
    want: (d) => {
      d.metadata.labels = { app: 'web' } as typeof d.metadata.labels;
      d.spec.template.spec.containers = [{ name: 'only' }] as typeof d.spec.template.spec.containers;
      return d;
    },
  },
  {
    name: 'merge patch keeps directive-looking keys as data',
    contentType: MERGE,
    patch: { spec: { strategy: { $retainKeys: ['type'] } } },
    want: (d) => ((d.spec.strategy as Record<string, unknown>).$retainKeys = ['type'], d),
  },
  {
    name: 'merge patch: content type parameters are ignored',
    contentType: 'Application/Merge-Patch+JSON; charset=utf-8',
    patch: { spec: { replicas: 5 } },
    want: (d) => ((d.spec.replicas = 5), d),
  },
  {
    name: 'strategic: set image keeps the other container and fields',
    contentType: SMP,
    typeName: DEPLOY,
    patch: { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } },
    want: (d) => ((d.spec.template.spec.containers[0]!.image = 'nginx:2'), d),
  },
  {
    name: 'strategic: env merge by name and ports by containerPort',
    contentType: SMP,
    typeName: DEPLOY,
    patch: {
      spec: {
        template: {
          spec: {
            containers: [{ name: 'web', env: [{ name: 'A', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] }],
          },
        },
      },
    },
    want: (d) => {
      const c = d.spec.template.spec.containers[0]!;
      c.env = [{ name: 'A', value: '2' }];
      c.ports = [{ containerPort: 80, name: 'http' }] as typeof c.ports;
      return d;
    },
  },
  {
    name: 'strategic: tolerations replaced wholesale',
    contentType: SMP,
    typeName: DEPLOY,
    patch: { spec: { template: { spec: { tolerations: [{ key: 'other', operator: 'Exists' }] } } } },
    want: (d) => ((d.spec.template.spec.tolerations = [{ key: 'other', operator: 'Exists' }]), d),
  },
  {
    name: 'strategic: Recreate with $retainKeys',
    contentType: SMP,
    typeName: DEPLOY,
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } },
    want: (d) => ((d.spec.strategy = { type: 'Recreate' } as typeof d.spec.strategy), d),
  },
  {
    name: 'strategic: $patch delete of a container',
    contentType: SMP,
    typeName: DEPLOY,
    patch: { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } },
    want: (d) => ((d.spec.template.spec.containers = [d.spec.template.spec.containers[0]!]), d),
  },
  {
    name: 'strategic: finalizers merge and delete',
    contentType: SMP,
    typeName: DEPLOY,
    patch: { metadata: { finalizers: ['b'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
    want: (d) => ((d.metadata.finalizers = ['b']), d),
  },
  {
    name: 'strategic on an unknown type behaves like merge patch',
    contentType: SMP,
    patch: { spec: { template: { spec: { containers: [{ name: 'only' }] } } } },
    want: (d) => ((d.spec.template.spec.containers = [{ name: 'only' }] as typeof d.spec.template.spec.containers), d),
  },
];

describe('applyPatch', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const original = tc.original ?? deployment();
      const snapshot = JSON.stringify(original);
      const body = JSON.stringify(tc.patch);
      const got = applyPatch(original, tc.contentType, Buffer.from(body), tc.typeName);
      assert.deepStrictEqual(got, tc.want(deployment()));
      assert.equal(JSON.stringify(original), snapshot, 'original mutated');
      // Strings are accepted as well as Buffers.
      assert.deepStrictEqual(applyPatch(original, tc.contentType, body, tc.typeName), got);
    });
  }

  it('a null strategic patch changes nothing', () => {
    assert.deepStrictEqual(applyPatch(deployment(), SMP, 'null', DEPLOY), deployment());
  });

  it('recognises patch content types', () => {
    assert.equal(patchKind('application/json-patch+json'), 'json');
    assert.equal(patchKind('application/merge-patch+json; charset=utf-8'), 'merge');
    assert.equal(patchKind('APPLICATION/STRATEGIC-MERGE-PATCH+JSON'), 'strategic');
    assert.equal(patchKind('application/apply-patch+yaml'), undefined);
  });

  it('maps kinds to type names', () => {
    assert.equal(patchTypeName('apps/v1', 'Deployment'), 'io.k8s.api.apps.v1.Deployment');
    assert.equal(patchTypeName('v1', 'Service'), 'io.k8s.api.core.v1.Service');
    assert.equal(patchTypeName('stable.example.com/v1', 'CronTab'), undefined);
  });
});

interface ErrCase {
  name: string;
  contentType: string;
  body: string;
  code: number;
  reason?: string;
  message?: string | RegExp;
}

const errCases: ErrCase[] = [
  { name: 'unsupported media type', contentType: 'application/json', body: '{}', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'apply patch is not handled here', contentType: 'application/apply-patch+yaml', body: '{}', code: 415 },
  {
    name: 'failing json patch test op → 422',
    contentType: JSON_PATCH,
    body: '[{"op":"test","path":"/spec/replicas","value":7}]',
    code: 422,
    reason: 'Invalid',
    message: 'the server rejected our request due to an error in our request',
  },
  { name: 'json patch remove of a missing path → 422', contentType: JSON_PATCH, body: '[{"op":"remove","path":"/nope"}]', code: 422 },
  { name: 'json patch add under a missing parent → 422', contentType: JSON_PATCH, body: '[{"op":"add","path":"/a/b/c","value":1}]', code: 422 },
  { name: 'json patch unknown op → 422', contentType: JSON_PATCH, body: '[{"op":"frob","path":"/a"}]', code: 422 },
  { name: 'json patch without value → 422', contentType: JSON_PATCH, body: '[{"op":"add","path":"/a"}]', code: 422 },
  { name: 'json patch replacing the root with a list → 422', contentType: JSON_PATCH, body: '[{"op":"replace","path":"","value":[1]}]', code: 422 },
  { name: 'json patch touching __proto__ → 422', contentType: JSON_PATCH, body: '[{"op":"add","path":"/__proto__/x","value":1}]', code: 422 },
  { name: 'json patch move into own child → 422', contentType: JSON_PATCH, body: '[{"op":"move","from":"/spec","path":"/spec/x"}]', code: 422 },
  {
    name: 'json patch that is an object → 400',
    contentType: JSON_PATCH,
    body: '{"op":"add"}',
    code: 400,
    message: 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp',
  },
  { name: 'json patch op that is a number → 400', contentType: JSON_PATCH, body: '[1]', code: 400 },
  {
    name: 'invalid JSON (json patch) → 400 with Go text',
    contentType: JSON_PATCH,
    body: '[{"op":"add",}]',
    code: 400,
    message: `error decoding patch: invalid character '}' looking for beginning of object key string`,
  },
  { name: 'invalid JSON (merge) → 400', contentType: MERGE, body: '{"a":', code: 400, message: 'error decoding patch: unexpected end of JSON input' },
  {
    name: 'non-object merge patch → 400',
    contentType: MERGE,
    body: '[1]',
    code: 400,
    message: 'error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}',
  },
  { name: 'null merge patch → 400', contentType: MERGE, body: 'null', code: 400, message: 'Invalid JSON Patch' },
  { name: 'invalid JSON (strategic) → 400', contentType: SMP, body: "{'a':1}", code: 400, message: `invalid character '\\'' looking for beginning of object key string` },
  { name: 'empty strategic body → 400', contentType: SMP, body: '', code: 400, message: 'unexpected end of JSON input' },
  {
    name: 'non-object strategic patch → 400',
    contentType: SMP,
    body: '"x"',
    code: 400,
    message: 'json: cannot unmarshal string into Go value of type map[string]interface {}',
  },
  { name: 'invalid strategic directive → 400', contentType: SMP, body: '{"spec":{"$patch":"explode"}}', code: 400, reason: 'BadRequest' },
  { name: 'deeply nested body → 400', contentType: MERGE, body: '{"a":'.repeat(20000) + '1' + '}'.repeat(20000), code: 400 },
];

describe('applyPatch errors', () => {
  for (const tc of errCases) {
    it(tc.name, () => {
      const original = deployment();
      assert.throws(
        () => applyPatch(original, tc.contentType, Buffer.from(tc.body), DEPLOY),
        (e: unknown) => {
          assert.ok(e instanceof ApiError, String(e));
          assert.equal(e.code, tc.code, e.message);
          if (tc.reason) assert.equal(e.reason, tc.reason);
          if (typeof tc.message === 'string') assert.equal(e.message, tc.message);
          else if (tc.message) assert.match(e.message, tc.message);
          return true;
        },
      );
      assert.deepStrictEqual(original, deployment());
    });
  }

  it('too many json patch operations → 413', () => {
    const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' }));
    assert.throws(() => applyPatch(deployment(), JSON_PATCH, JSON.stringify(ops)), (e: unknown) => e instanceof ApiError && e.code === 413);
  });

  it('json patches nesting the object too deep are refused', () => {
    const ops = Array.from({ length: 1200 }, () => ({ op: 'copy', from: '/spec', path: '/spec/template/x' }));
    assert.throws(() => applyPatch(deployment(), JSON_PATCH, JSON.stringify(ops)), (e: unknown) => e instanceof ApiError && e.code === 422);
  });

  it('exponential json patch copies are refused', () => {
    const ops = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/template/x${i}` }));
    assert.throws(() => applyPatch(deployment(), JSON_PATCH, JSON.stringify(ops)), (e: unknown) => e instanceof ApiError && e.code === 422);
  });
});

describe('Go-style JSON syntax errors', () => {
  const table: Array<[string, string | undefined]> = [
    ['{}', undefined],
    [' [1, -2.5e+3, "a\\u00e9", true, null, {"k": false}] ', undefined],
    ['', 'unexpected end of JSON input'],
    ['{"a":', 'unexpected end of JSON input'],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{} x', "invalid character 'x' after top-level value"],
    ['nulx', "invalid character 'x' in literal null (expecting 'l')"],
    ['tru', 'unexpected end of JSON input'],
    ['01', "invalid character '1' after top-level value"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
    ['"a\\qb"', "invalid character 'q' in string escape code"],
    ['"\\u12x4"', "invalid character 'x' in \\u hexadecimal character escape"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ['[,]', "invalid character ',' looking for beginning of value"],
  ];
  for (const [input, want] of table) {
    it(JSON.stringify(input), () => {
      assert.equal(goSyntaxError(Buffer.from(input)), want);
      let valid = true;
      try {
        JSON.parse(input);
      } catch {
        valid = false;
      }
      assert.equal(valid, want === undefined, 'agrees with JSON.parse on validity');
    });
  }
});

describe('patch properties', () => {
  // JSON values biased towards the keys and directives the strategic merge gives meaning to.
  const key = fc.constantFrom(
    'metadata', 'spec', 'template', 'containers', 'name', 'image', 'env', 'value', 'ports', 'containerPort',
    'finalizers', 'labels', 'strategy', 'type', 'rollingUpdate', 'tolerations', 'volumes',
    '$patch', '$retainKeys', '$setElementOrder/containers', '$setElementOrder/finalizers',
    '$deleteFromPrimitiveList/finalizers', '$setElementOrder', '__proto__', 'constructor',
  );
  const scalar = fc.oneof(fc.constantFrom('replace', 'delete', 'merge', 'a', 'b', 'web', 'side'), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.constant(null));
  const { value } = fc.letrec<{ value: unknown; obj: Record<string, unknown>; arr: unknown[] }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('obj'), tie('arr')),
    obj: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    arr: fc.array(tie('value'), { maxLength: 4 }),
  }));
  const objPatch = fc.dictionary(key, value, { maxKeys: 5 });
  const op = fc.record({
    op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'),
    path: fc.constantFrom('', '/spec', '/spec/replicas', '/metadata/labels/x', '/spec/template/spec/containers/0', '/spec/template/spec/containers/-', '/x/y', '/__proto__'),
    from: fc.constantFrom('/spec', '/metadata', '/nope'),
    value,
  }, { requiredKeys: ['op', 'path'] });

  const onlyApiErrors = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      assert.ok(e.code >= 400 && e.code < 500, `${e.code} ${e.message}`);
    }
  };

  it('strategic and merge patches throw only 4xx ApiErrors and never mutate the original', () => {
    fc.assert(
      fc.property(objPatch, fc.constantFrom(SMP, MERGE), fc.constantFrom(DEPLOY, undefined), (patch, ct, typeName) => {
        const original = deployment();
        const body = JSON.stringify(patch);
        onlyApiErrors(() => {
          const out = applyPatch(original, ct, body, typeName);
          if (ct === SMP) assert.ok(!/"\$(patch|retainKeys|setElementOrder\/|deleteFromPrimitiveList\/)/.test(JSON.stringify(out)), 'directive leaked');
        });
        assert.deepStrictEqual(original, deployment());
        assert.equal(({} as Record<string, unknown>)['x'], undefined);
      }),
      { numRuns: 400 },
    );
  });

  it('json patches throw only 4xx ApiErrors and never mutate the original', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 6 }), (ops) => {
        const original = deployment();
        onlyApiErrors(() => applyPatch(original, JSON_PATCH, JSON.stringify(ops)));
        assert.deepStrictEqual(original, deployment());
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary bytes never crash the decoders', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.constantFrom(SMP, MERGE, JSON_PATCH), (s, ct) => {
        onlyApiErrors(() => applyPatch(deployment(), ct, s, DEPLOY));
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseJsonBody depth limit', () => {
  it('refuses nesting deeper than Go allows and accepts the limit itself, for Buffer and string bodies', async () => {
    const { parseJsonBody } = await import('./json-syntax.js');
    const nest = (d: number) => '['.repeat(d) + ']'.repeat(d);
    for (const wrap of [(s: string) => s, (s: string) => Buffer.from(s)]) {
      assert.throws(() => parseJsonBody(wrap(nest(10001)), 'p: '), (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === 'p: exceeded max depth');
      assert.ok(Array.isArray(parseJsonBody(wrap(nest(10000)))));
      assert.deepEqual(parseJsonBody(wrap('{"a":[1,{"b":"[[["}]}')), { a: [1, { b: '[[[' }] });
      assert.throws(() => parseJsonBody(wrap('{"a":'), 'p: '), (e: unknown) => e instanceof ApiError && e.message === 'p: unexpected end of JSON input');
    }
  });
});
