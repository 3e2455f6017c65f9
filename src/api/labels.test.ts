import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApiError } from './errors.js';
import {
  formatLabels,
  formatLabelSelector,
  isEmpty,
  labelSelectorObjectToString,
  labelSelectorToString,
  matches,
  matchesNothing,
  sameLabelSet,
  parseLabelSelector,
  requiresExactMatch,
  selectorFromLabelSelectorObject,
  selectorFromSet,
} from './labels.js';

const L = { app: 'web', tier: 'frontend', gen: '5', empty: '' };

describe('parseLabelSelector: parse and match', () => {
  // [selector, canonical string, matches L?]
  const cases: Array<[string, string, boolean]> = [
    ['', '', true],
    ['   ', '', true],
    ['app=web', 'app=web', true],
    ['app==web', 'app==web', true],
    ['app = web', 'app=web', true],
    ['app!=web', 'app!=web', false],
    ['app!=db', 'app!=db', true],
    ['missing!=x', 'missing!=x', true],
    ['app in (web,db)', 'app in (db,web)', true],
    ['app in (db)', 'app in (db)', false],
    ['app notin (db)', 'app notin (db)', true],
    ['app notin (web, db)', 'app notin (db,web)', false],
    ['missing notin (a)', 'missing notin (a)', true],
    ['missing in (a)', 'missing in (a)', false],
    ['app', 'app', true],
    ['missing', 'missing', false],
    ['!missing', '!missing', true],
    ['!app', '!app', false],
    ['gen>4', 'gen>4', true],
    ['gen>5', 'gen>5', false],
    ['gen<6', 'gen<6', true],
    ['gen < 5', 'gen<5', false],
    ['app>1', 'app>1', false], // label value is not an integer
    ['missing>1', 'missing>1', false],
    ['empty=', 'empty=', true],
    ['empty==', 'empty==', true], // upstream accepts an empty exact value
    ['app=', 'app=', false],
    ['empty in ()', 'empty in ()', true],
    ['empty in (,a)', 'empty in (,a)', true],
    ['app in (web,)', 'app in (,web)', true],
    ['tier=frontend,app=web', 'app=web,tier=frontend', true],
    ['tier=frontend, app in (web), !canary, gen>1', 'app in (web),!canary,gen>1,tier=frontend', true],
    ['x in (in)', 'x in (in)', false],
    ['in in (notin)', 'in in (notin)', false],
    ['example.com/app=web', 'example.com/app=web', false],
    ['a\tin\t(b)', 'a in (b)', false],
    // NUL quirks of upstream's byte lexer: it ends input where a token starts, and is swallowed right after one.
    ['app\0=web', 'app=web', true],
    ['\0app=db', '', true],
  ];
  for (const [s, canon, want] of cases) {
    it(JSON.stringify(s), () => {
      const sel = parseLabelSelector(s);
      assert.equal(labelSelectorToString(sel), canon);
      assert.equal(matches(sel, L), want);
    });
  }

  it('big in-sets use a Set and still match', () => {
    const vals = Array.from({ length: 20 }, (_, i) => `v${i}`);
    const sel = parseLabelSelector(`k in (${vals.join(',')})`);
    assert.equal(matches(sel, { k: 'v13' }), true);
    assert.equal(matches(sel, { k: 'v99' }), false);
    assert.equal(matches(parseLabelSelector(`k notin (${vals.join(',')})`), { k: 'v13' }), false);
  });

  it('gt/lt compare int64 exactly', () => {
    const sel = parseLabelSelector('n>9007199254740992');
    assert.equal(matches(sel, { n: '9007199254740993' }), true);
    assert.equal(matches(sel, { n: '9007199254740992' }), false);
    assert.equal(matches(sel, { n: '99999999999999999999' }), false); // out of int64: no match
  });

  it('prototype keys are not labels', () => {
    assert.equal(matches(parseLabelSelector('constructor'), {}), false);
    assert.equal(matches(parseLabelSelector('!constructor'), {}), true);
    assert.equal(matches(parseLabelSelector('toString!=x'), undefined), true);
  });

  it('undefined labels are treated as empty', () => {
    assert.equal(matches(parseLabelSelector('a'), undefined), false);
    assert.equal(matches(parseLabelSelector('!a'), undefined), true);
    assert.equal(matches(parseLabelSelector(''), undefined), true);
  });
});

