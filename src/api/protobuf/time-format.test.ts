import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDuration, formatMicroTime, formatTime, parseDuration, parseTime } from './time-format.js';

test('Time and MicroTime use the RFC3339 forms Kubernetes JSON uses', () => {
  const s = Date.UTC(2024, 0, 2, 3, 4, 5) / 1000;
  assert.equal(formatTime(s), '2024-01-02T03:04:05Z');
  assert.equal(formatMicroTime(s, 123_456_789), '2024-01-02T03:04:05.123456Z');
  assert.equal(formatMicroTime(s, 0), '2024-01-02T03:04:05.000000Z');
  assert.equal(formatTime(0), '1970-01-01T00:00:00Z');
  assert.throws(() => formatTime(1e15), RangeError);
});

test('parseTime accepts RFC3339 with fractions and offsets, rejects the rest', () => {
  assert.deepEqual(parseTime('2024-01-02T03:04:05Z'), { seconds: 1704164645, nanos: 0 });
  assert.deepEqual(parseTime('2024-01-02T03:04:05.5Z'), { seconds: 1704164645, nanos: 500_000_000 });
  assert.deepEqual(parseTime('2024-01-02T05:04:05+02:00'), { seconds: 1704164645, nanos: 0 });
  assert.deepEqual(parseTime('0001-01-01T00:00:00Z'), { seconds: -62135596800, nanos: 0 });
  for (const bad of ['', '2024-01-02', '2024-02-30T00:00:00Z', '2024-01-02T24:00:00Z', '2024-01-02 03:04:05Z', 'x']) {
    assert.equal(parseTime(bad), undefined, bad);
  }
});

test('formatDuration matches Go time.Duration.String()', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '0s'], [1n, '1ns'], [1100n, '1.1µs'], [2_200_000n, '2.2ms'], [3_300_000_000n, '3.3s'],
    [60_000_000_000n, '1m0s'], [90_000_000_000n, '1m30s'], [3_600_000_000_000n, '1h0m0s'],
    [4_000_000_000_000n + 5_000_000n, '1h6m40.005s'], [-1_500_000_000n, '-1.5s'],
  ];
  for (const [ns, s] of cases) assert.equal(formatDuration(ns), s);
});

test('parseDuration matches Go time.ParseDuration', () => {
  assert.equal(parseDuration('0'), 0n);
  assert.equal(parseDuration('1h30m'), 5_400_000_000_000n);
  assert.equal(parseDuration('1.5s'), 1_500_000_000n);
  assert.equal(parseDuration('-300ms'), -300_000_000n);
  assert.equal(parseDuration('2µs'), 2000n);
  assert.equal(parseDuration('1h0m0s'), 3_600_000_000_000n);
  for (const bad of ['', '1', 'h', '1x', '1.s.s', '-', '9999999999999h']) assert.equal(parseDuration(bad), undefined, bad);
});

test('formatDuration and parseDuration round-trip', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }), (ns) => {
      assert.equal(parseDuration(formatDuration(ns)), ns);
    }),
    { numRuns: 300 },
  );
});
