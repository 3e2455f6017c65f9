import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, since } from './duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration (upstream duration.HumanDuration)', () => {
  const cases: Array<[number, string]> = [
    [-3 * S, '<invalid>'],
    [-2 * S, '<invalid>'],
    [-1500, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [5 * S, '5s'],
    [5 * S + 999, '5s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [2 * M + 3 * S, '2m3s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [45 * M, '45m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [2 * D + 3 * H, '2d3h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D + 5 * H, '8d'],
    [35 * D, '35d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [730 * D + 45 * D, '2y45d'],
    [8 * 365 * D, '8y'],
    [10 * 365 * D + 100 * D, '10y'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));
});

describe('since', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('formats elapsed time from an RFC 3339 timestamp', () => {
    assert.equal(since('2024-05-01T11:55:00Z', now), '5m');
    assert.equal(since('2024-05-01T11:59:59.500000Z', now), '0s');
  });
  it('is <unknown> when unset or unparseable', () => {
    assert.equal(since(undefined, now), '<unknown>');
    assert.equal(since('', now), '<unknown>');
    assert.equal(since('yesterday-ish', now), '<unknown>');
    assert.equal(since(null, now), '<unknown>');
  });
  it('is <invalid> for clearly future timestamps', () => {
    assert.equal(since('2024-05-01T12:00:10Z', now), '<invalid>');
  });
});