describe('parseLabelSelector: invalid input is a 400 with upstream wording', () => {
  const qn = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  const cases: Array<[string, string]> = [
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['a===', "unable to parse requirement: found '=', expected: identifier"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b c)', "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ['a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['a,', "found '', expected: identifier after ','"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['app:monolith', `unable to parse requirement: <nil>: Invalid value: "app:monolith": name part ${qn}`],
    ['-a', `unable to parse requirement: <nil>: Invalid value: "-a": name part ${qn}`],
    [
      'a/b/c=d',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name ${qn} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    [
      'Bad.Prefix/a',
      "unable to parse requirement: <nil>: Invalid value: \"Bad.Prefix/a\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ],
    ['/a', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    ['a/', `unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; name part ${qn}`],
    [`${'k'.repeat(64)}`, `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`],
    [
      'a=b$',
      "unable to parse requirement: values[0][a]: Invalid value: \"b$\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
    [`a=${'v'.repeat(64)}`, `unable to parse requirement: values[0][a]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
    ['a>b', `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`],
    // The operand is also validated as a label value, so negative numbers are rejected as upstream does.
    ['gen>-1', "unable to parse requirement: values[0][gen]: Invalid value: \"-1\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
    ['a<1.5', `unable to parse requirement: values[0]: Invalid value: "1.5": for 'Gt', 'Lt' operators, the value must be an integer`],
  ];
  for (const [s, msg] of cases) {
    it(JSON.stringify(s), () => {
      assert.throws(
        () => parseLabelSelector(s),
        (e: unknown) => {
          assert.ok(e instanceof ApiError, 'ApiError');
          assert.equal(e.code, 400);
          assert.equal(e.reason, 'BadRequest');
          assert.equal(e.message, msg);
          return true;
        },
      );
    });
  }

  it('never throws anything but an ApiError 400 (property)', () => {
    const alphabet = fc.constantFrom(...'ab=!(),<> \t\n/.-_in0$\\'.split(''), 'in', 'notin', '==', '!=');
    const arb = fc.oneof(fc.string(), fc.array(alphabet, { maxLength: 20 }).map((a) => a.join('')));
    fc.assert(
      fc.property(arb, (s) => {
        try {
          const sel = parseLabelSelector(s);
          // A selector that parsed must print to a string that parses to the same selector.
          const again = parseLabelSelector(labelSelectorToString(sel));
          assert.equal(labelSelectorToString(again), labelSelectorToString(sel));
        } catch (e) {
          if (!(e instanceof ApiError) || e.code !== 400) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('selectorFromLabelSelectorObject', () => {
  it('null and undefined match nothing; {} matches everything', () => {
    for (const o of [null, undefined]) {
      const s = selectorFromLabelSelectorObject(o);
      assert.equal(matches(s, {}), false);
      assert.equal(matchesNothing(s), true);
      assert.equal(isEmpty(s), false);
    }
    const all = selectorFromLabelSelectorObject({});
    assert.equal(matches(all, {}), true);
    assert.equal(isEmpty(all), true);
    assert.equal(isEmpty(selectorFromLabelSelectorObject({ matchLabels: {}, matchExpressions: [] })), true);
  });

  const cases: Array<[string, Parameters<typeof selectorFromLabelSelectorObject>[0], string, Record<string, string>, boolean]> = [
    ['matchLabels', { matchLabels: { app: 'web' } }, 'app=web', { app: 'web' }, true],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] }, 'tier in (a,b)', { tier: 'a' }, true],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a'] }] }, 'tier notin (a)', { tier: 'a' }, false],
    ['Exists', { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, 'gpu', { gpu: '' }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, '!gpu', { gpu: '' }, false],
    [
      'both, sorted by key',
      { matchLabels: { z: '1', a: '2' }, matchExpressions: [{ key: 'm', operator: 'Exists' }] },
      'a=2,m,z=1',
      { z: '1', a: '2', m: 'x' },
      true,
    ],
  ];
  for (const [name, obj, str, labels, want] of cases) {
    it(name, () => {
      const s = selectorFromLabelSelectorObject(obj);
      assert.equal(labelSelectorToString(s), str);
      assert.equal(matches(s, labels), want);
    });
  }

  it('rejects bad operators, keys and value counts with 400', () => {
    const bad: Array<[Parameters<typeof selectorFromLabelSelectorObject>[0], string]> = [
      [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, '"Gt" is not a valid label selector operator'],
      [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"],
      [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'],
      [{ matchLabels: { 'a b': 'c' } }, 'key: Invalid value: "a b": name part'],
    ];
    for (const [o, msg] of bad) {
      assert.throws(() => selectorFromLabelSelectorObject(o), (e: unknown) => e instanceof ApiError && e.code === 400 && e.message.startsWith(msg));
    }
  });
});

describe('formatting helpers', () => {
  it('formatLabelSelector as kubectl prints it', () => {
    assert.equal(formatLabelSelector({ matchLabels: { app: 'web' } }), 'app=web');
    assert.equal(formatLabelSelector({}), '<none>');
    assert.equal(formatLabelSelector(null), '<none>');
    assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), '<error>');
    assert.equal(
      formatLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod', 'dev'] }] }),
      'app=web,env notin (dev,prod)',
    );
  });

  it('labelSelectorObjectToString is the bare String() form (Scale.status.selector)', () => {
    assert.equal(labelSelectorObjectToString({ matchLabels: { app: 'web' } }), 'app=web');
    assert.equal(labelSelectorObjectToString({}), '');
    assert.equal(labelSelectorObjectToString(undefined), '');
  });

  it('formatLabels sorts keys and prints <none> when empty', () => {
    assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
    assert.equal(formatLabels({}), '<none>');
    assert.equal(formatLabels(undefined), '<none>');
  });

  it('selectorFromSet and requiresExactMatch', () => {
    const s = selectorFromSet({ b: '2', a: '1' });
    assert.equal(labelSelectorToString(s), 'a=1,b=2');
    assert.equal(matches(s, { a: '1', b: '2', c: '3' }), true);
    assert.equal(requiresExactMatch(s, 'b'), '2');
    assert.equal(requiresExactMatch(parseLabelSelector('x in (y)'), 'x'), 'y');
    assert.equal(requiresExactMatch(parseLabelSelector('x in (y,z)'), 'x'), undefined);
    assert.equal(requiresExactMatch(parseLabelSelector('x!=y'), 'x'), undefined);
    assert.equal(isEmpty(selectorFromSet({})), true);
  });
});

describe('sameLabelSet', () => {
  const cases: Array<[Record<string, string> | undefined | null, Record<string, string> | undefined | null, boolean]> = [
    [undefined, undefined, true],
    [undefined, {}, true],
    [null, {}, true],
    [{ a: '1' }, { a: '1' }, true],
    [{ a: '1', b: '2' }, { b: '2', a: '1' }, true],
    [{ a: '1' }, { a: '2' }, false],
    [{ a: '1' }, { a: '1', b: '2' }, false],
    [{ a: '1', b: '2' }, { a: '1' }, false],
    [{ a: '' }, {}, false],
    [undefined, { a: '1' }, false],
  ];
  for (const [a, b, want] of cases) {
    it(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`, () => {
      assert.equal(sameLabelSet(a, b), want);
      assert.equal(sameLabelSet(b, a), want);
    });
  }
});
