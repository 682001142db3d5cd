import type { RequestHandler } from 'express';
import type { Metrics } from '@leadrouter/metrics';

/**
 * Observes every request in `leadrouter_http_request_duration_seconds{service,route,code}`. The
 * route label is the matched route template (`/v1/leads/:id`), never the raw URL, so it stays bounded.
 */
export function httpMetrics(metrics: Metrics, service: string): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpDuration.observe({ service, route, code: String(res.statusCode) }, seconds);
    });
    next();
  };
}
