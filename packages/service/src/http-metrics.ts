import type { RequestHandler } from 'express';
import type { Metrics } from '@leadrouter/metrics';

/**
 * Observes every request in `leadrouter_http_request_duration_seconds{service,route,code}`. The
 * route label is the matched route template (`/v1/leads/:id`), never the raw URL, so it stays bounded.
 */
export function httpMetrics(metrics: Metrics, service: string): RequestHandler {
  // prom-client resolves label values on every observe; one child per (route, code) resolves them once.
  const children = new Map<string, { observe(value: number): void }>();
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const key = `${route} ${res.statusCode}`;
      let child = children.get(key);
      if (!child) {
        child = metrics.httpDuration.labels({ service, route, code: String(res.statusCode) });
        children.set(key, child);
      }
      child.observe(seconds);
    });
    next();
  };
}
