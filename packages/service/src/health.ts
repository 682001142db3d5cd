import { Router } from 'express';
import type { Registry } from 'prom-client';

/** Why the process is not ready (empty: ready), and what is unsafe though ready. */
export type Readiness = () => Promise<{ reasons: string[]; warnings: string[] }>;


/** `GET /healthz`, `/readyz` and `/metrics`, served the same way by every process (contract §1). */
export function healthRoutes(registry: Registry, readiness: Readiness): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/readyz', async (_req, res) => {
    const { reasons, warnings } = await readiness().catch((err: Error) => ({ reasons: [`readiness check failed: ${err.message}`], warnings: [] }));
    res.status(reasons.length === 0 ? 200 : 503).json({ ok: reasons.length === 0, reasons, warnings });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}
