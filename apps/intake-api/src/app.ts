import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from '@leadrouter/logging';
import { healthRoutes, httpMetrics, type ReadinessCheck } from '@leadrouter/service';
import { leadRoutes, type LeadRoutesDeps } from './routes/leads.js';
import { requestLog } from './request-log.js';

export interface IntakeAppDeps extends LeadRoutesDeps {
  logger: Logger;
  readiness: ReadinessCheck;
}

/** The intake's Express app, without listening: main.ts (or a test) decides where it runs. */
export function createIntakeApp(deps: IntakeAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(httpMetrics(deps.metrics, 'intake'));
  app.use(requestLog(deps.logger));
  app.use(healthRoutes(deps.metrics.registry, deps.readiness));
  app.use(leadRoutes(deps));
  app.use((_req, res) => {
    res.status(404).json({ reason: 'not_found' });
  });
  app.use(bodyErrors(deps));
  return app;
}

/** Maps body-reading failures to the answers of contract §3; anything else is a 500 that is logged. */
function bodyErrors(deps: IntakeAppDeps): ErrorRequestHandler {
  return (err: { type?: string; status?: number; message?: string }, _req, res, _next) => {
    const supplier = (res.locals.supplier as { id?: string } | undefined)?.id ?? 'unknown';
    const reject = (code: number, reason: string, message?: string): void => {
      deps.metrics.leadsRejected.inc({ supplier, reason });
      // The rest of the body was not read: close the connection rather than drain it.
      res.setHeader('Connection', 'close');
      res.status(code).json({ status: 'rejected', reason, ...(message ? { message } : {}) });
    };
    if (err.type === 'entity.too.large') return reject(413, 'too_large', 'body over 64 KiB');
    if (err.type === 'encoding.unsupported') return reject(415, 'unsupported_media_type', 'compressed bodies are not accepted');
    if (err.type === 'request.aborted' || err.type === 'request.size.invalid') return reject(400, 'invalid', 'body incomplete');
    deps.logger.error({ err: err.message, type: err.type }, 'unexpected error');
    if (!res.headersSent) res.status(500).json({ status: 'rejected', reason: 'internal_error' });
  };
}
