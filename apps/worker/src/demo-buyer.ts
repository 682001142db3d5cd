import { Router, json } from 'express';

/**
 * The bundled config's demo destination (`POST /demo/buyer` on the worker's port): it accepts every
 * lead, so the README's quick start sells a lead end to end on a machine with no internet.
 */
export function demoBuyerRoutes(): Router {
  const router = Router();
  router.post('/demo/buyer', json({ limit: '64kb' }), (_req, res) => {
    res.status(200).json({ result: 'success' });
  });
  return router;
}
