import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCriLogLine, formatCriTimestamp, parseCriLog, parseCriLogLine } from './cri-log.js';

test('timestamps are RFC3339 with nanoseconds in UTC', () => {
  assert.equal(formatCriTimestamp(1475713029669794202n), '2016-10-06T00:17:09.669794202Z');
  assert.equal(formatCriTimestamp(1475713029000000000n), '2016-10-06T00:17:09.000000000Z');
});

test('a record round-trips and keeps spaces in the content', () => {
  const line = formatCriLogLine(1475713029669794202n, 'stderr', false, ' two  spaces ');
  assert.equal(line, '2016-10-06T00:17:09.669794202Z stderr F  two  spaces ');
  const r = parseCriLogLine(line)!;
  assert.equal(r.stream, 'stderr');
  assert.equal(r.partial, false);
  assert.equal(r.content, ' two  spaces ');
  assert.equal(r.timeMs, Date.UTC(2016, 9, 6, 0, 17, 9, 669));
});

test('kubelet-style lines with short fractions and empty content parse; garbage does not', () => {
  assert.equal(parseCriLogLine('2016-10-06T00:17:09.6Z stdout F')?.content, '');
  assert.equal(parseCriLogLine('2016-10-06T00:17:09Z stdout P x')?.partial, true);
  assert.equal(parseCriLogLine('nonsense'), undefined);
  assert.equal(parseCriLogLine('2016-10-06T00:17:09Z stdin F x'), undefined);
  assert.equal(parseCriLogLine('2016-10-06T00:17:09Z stdout X x'), undefined);
  assert.equal(parseCriLogLine('not-a-time stdout F x'), undefined);
});

test('partial records are joined per stream', () => {
  const text = [
    '2016-10-06T00:17:09.1Z stdout P ab',
    '2016-10-06T00:17:09.2Z stderr F err',
    '2016-10-06T00:17:09.3Z stdout F cd',
    '2016-10-06T00:17:09.4Z stdout P dangling',
    '',
  ].join('\n');
  assert.deepEqual(
    parseCriLog(text).map((r) => [r.stream, r.content, r.partial]),
    [
      ['stderr', 'err', false],
      ['stdout', 'abcd', false],
      ['stdout', 'dangling', true],
    ],
  );
});
