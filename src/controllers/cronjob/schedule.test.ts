import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSchedule } from './schedule.js';
import { formatInZone } from './cronjob-controller.js';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const cases: Array<{ schedule: string; tz?: string; after: string; want: string }> = [
  { schedule: '*/1 * * * *', after: '2025-01-01T00:00:30Z', want: '2025-01-01T00:01:00.000Z' },
  { schedule: '*/15 * * * *', after: '2025-01-01T00:15:00Z', want: '2025-01-01T00:30:00.000Z' },
  { schedule: '0 9 * * *', tz: 'Asia/Tokyo', after: '2025-01-01T01:00:00Z', want: '2025-01-02T00:00:00.000Z' },
  { schedule: '30 2 * * *', tz: 'America/New_York', after: '2025-07-01T00:00:00Z', want: '2025-07-01T06:30:00.000Z' },
  { schedule: '@hourly', after: '2025-01-01T10:59:59Z', want: '2025-01-01T11:00:00.000Z' },
  { schedule: '@yearly', after: '2025-03-01T00:00:00Z', want: '2026-01-01T00:00:00.000Z' },
  { schedule: '@weekly', after: '2025-01-01T00:00:00Z', want: '2025-01-05T00:00:00.000Z' },
  { schedule: '0 0 * * MON-FRI', after: '2025-01-03T12:00:00Z', want: '2025-01-06T00:00:00.000Z' },
  // robfig: both day fields restricted → either matches (the 13th, or any Friday).
  { schedule: '0 0 13 * 5', after: '2025-01-01T00:00:00Z', want: '2025-01-03T00:00:00.000Z' },
  { schedule: '0 0 29 2 *', after: '2025-01-01T00:00:00Z', want: '2028-02-29T00:00:00.000Z' },
  { schedule: '30 6-16/4 * * 1-5', after: '2025-01-06T10:31:00Z', want: '2025-01-06T14:30:00.000Z' },
  { schedule: 'TZ=Asia/Kolkata 0 0 * * *', after: '2025-01-01T00:00:00Z', want: '2025-01-01T18:30:00.000Z' },
  { schedule: '@every 90s', after: '2025-01-01T00:00:00Z', want: '2025-01-01T00:01:30.000Z' },
];

test('next activation times', () => {
  for (const c of cases) assert.equal(iso(parseSchedule(c.schedule, c.tz).next(at(c.after))), c.want, `${c.schedule} ${c.tz ?? ''}`);
});

test('invalid schedules and zones throw robfig-style messages', () => {
  assert.throws(() => parseSchedule('* * *'), /expected exactly 5 fields/);
  assert.throws(() => parseSchedule('* * * * *', 'Mars/Base'), /unknown time zone/);
});

test('scheduled timestamps are written in the CronJob time zone', () => {
  assert.equal(formatInZone(at('2025-01-02T00:00:00Z'), 'Asia/Tokyo'), '2025-01-02T09:00:00+09:00');
  assert.equal(formatInZone(at('2025-01-02T00:00:00Z'), undefined), '2025-01-02T00:00:00Z');
  assert.equal(formatInZone(at('2025-07-01T06:30:00Z'), 'America/New_York'), '2025-07-01T02:30:00-04:00');
});
