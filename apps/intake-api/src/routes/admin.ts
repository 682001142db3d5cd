import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { json, Router, type NextFunction, type Request, type Response } from 'express';
import type { DestinationOverride, ResolvedConfig } from '@leadrouter/config';
import { capPeriods, expectedRevenue, learntPayout, NO_EVIDENCE, scheduleOpen } from '@leadrouter/routing';
import { ROUTE_JOB_OPTIONS, routeJobId, type RouteJobData } from '@leadrouter/redis';
import type { Ledger } from '@leadrouter/ledger';
import type { DestinationState, LeadLifecycle, LeadRestore, Sweeps } from '@leadrouter/store';
import { isLeadId } from '@leadrouter/lead';
import { isAdminKey, presentedKey } from '../auth.js';

export interface AdminRoutesDeps {
  config: ResolvedConfig;
  adminApiKey: string | undefined;
  lifecycle: LeadLifecycle;
  destinationState: DestinationState;
  sweeps: Sweeps;
  /** Every queue of the install, for the board. */
  queues: Queue[];
  /** The route queue, for redeliveries. */
  routeQueue: Queue<RouteJobData>;
  /** The lead ledger, when this process has one: a compacted lead's fields are read back from it to redeliver it. */
  ledger?: Ledger | undefined;
  /** The operators' overrides in force (contract §11), shown with each destination. */
  overrides: ReadonlyMap<string, DestinationOverride>;
  /** The config file's destinations, before overrides: `enabled` as the file says. */
  fileEnabled: ReadonlyMap<string, boolean>;
  /** Each destination's delivery queue, for its depth. */
  deliverQueues: ReadonlyMap<string, Queue>;
}

const UNSOLD_REASONS = ['no_route', 'all_rejected', 'no_eligible_destination'];
const MAX_BULK = 10_000;

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * The admin key as X-Api-Key, a Bearer token, or a Basic password (so a browser can open the
 * queue board: it prompts for it). Without ADMIN_API_KEY the admin endpoints do not exist (404).
 */
