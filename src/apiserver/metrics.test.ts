import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { FastCounter, FastHistogram, storeKeyType } from './metrics.js';

test('FastCounter and FastHistogram expose what prom-client would', async () => {
  const reg = new Registry();
  const c = new FastCounter(reg, 'x_total', 'help x', ['verb', 'code']);
  const h = new FastHistogram(reg, 'y_seconds', 'help y', ['verb'], [0.01, 0.1]);
  c.inc({ verb: 'GET', code: '200' });
  c.inc({ verb: 'GET', code: '200' });
  c.inc({ verb: 'POST', code: '201' });
  h.observe({ verb: 'GET' }, 0.005);
  h.observe({ verb: 'GET' }, 0.05);
  h.observe({ verb: 'GET' }, 5);
  const text = await reg.metrics();
  assert.match(text, /^# TYPE x_total counter$/m);
  assert.match(text, /^x_total\{verb="GET",code="200"\} 2$/m);
  assert.match(text, /^x_total\{verb="POST",code="201"\} 1$/m);
  assert.match(text, /^# TYPE y_seconds histogram$/m);
  assert.match(text, /^y_seconds_bucket\{verb="GET",le="0.01"\} 1$/m);
  assert.match(text, /^y_seconds_bucket\{verb="GET",le="0.1"\} 2$/m);
  assert.match(text, /^y_seconds_bucket\{verb="GET",le="\+Inf"\} 3$/m);
  assert.match(text, /^y_seconds_sum\{verb="GET"\} 5.055$/m);
  assert.match(text, /^y_seconds_count\{verb="GET"\} 3$/m);
});

test('storeKeyType: the resource prefix of a store key', () => {
  assert.equal(storeKeyType('/registry/pods/ns/p'), '/registry/pods');
  assert.equal(storeKeyType('/registry/minions/n1'), '/registry/minions');
  assert.equal(storeKeyType('/registry/apps.example.com/widgets/ns/w'), '/registry/apps.example.com/widgets');
  assert.equal(storeKeyType('/registry/apps.example.com/widgets'), '/registry/apps.example.com');
  assert.equal(storeKeyType('/registry'), '/registry');
});
