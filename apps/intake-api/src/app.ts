import type { SupplierRateLimits } from './rate-limit.js';
import type { PingCircuits } from '@leadrouter/store';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Ledger } from '@leadrouter/ledger';
import type { Logger } from '@leadrouter/logging';
import { BodyError, clientError, healthRoutes, httpMetrics, requestLog, type LiveConfig, type Readiness } from '@leadrouter/service';
import { consoleRoutes, type LoginLimiter } from './console/routes.js';
import { consoleSessionMiddleware } from './console/session-middleware.js';
import type { ConsoleSessions } from './console/sessions.js';
import { liveOpsRoutes } from './routes/live-ops.js';
import { overviewRoutes } from './routes/overview.js';
import { pingRoutes } from './routes/pings.js';
import { adminRoutes, type AdminRoutesDeps } from './routes/admin.js';
import { ledgerReadRoutes } from './routes/ledger-reads.js';
import { leadRoutes, type LeadRoutesDeps } from './routes/leads.js';

export interface IntakeAppDeps extends LeadRoutesDeps {
  logger: Logger;
  readiness: Readiness;
  /** METRICS_TOKEN: when set, /metrics answers only its bearer token. */
  metricsToken: string | undefined;
  /** The lead ledger, for search, export and reports (contract §10); undefined without one. */
  ledger: Ledger | undefined;
  admin: Omit<AdminRoutesDeps, 'config' | 'adminApiKey'>;
  /** The live config (overrides, reloads) the admin's live operations change. */
  live: LiveConfig;
  /** Console sessions (contract §11), shared by every intake process through Redis. */
  sessions: ConsoleSessions;
  /** Sign-in attempts per address, across every intake process. */
  loginAttempts: LoginLimiter;
  pingLimits: SupplierRateLimits;
  /** Bidders' circuits, fed by supplier pings as by the workers' (contract §9). */
  pingCircuits: PingCircuits;
}

/** The intake's Express app, without listening: main.ts (or a test) decides where it runs. */
export function createIntakeApp(deps: IntakeAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(httpMetrics(deps.metrics, 'intake'));
  app.use(requestLog(deps.logger));
  app.use(healthRoutes(deps.metrics.registry, deps.readiness, deps.metricsToken));
  // A console session makes its request the admin's, for the endpoints below (its cross-site checks included).
  if (deps.adminApiKey) app.use(consoleSessionMiddleware(deps.sessions, deps.logger));
  app.use(consoleRoutes({ adminApiKey: deps.adminApiKey, sessions: deps.sessions, loginAttempts: deps.loginAttempts, logger: deps.logger }));
  // Before the lead routes: `/v1/leads/export.csv` is not a lead id.
  app.use(ledgerReadRoutes({ config: deps.config, suppliers: deps.suppliers, adminApiKey: deps.adminApiKey, ledger: deps.ledger, logger: deps.logger }));
  app.use(leadRoutes(deps));
  app.use(pingRoutes({ config: deps.config, suppliers: deps.suppliers, pings: deps.pings, pingLimits: deps.pingLimits, destinationState: deps.admin.destinationState, pingCircuits: deps.pingCircuits, metrics: deps.metrics, logger: deps.logger }));
  app.use(adminRoutes({ ...deps.admin, config: deps.config, adminApiKey: deps.adminApiKey }));
  app.use(liveOpsRoutes({ live: deps.live, adminApiKey: deps.adminApiKey, ledger: deps.ledger, logger: deps.logger }));
  app.use(overviewRoutes({ config: deps.config, adminApiKey: deps.adminApiKey, ledger: deps.ledger, logger: deps.logger }));
  app.use((_req, res) => {
    res.status(404).json({ reason: 'not_found' });
  });
  app.use(bodyErrors(deps));
  return app;
}

/** Maps refused bodies and malformed requests to 4xx answers (contract §3); anything else is a 500 that is logged. */
function bodyErrors(deps: IntakeAppDeps): ErrorRequestHandler {
  return (err: Error, req, res, _next) => {
    if (err instanceof BodyError) {
      const supplier = (res.locals.supplier as { id?: string } | undefined)?.id ?? 'unknown';
      deps.metrics.leadsRejected.inc({ supplier, reason: err.reason });
      // The rest of the body was not read: close the connection once answered, rather than drain it.
      res.setHeader('Connection', 'close');
      res.on('finish', () => setImmediate(() => req.destroy()));
      const body: Record<string, unknown> = { status: 'rejected', reason: err.reason };
      if (err.reason === 'invalid') body.errors = [{ field: 'body', message: err.message }];
      else body.message = err.message;
      res.status(err.status).json(body);
      return;
    }
    const refused = clientError(err);
    if (refused) {
      // The admin endpoints answer in their own shape; the lead API in contract §3's.
      const errors = [{ field: refused.field, message: refused.message }];
      const body = req.path.startsWith('/v1/admin/') ? { ok: false, reason: refused.reason, errors } : { status: 'rejected', reason: refused.reason, errors };
      res.status(refused.status).json(body);
      return;
    }
    // The name only: a message can quote the request (a JSON SyntaxError quotes its input).
    deps.logger.error({ err: err.name }, 'unexpected error');
    if (!res.headersSent) res.status(500).json({ status: 'rejected', reason: 'internal_error' });
  };
}
