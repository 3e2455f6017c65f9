import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseQuantity, formatQuantity, canonicalQuantity, compareQuantities, isValidQuantity, quantityToMilli, quantityToNumber,
  quantityValue, quantityMilliValue, addQuantities, subtractQuantities, newMilliQuantity, newQuantity, newScaledQuantity, roundUpQuantity,
  QuantityError, QUANTITY_ERR_FORMAT, QUANTITY_ERR_SUFFIX,
} from './quantity.js';

// input → canonical string, as kube-apiserver prints it back.
const CANONICAL: Array<[string, string]> = [
  ['0', '0'], ['00', '0'], ['-0', '0'], ['0.0', '0'], ['0Mi', '0'],
  ['100m', '100m'], ['0.1', '100m'], ['0.5', '500m'], ['.5', '500m'], ['1.5', '1500m'], ['1', '1'], ['1.', '1.'],
  ['1000', '1k'], ['1500', '1500'], ['2k', '2k'], ['2000k', '2M'], ['1024', '1024'],
  ['1e3', '1e3'], ['1E3', '1E3'], ['1e+3', '1e+3'], ['1000e0', '1e3'], ['1.5e3', '1500'], ['1e-3', '1e-3'], ['12e5', '1200e3'],
  ['1Ki', '1Ki'], ['1024Ki', '1Mi'], ['1.5Gi', '1536Mi'], ['0.5Gi', '512Mi'], ['1500Mi', '1500Mi'], ['0.5Ki', '512'],
  ['0.1Gi', '107374182400m'], ['-1Ki', '-1Ki'], ['1Ei', '1Ei'], ['8Ei', '9223372036854775807'], ['16Ei', '9223372036854775807'], ['128974848', '128974848'],
  ['129e6', '129e6'], ['129M', '129M'], ['123Mi', '123Mi'], ['1n', '1n'], ['1.5n', '2n'], ['0.0000000001', '1n'],
  ['-0.0000000001', '-1n'], ['1u', '1u'], ['+1', '+1'], ['01', '01'], ['10', '10'], ['100', '100'], ['1.1', '1100m'],
  ['5G', '5G'], ['1.5Ki', '1536'], ['1Ti', '1Ti'], ['1000000000000000000000', '1e21'], ['1M', '1M'],
];

test('parse + format matches upstream canonical form', () => {
  for (const [input, want] of CANONICAL) assert.equal(canonicalQuantity(input), want, input);
});

test('invalid quantities throw with the upstream message', () => {
  const bad: Array<[string, string]> = [
    ['', QUANTITY_ERR_FORMAT], ['1.2.3', QUANTITY_ERR_FORMAT], ['abc', QUANTITY_ERR_FORMAT], ['1Kb', QUANTITY_ERR_FORMAT],
    ['--1', QUANTITY_ERR_SUFFIX], ['1K', QUANTITY_ERR_SUFFIX], ['1e', QUANTITY_ERR_SUFFIX], ['1 Gi', QUANTITY_ERR_FORMAT],
    ['1mm', QUANTITY_ERR_SUFFIX], [' 1', QUANTITY_ERR_FORMAT], ['1Gi ', QUANTITY_ERR_FORMAT], ['0x10', QUANTITY_ERR_FORMAT],
    ['1e1.5', QUANTITY_ERR_FORMAT], ['Gi', QUANTITY_ERR_SUFFIX] /* upstream: 0 with suffix Gi is allowed? see below */,
  ];
  for (const [s, msg] of bad) {
    if (s === 'Gi') continue;
    assert.throws(() => parseQuantity(s), (e: unknown) => e instanceof QuantityError && e.message === msg, s);
    assert.equal(isValidQuantity(s), false, s);
  }
  assert.equal(isValidQuantity(12), false);
  assert.equal(isValidQuantity('Gi'), true); // upstream's scanner accepts an empty numerator as 0
});

test('comparison is by value across formats', () => {
  const cases: Array<[string, string, number]> = [
    ['1k', '1000', 0], ['1Ki', '1000', 1], ['100m', '0.1', 0], ['1', '999m', 1], ['-1', '1', -1], ['1e3', '1k', 0],
    ['1Gi', '1G', 1], ['0', '-0', 0], ['1e100', '1e99', 1], ['1n', '0', 1], ['1500m', '1.5', 0],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(compareQuantities(a, b), want, `${a} vs ${b}`);
    assert.equal(compareQuantities(b, a), want === 0 ? 0 : -want, `${b} vs ${a}`);
  }
});

test('numeric accessors', () => {
  assert.equal(quantityToMilli('100m'), 100);
  assert.equal(quantityToMilli('1.5'), 1500);
  assert.equal(quantityToMilli('1n'), 1); // rounded up
  assert.equal(quantityToMilli('2'), 2000);
  assert.equal(quantityValue('1.5Gi'), 1610612736n);
  assert.equal(quantityValue('100m'), 1n);
  assert.equal(quantityValue('8Ei'), (1n << 63n) - 1n);
  assert.equal(quantityMilliValue('1Ki'), 1024000n);
  assert.equal(quantityToNumber('1.5Gi'), 1610612736);
  assert.equal(quantityToNumber('250m'), 0.25);
  assert.equal(quantityToNumber('0'), 0);
});

test('arithmetic and constructors', () => {
  assert.equal(formatQuantity(addQuantities('100m', '900m')), '1');
  assert.equal(formatQuantity(addQuantities('1Gi', '1Gi')), '2Gi');
  assert.equal(formatQuantity(subtractQuantities('1', '250m')), '750m');
  assert.equal(formatQuantity(addQuantities('0', '1Ki')), '1Ki');
  assert.equal(formatQuantity(newMilliQuantity(250)), '250m');
  assert.equal(formatQuantity(newQuantity(1024 * 1024, 'BinarySI')), '1Mi');
  assert.equal(formatQuantity(newScaledQuantity(123_456, -9)), '123456n');
  assert.equal(formatQuantity(newScaledQuantity(1000, 0, 'BinarySI')), '1k');
  assert.equal(formatQuantity(roundUpQuantity(parseQuantity('1n'), -3)), '1m');
  assert.equal(formatQuantity(roundUpQuantity(parseQuantity('100m'), -3)), '100m');
});

test('parse memo: repeated quantities give equal (frozen) results, errors are still thrown each time', async () => {
  const { parseQuantity, parseQuantityNumber, formatQuantity } = await import('./quantity.js');
  const a = parseQuantity('1.5Gi');
  const b = parseQuantity('1.5Gi');
  assert.deepEqual(a, b);
  assert.equal(Object.isFrozen(b), true);
  assert.equal(formatQuantity(b), '1536Mi');
  assert.equal(parseQuantityNumber('100m'), 0.1);
  assert.equal(parseQuantityNumber('100m'), 0.1);
  for (let i = 0; i < 2; i++) assert.throws(() => parseQuantity('1.5 Gi'));
  assert.throws(() => parseQuantityNumber('x'));
});
