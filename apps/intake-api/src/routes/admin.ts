import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { ResolvedConfig } from '@leadrouter/config';
import { capPeriods, scheduleOpen } from '@leadrouter/routing';
import type { DeliveryState } from '@leadrouter/store';
import { isAdminKey, presentedKey } from '../auth.js';

export interface AdminRoutesDeps {
  config: ResolvedConfig;
  adminApiKey: string | undefined;
  state: DeliveryState;
  /** Every queue of the install, for the board. */
  queues: Queue[];
}

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * The admin key as X-Api-Key, a Bearer token, or a Basic password (so a browser can open the
 * queue board: it prompts for it). Without ADMIN_API_KEY the admin endpoints do not exist (404).
 */
function requireAdmin(adminApiKey: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!adminApiKey) {
      res.status(404).json({ reason: 'not_found' });
      return;
    }
    let key = presentedKey(req);
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) key = Buffer.from(basic[1] as string, 'base64').toString('utf8').split(':').slice(1).join(':');
    if (isAdminKey(key, adminApiKey)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="LeadRouter admin"');
    res.status(401).json({ reason: 'unauthorized' });
  };
}

export function adminRoutes(deps: AdminRoutesDeps): Router {
  const router = Router();
  const guard = requireAdmin(deps.adminApiKey);

  const board = new ExpressAdapter();
  board.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: deps.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: false })), serverAdapter: board });
  router.use(QUEUE_BOARD_PATH, guard, board.getRouter() as Router);

  /** Each destination: caps and their use, circuit, schedule open now, today's sold and rejected. */
  router.get('/v1/admin/destinations', guard, async (_req: Request, res: Response) => {
    const now = new Date();
    const destinations = await Promise.all(
      deps.config.destinations.map(async (d) => {
        const periods = capPeriods(d, now);
        const status = await deps.state.destinationStatus(d.id, periods);
        const cap = (period: 'hourly' | 'daily' | 'total') =>
          d.caps?.[period] === undefined ? null : { limit: d.caps[period], used: status.capUsed[period] };
        return {
          id: d.id,
          enabled: d.enabled !== false,
          payout: d.payout ?? 0,
          caps: { hourly: cap('hourly'), daily: cap('daily'), total: cap('total') },
          circuit: { state: status.circuit.open ? 'open' : 'closed', openUntil: status.circuit.openUntil ? new Date(status.circuit.openUntil).toISOString() : null, failures: status.circuit.failures },
          schedule: { open: scheduleOpen(d.schedule, now), timezone: d.schedule?.timezone ?? 'UTC' },
          today: { date: periods.daily, ...status.today },
        };
      }),
    );
    res.json({ destinations });
  });
  return router;
}
