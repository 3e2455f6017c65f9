import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dns1123SubdomainErrors, dns1123LabelErrors, dns1035LabelErrors, qualifiedNameErrors, labelValueErrors, isDNS1123Label,
  isDNS1123Subdomain, isQualifiedName, isValidLabelValue, portNameErrors, ipErrors, isIPv6, cidrErrors, configMapKeyErrors,
  percentErrors, isConfigMapKey, pathSegmentNameErrors,
} from './names.js';
import { validateCronSchedule, validateTimeZone } from './cron.js';

test('upstream messages, verbatim', () => {
  assert.deepEqual(dns1123SubdomainErrors('Foo_bar'), [
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ]);
  assert.deepEqual(dns1123LabelErrors('a.b'), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.deepEqual(dns1035LabelErrors('1abc'), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.deepEqual(qualifiedNameErrors('a/b/c'), [
    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
  ]);
  assert.deepEqual(qualifiedNameErrors('/x'), ['prefix part must be non-empty']);
  assert.equal(qualifiedNameErrors('x'.repeat(64))[0], 'name part must be no more than 63 characters');
  assert.deepEqual(labelValueErrors('x'.repeat(64)).length, 1);
  assert.deepEqual(portNameErrors('-ab--c-'), ['must not contain consecutive hyphens', 'must not begin or end with a hyphen']);
  assert.deepEqual(ipErrors('1.2.3'), ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']);
  assert.deepEqual(percentErrors('10'), ["a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]);
  assert.deepEqual(configMapKeyErrors('..a'), ["must not start with '..'"]);
  assert.deepEqual(pathSegmentNameErrors('a/b'), ["may not contain '/'"]);
});

test('predicates table', () => {
  const cases: Array<[(v: unknown) => boolean, unknown, boolean]> = [
    [isDNS1123Label, 'my-name', true], [isDNS1123Label, 'My-name', false], [isDNS1123Label, 'a'.repeat(64), false], [isDNS1123Label, 1, false],
    [isDNS1123Subdomain, 'example.com', true], [isDNS1123Subdomain, '-a', false], [isDNS1123Subdomain, 'a'.repeat(254), false],
    [isQualifiedName, 'app.kubernetes.io/name', true], [isQualifiedName, 'MyName', true], [isQualifiedName, 'Example.com/x', false], [isQualifiedName, 'a_', false],
    [isValidLabelValue, '', true], [isValidLabelValue, 'v1.2_3', true], [isValidLabelValue, 'a b', false],
    [isConfigMapKey, 'key.name', true], [isConfigMapKey, 'a/b', false], [isConfigMapKey, '.', false],
    [isIPv6, '2001:db8::ffff', true], [isIPv6, '::1', true], [isIPv6, '::ffff:1.2.3.4', true], [isIPv6, '1::2::3', false], [isIPv6, '1.2.3.4', false],
  ];
  for (const [fn, v, want] of cases) assert.equal(fn(v), want, `${fn.name}(${JSON.stringify(v)})`);
  assert.deepEqual(cidrErrors('10.0.0.0/8'), []);
  assert.equal(cidrErrors('10.0.0.0/33').length, 1);
  assert.deepEqual(ipErrors('01.2.3.4').length, 1);
});

test('cron schedules and time zones', () => {
  const ok = ['* * * * *', '*/5 * * * *', '0 0 1 1 *', '0 9-17 * * mon-fri', '@hourly', '@daily', '@every 1h30m', '0 0 ? * SUN', '1,2,3 * * * *', '5/15 * * * *'];
  for (const s of ok) assert.deepEqual(validateCronSchedule(s), [], s);
  const bad: Array<[string, string]> = [
    ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
    ['@fortnightly', 'unrecognized descriptor: @fortnightly'],
    ['60 * * * *', 'end of range (60) above maximum (59): 60'],
    ['x * * * *', 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ['5-2 * * * *', 'beginning of range (5) beyond end of range (2): 5-2'],
    ['* * 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['*/0 * * * *', 'step of range should be a positive number: */0'],
    ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
  ];
  for (const [s, msg] of bad) assert.deepEqual(validateCronSchedule(s), [msg], s);
  assert.deepEqual(validateTimeZone('Europe/Paris'), []);
  assert.deepEqual(validateTimeZone('Etc/UTC'), []);
  assert.deepEqual(validateTimeZone('Mars/Olympus'), ['unknown time zone Mars/Olympus']);
  assert.deepEqual(validateTimeZone('Local'), ['timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones']);
  assert.deepEqual(validateTimeZone(''), ['timeZone must be nil or non-empty string']);
});
