import { Router } from 'express';
import type { Registry } from 'prom-client';

/** Returns the reasons the process is not ready; an empty list means ready. */
export type ReadinessCheck = () => Promise<string[]>;

/** `GET /healthz`, `/readyz` and `/metrics`, served the same way by every process (contract §1). */
export function healthRoutes(registry: Registry, readiness: ReadinessCheck): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const reasons = await readiness().catch((err: Error) => [`readiness check failed: ${err.message}`]);
    res.status(reasons.length === 0 ? 200 : 503).json({ ok: reasons.length === 0, reasons });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}