export function requireAdmin(adminApiKey: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!adminApiKey) {
      res.status(404).json({ reason: 'not_found' });
      return;
    }
    // A console session (checked, with its cross-site token, by the console middleware).
    if (res.locals.consoleAdmin === true) return next();
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

  /**
   * Each destination as it runs: enabled in its file, paused by an operator, caps (the operators'
   * overrides applied) with their use and what is left, circuit, schedule open now, queue depth,
   * today's sold and rejected, and what best_revenue learnt.
   */
  router.get('/v1/admin/destinations', guard, async (_req: Request, res: Response) => {
    const now = new Date();
    const learnt = await deps.destinationState.learned(deps.config.destinations.map((d) => d.id), '-');
    const destinations = await Promise.all(
      deps.config.destinations.map(async (d) => {
        const periods = capPeriods(d, now);
        const [status, depth] = await Promise.all([deps.destinationState.status(d.id, periods), queueDepth(deps.deliverQueues.get(d.id))]);
        const cap = (period: 'hourly' | 'daily' | 'total') => {
          const limit = d.caps?.[period];
          return limit === undefined ? null : { limit, used: status.capUsed[period], left: Math.max(0, limit - status.capUsed[period]) };
        };
        const override = deps.overrides.get(d.id);
        const paused = override?.paused === true;
        const fileEnabled = deps.fileEnabled.get(d.id) ?? d.enabled;
        return {
          id: d.id,
          // The file's `enabled` and the operator's pause apart; `state` is what routing sees.
          enabled: fileEnabled,
          paused,
          // Disabled in the file wins: resuming would not enable it.
          state: !fileEnabled ? 'disabled' : paused ? 'paused' : 'enabled',
          overrides: override && Object.keys(override).length > 0 ? override : null,
          queue: depth,
          payout: d.payout,
          caps: { hourly: cap('hourly'), daily: cap('daily'), total: cap('total') },
          circuit: { state: status.circuit.open ? 'open' : 'closed', openUntil: status.circuit.openUntil ? new Date(status.circuit.openUntil).toISOString() : null, failures: status.circuit.failures },
          schedule: { open: scheduleOpen(d.schedule, now), timezone: d.timezone },
          today: { date: periods.daily, ...status.today },
          // best_revenue's current estimate (overall): chance of accepting and keeping a lead, and revenue per lead.
          learning: (() => {
            const c = learnt.get(d.id) ?? NO_EVIDENCE;
            const round = (n: number): number => Math.round(n * 1000) / 1000;
            return {
              acceptance: round(c.a / (c.a + c.b)),
              payout: round(learntPayout(d.payout, c)),
              expectedRevenue: round(expectedRevenue(d.payout, c)),
              observations: Math.round(c.a + c.b - 2),
            };
          })(),
        };
      }),
    );
    res.json({ destinations });
  });

  /** Queues an unsold lead for a new round of routing; only from `unsold`, so never a second sale. */
  const redeliver = async (id: string): Promise<{ id: string; requeued: boolean; status: string }> => {
    const event = { at: new Date().toISOString(), type: 'requeued' as const, by: 'admin' };
    let result = await deps.lifecycle.requeue(id, event);
    if ('status' in result && result.status === 'compacted') {
      // Its fields are in the ledger only (contract §10): read back, unless their retention took the contact data.
      const restore = deps.ledger ? await restoreFromLedger(deps.ledger, id) : undefined;
      if (!restore) return { id, requeued: false, status: deps.ledger ? 'contact_data_removed' : 'compacted' };
      result = await deps.lifecycle.requeue(id, event, restore);
    }
    if ('status' in result) return { id, requeued: false, status: result.status };
    await deps.routeQueue.add('route', { leadId: id }, { ...ROUTE_JOB_OPTIONS, jobId: routeJobId(id, result.round) });
    return { id, requeued: true, status: 'queued' };
  };

  router.post('/v1/admin/leads/:id/redeliver', guard, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const result = isLeadId(id) ? await redeliver(id) : { id, requeued: false, status: 'missing' };
    if (result.requeued) res.status(202).json({ ok: true, id, status: 'queued' });
    else if (result.status === 'missing') res.status(404).json({ ok: false, reason: 'not_found' });
    // Unsold but not redeliverable: its contact data is past ledger.piiDays (or, with no ledger here, unreadable).
    else if (result.status === 'contact_data_removed' || result.status === 'compacted') res.status(409).json({ ok: false, reason: result.status });
    else res.status(409).json({ ok: false, reason: 'not_unsold', status: result.status });
  });

  /**
   * Bulk form: `{"from": ISO time, "to": ISO time, "reason": "all_rejected", "limit": 1000}` (all
   * optional; by arrival time; default the last 24 hours, every reason, at most 1,000 leads).
   */
  router.post('/v1/admin/leads/redeliver', guard, json({ limit: '16kb' }), async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { from?: unknown; to?: unknown; reason?: unknown; limit?: unknown };
    const errors: Array<{ field: string; message: string }> = [];
    const time = (name: 'from' | 'to', fallback: number): number => {
      if (body[name] === undefined) return fallback;
      const ms = typeof body[name] === 'string' ? Date.parse(body[name]) : NaN;
      if (Number.isNaN(ms)) errors.push({ field: name, message: 'must be an ISO 8601 time' });
      return ms;
    };
    const to = time('to', Date.now());
    const from = time('from', to - 86_400_000);
    const reason = body.reason;
    if (reason !== undefined && !UNSOLD_REASONS.includes(String(reason))) errors.push({ field: 'reason', message: `must be one of ${UNSOLD_REASONS.join(', ')}` });
    const limit = body.limit === undefined ? 1000 : Number(body.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BULK) errors.push({ field: 'limit', message: `must be a whole number from 1 to ${MAX_BULK}` });
    if (errors.length > 0) {
      res.status(400).json({ ok: false, reason: 'invalid', errors });
      return;
    }
    const candidates = (await deps.sweeps.unsoldBetween(from, to, limit)).filter((c) => reason === undefined || c.reason === reason);
    const results = [];
    for (const candidate of candidates) results.push(await redeliver(candidate.id));
    const requeued = results.filter((r) => r.requeued).map((r) => r.id);
    res.status(202).json({ ok: true, requeued: requeued.length, ids: requeued });
  });
  return router;
}

/** Jobs waiting for a destination's slots (waiting, delayed: retries) and in hand (active); null when not readable. */
async function queueDepth(queue: Queue | undefined): Promise<{ waiting: number; active: number; delayed: number } | null> {
  if (!queue) return null;
  try {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    return { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0 };
  } catch {
    return null;
  }
}

/** A compacted lead's fields as the intake stored them, from its ledger row; undefined when the row or its contact data is gone. */
async function restoreFromLedger(ledger: Ledger, id: string): Promise<LeadRestore | undefined> {
  const row = await ledger.db.selectFrom('leads').select(['name', 'phone', 'phone_national', 'email', 'click_id', 'ip', 'fields', 'geo', 'source', 'quality', 'created_at']).where('id', '=', id).executeTakeFirst();
  if (!row || row.phone === null || row.name === null) return undefined;
  const data = {
    name: row.name,
    phone: row.phone,
    geo: row.geo,
    source: row.source,
    ...(row.email !== null ? { email: row.email } : {}),
    ...(row.click_id !== null ? { click_id: row.click_id } : {}),
    ...(row.ip !== null ? { ip: row.ip } : {}),
    fields: row.fields,
  };
  return { data: JSON.stringify(data), quality: String(row.quality), createdAt: String(row.created_at.getTime()), phoneNational: row.phone_national ?? '' };
}
