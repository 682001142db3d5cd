import { Router, type Request } from 'express';
import type { Registry } from 'prom-client';
import { secretsEqual } from './secrets.js';

/** Why the process is not ready (empty: ready), and what is unsafe though ready. */
export type Readiness = () => Promise<{ reasons: string[]; warnings: string[] }>;

export const METRICS_OPEN_WARNING = 'METRICS_TOKEN is unset: /metrics shows the business figures to anyone who reaches this port';

/** Constant-time comparison of `Authorization: Bearer <token>` with the configured token. */
function bearerMatches(req: Request, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
  return secretsEqual(given, token);
}

/**
 * `GET /healthz`, `/readyz` and `/metrics`, served the same way by every process (contract §1).
 * The intake and postback ports face suppliers and buyers, and the figures are the business's: with
 * `metricsToken` set, `/metrics` answers only its bearer token; without it, `/readyz` says so.
 */
export function healthRoutes(registry: Registry, readiness: Readiness, metricsToken?: string): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const { reasons, warnings } = await readiness().catch((err: Error) => ({ reasons: [`readiness check failed: ${err.message}`], warnings: [] }));
    const all = metricsToken ? warnings : [...warnings, METRICS_OPEN_WARNING];
    res.status(reasons.length === 0 ? 200 : 503).json({ ok: reasons.length === 0, reasons, warnings: all });
  });
  router.get('/metrics', async (req, res) => {
    if (metricsToken && !bearerMatches(req, metricsToken)) {
      res.status(401).setHeader('WWW-Authenticate', 'Bearer realm="metrics"').json({ ok: false, reason: 'unauthorized' });
      return;
    }
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}
