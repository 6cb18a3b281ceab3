// The sample app's /metrics: Prometheus's text format written by hand, one series per route
// (never per raw path, so a visitor cannot make new series), and a histogram that adds up.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
// @ts-expect-error plain JavaScript without types: the app runs on the servers without a build step
import { BUCKETS, createMetrics, routeOf } from '../../examples/app/src/metrics.js';

test('routes: known paths as they are, /visits/<id> as one route, anything else as "other"', () => {
  assert.equal(['/', '/healthz/read', '/visits', '/visits/42', '/metrics', '/../etc/passwd', '/"}x{', ''].map((p) => routeOf(p)), [
    '/', '/healthz/read', '/visits', '/visits/:id', '/metrics', 'other', 'other', 'other',
  ]);
});

test('the text format: a counter per route and status, a histogram per route with cumulative buckets', () => {
  const m = createMetrics();
  m.observe('/', 200, 0.003);
  m.observe('/', 200, 0.2);
  m.observe('/visits/:id', 404, 7);
  const text: string = m.render();
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"+.:/\\[\]]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.is(value('app_http_requests_total{route="/",status="200"}'), 2);
  assert.is(value('app_http_requests_total{route="/visits/:id",status="404"}'), 1);
  assert.is(value('app_http_request_duration_seconds_bucket{route="/",le="0.005"}'), 1);
  assert.is(value('app_http_request_duration_seconds_bucket{route="/",le="0.25"}'), 2);
  assert.is(value('app_http_request_duration_seconds_bucket{route="/visits/:id",le="5"}'), 0);
  assert.is(value('app_http_request_duration_seconds_bucket{route="/visits/:id",le="+Inf"}'), 1);
  assert.is(value('app_http_request_duration_seconds_count{route="/"}'), 2);
  assert.ok(Math.abs(value('app_http_request_duration_seconds_sum{route="/"}') - 0.203) < 1e-9);
  assert.is(text.match(/_bucket\{route="\/",/g)!.length, BUCKETS.length + 1);
  assert.match(text, /^# TYPE app_http_requests_total counter$/m);
  assert.match(text, /^# TYPE app_http_request_duration_seconds histogram$/m);
  assert.ok(text.endsWith('\n'));
});

test.run();
