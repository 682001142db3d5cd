import { json, Router, type Request, type Response } from 'express';
import { CAP_PERIODS, formatProblem, type CapPeriod } from '@leadrouter/config';
import { auditEvents, type Ledger } from '@leadrouter/ledger';
import type { Logger } from '@leadrouter/logging';
import type { LiveConfig } from '@leadrouter/service';
import type { OverrideChange } from '@leadrouter/store';
import { requireAdmin } from './admin.js';

export interface LiveOpsDeps {
  live: LiveConfig;
  adminApiKey: string | undefined;
  ledger: Ledger | undefined;
  logger: Logger;
}

const MAX_CAP = 1_000_000_000;

/**
 * Live operations (contract §11): pause, resume and cap overrides of a destination, kept in Redis
 * and in force in every process within a second; a reload of every process's config file; and the
 * audit trail of both from the ledger.
 */
export function liveOpsRoutes(deps: LiveOpsDeps): Router {
  const router = Router();
  const guard = requireAdmin(deps.adminApiKey);

  /**
   * The destination must be in the running config's file (an override of an unknown id would do
   * nothing), or have an override left from when it was (so that it can still be resumed or cleared).
   */
  const known = (req: Request, res: Response): string | undefined => {
    const id = String(req.params.id);
    if (deps.live.file.destinations.some((d) => d.id === id) || deps.live.overridesById.has(id)) return id;
    res.status(404).json({ ok: false, reason: 'not_found', errors: [{ field: 'id', message: 'no destination with this id in the running config' }] });
    return undefined;
  };
  const unavailable = (res: Response, err: unknown): void => {
    deps.logger.warn({ err: (err as Error).message }, 'live operation not done: Redis unreachable?');
    res.status(503).setHeader('Retry-After', '1').json({ ok: false, reason: 'unavailable', message: 'Redis is unreachable: nothing was changed' });
  };
  const change = async (res: Response, id: string, what: OverrideChange): Promise<void> => {
    let override;
    try {
      override = await deps.live.overridesStore.change(id, what);
    } catch (err) {
      unavailable(res, err);
      return;
    }
    // In force here at once; the other processes hear of it on the control channel.
    await deps.live.refreshOverrides();
    res.json({ ok: true, id, overrides: override });
  };

  router.post('/v1/admin/destinations/:id/pause', guard, async (req, res) => {
    const id = known(req, res);
    if (id) await change(res, id, { action: 'destination.pause' });
  });
  router.post('/v1/admin/destinations/:id/resume', guard, async (req, res) => {
    const id = known(req, res);
    if (id) await change(res, id, { action: 'destination.resume' });
  });

  /** `{"hourly": 100, "daily": null}`: each period named is overridden (null: no cap), the others keep theirs. */
  router.put('/v1/admin/destinations/:id/caps', guard, json({ limit: '4kb' }), async (req, res) => {
    const id = known(req, res);
    if (!id) return;
    const parsed = parseCaps(req.body);
    if ('errors' in parsed) {
      res.status(400).json({ ok: false, reason: 'invalid', errors: parsed.errors });
      return;
    }
    await change(res, id, { action: 'destination.caps', caps: parsed.caps });
  });
  router.delete('/v1/admin/destinations/:id/caps', guard, async (req, res) => {
    const id = known(req, res);
    if (id) await change(res, id, { action: 'destination.caps.clear' });
  });

  /**
   * Reads this process's config file; when valid, it is taken here before the answer, and every
   * other process of the install is told to read its own (over the control channel, and the reload
   * generation its poll reads). When not, nothing changes anywhere and every problem is listed.
   */
  router.post('/v1/admin/config/reload', guard, async (_req, res) => {
    const previousHash = deps.live.hash;
    // One read of the file: the hash answered is the one taken (reloadFile records the audit event).
    const checked = deps.live.reloadFile('api');
    if (!checked.ok) {
      res.status(400).json({
        ok: false,
        reason: 'invalid_config',
        hash: checked.hash,
        errors: checked.problems.map((p) => ({ field: p.path || '(root)', message: p.message, ...(p.line === undefined ? {} : { line: p.line }), text: formatProblem(p) })),
      });
      return;
    }
    let processes: number;
    try {
      processes = await deps.live.broadcastReload();
    } catch (err) {
      unavailable(res, err);
      return;
    }
    // Each process reads its own file: `processes` heard the call; one whose file is invalid keeps its config and logs why.
    res.json({ ok: true, hash: checked.hash, previousHash, processes });
  });

  /** The operators' changes, newest first (`?limit=`, default 100, at most 1000; `?target=` a destination). */
  router.get('/v1/admin/audit', guard, async (req, res) => {
    if (!deps.ledger) {
      res.status(503).json({ ok: false, reason: 'unavailable', message: 'this process has no lead ledger: set DATABASE_URL' });
      return;
    }
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      res.status(400).json({ ok: false, reason: 'invalid', errors: [{ field: 'limit', message: 'must be a whole number from 1 to 1000' }] });
      return;
    }
    const target = typeof req.query.target === 'string' ? req.query.target : undefined;
    try {
      const events = await auditEvents(deps.ledger.db, { limit, ...(target === undefined ? {} : { target }) });
      res.json({ events: events.map((e) => ({ at: e.at.toISOString(), action: e.action, target: e.target, details: e.details })) });
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'audit read failed');
      res.status(503).setHeader('Retry-After', '1').json({ ok: false, reason: 'unavailable' });
    }
  });
  return router;
}

function parseCaps(body: unknown): { caps: Partial<Record<CapPeriod, number | null>> } | { errors: Array<{ field: string; message: string }> } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { errors: [{ field: 'body', message: 'must be a JSON object such as {"daily": 100}' }] };
  const errors: Array<{ field: string; message: string }> = [];
  const caps: Partial<Record<CapPeriod, number | null>> = {};
  for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
    if (!(CAP_PERIODS as readonly string[]).includes(field)) {
      errors.push({ field: field.slice(0, 64), message: `unknown field: the periods are ${CAP_PERIODS.join(', ')}` });
      continue;
    }
    if (value === null || (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_CAP)) caps[field as CapPeriod] = value;
    else errors.push({ field, message: `must be a whole number from 0 to ${MAX_CAP}, or null for no cap` });
  }
  if (errors.length === 0 && Object.keys(caps).length === 0) errors.push({ field: 'body', message: `name at least one of ${CAP_PERIODS.join(', ')}` });
  return errors.length > 0 ? { errors } : { caps };
}
