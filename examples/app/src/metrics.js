// Request count and latency in Prometheus's text format (written by hand: no dependency).
// Counted per route (not per raw path, so /visits/123 does not make a series per id) and status.

/** Upper bounds of the latency histogram, in seconds. */
export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The route a path belongs to: a fixed set of names, so label values never carry user input. */
export function routeOf(pathname) {
  if (pathname === '/' || pathname === '/healthz' || pathname === '/healthz/read' || pathname === '/version' || pathname === '/visits' || pathname === '/metrics') return pathname;
  if (/^\/visits\/\d{1,18}$/.test(pathname)) return '/visits/:id';
  return 'other';
}

export function createMetrics() {
  /** key "route status" -> count */
  const requests = new Map();
  /** route -> { counts per bucket, sum, count } */
  const latency = new Map();

  function observe(route, status, seconds) {
    const key = `${route} ${status}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    let h = latency.get(route);
    if (!h) latency.set(route, (h = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((le, i) => { if (seconds <= le) h.buckets[i]++; });
    h.sum += seconds;
    h.count++;
  }

  function render() {
    const lines = [
      '# HELP app_http_requests_total HTTP requests answered, by route and status.',
      '# TYPE app_http_requests_total counter',
    ];
    for (const [key, n] of [...requests].sort()) {
      const [route, status] = key.split(' ');
      lines.push(`app_http_requests_total{route="${route}",status="${status}"} ${n}`);
    }
    lines.push('# HELP app_http_request_duration_seconds Time to answer an HTTP request, by route.', '# TYPE app_http_request_duration_seconds histogram');
    for (const [route, h] of [...latency].sort()) {
      BUCKETS.forEach((le, i) => lines.push(`app_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${h.buckets[i]}`));
      lines.push(`app_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      lines.push(`app_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      lines.push(`app_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    return lines.join('\n') + '\n';
  }

  return { observe, render };
}
