import { Router, type Request, type Response } from 'express';
import type { DestinationConfig, ResolvedConfig } from '@leadrouter/config';
import { isLeadId, isPostbackStatus } from '@leadrouter/lead';
import type { Logger } from '@leadrouter/logging';
import { sourceLabel, type Metrics } from '@leadrouter/metrics';
import type { Notifier } from '@leadrouter/notify';
import { readBodyLimited } from '@leadrouter/service';
import type { NotificationOutbox, PostbackState } from '@leadrouter/store';
import { authenticate, isSignedRequest } from './auth.js';
import { checkParams } from './params.js';

export interface PostbackRoutesDeps {
  config: ResolvedConfig;
  state: PostbackState;
  outbox: NotificationOutbox;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
}

/**
 * How long a postback for a lead that is still queued, with this destination in its plan, waits
 * for the sale to be recorded before it is answered 404: a buyer may send its postback the moment
 * it accepts, before the worker has read its answer.
 */
const SALE_GRACE_MS = 5000;
const SALE_POLL_MS = 100;

const MAX_BODY_BYTES = 64 * 1024;
/** How much of a refused postback's status the lead's history keeps. */
const MAX_RECORDED_STATUS = 64;

/**
 * Where a tracker puts its parameters: the query, then the body (JSON or form) on top. For a
 * signed request (Standard Webhooks) only the signed body counts: a query string is outside the
 * signature, so anything in it could have been added by anyone who saw one signed request.
 */
function collectParams(req: Request, signedOnly: boolean): Record<string, unknown> | undefined {
  const params: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (!signedOnly) for (const [key, value] of Object.entries(req.query)) params[key] = value;
  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  if (!raw || raw.length === 0) return params;
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const text = raw.toString('utf8');
  if (type === 'application/json') {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      for (const [key, value] of Object.entries(parsed)) params[key] = value;
    } catch {
      return undefined;
    }
  } else {
    for (const [key, value] of new URLSearchParams(text)) params[key] = key in params && params[key] !== value ? [params[key], value] : value;
  }
  return params;
}

export function postbackRoutes(deps: PostbackRoutesDeps): Router {
  const router = Router();
  const destinations = new Map<string, DestinationConfig>(deps.config.destinations.map((d) => [d.id, d]));
  const count = (destination: string, source: string, status: string, result: string): void =>
    deps.metrics.postbacks.inc({ destination, source, status, result });
  const statusLabel = (status: unknown): string => (isPostbackStatus(status) ? status : 'other');

  const handle = async (req: Request, res: Response): Promise<void> => {
    const destination = destinations.get(String(req.params.destinationId));
    if (!destination) {
      count('unknown', 'unknown', 'other', 'not_found');
      res.status(404).json({ ok: false, reason: 'not_found' });
      return;
    }
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const signed = isSignedRequest(destination, header('webhook-signature'));
    const params = collectParams(req, signed);
    const token = typeof params?.token === 'string' ? params.token : header('x-postback-token');
    const auth = authenticate(destination, token, {
      id: header('webhook-id'),
      timestamp: header('webhook-timestamp'),
      signature: header('webhook-signature'),
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    });
    if (!auth.ok) {
      count(destination.id, 'unknown', statusLabel(params?.status), 'unauthorized');
      res.status(401).json({ ok: false, reason: 'unauthorized' });
      return;
    }
    if (!params) {
      count(destination.id, 'unknown', 'other', 'invalid');
      res.status(400).json({ ok: false, reason: 'invalid', errors: [{ field: 'body', message: 'must be a JSON object, form fields or a query string' }] });
      return;
    }
    // A signed request's webhook-id is its dedupe key, whatever the body says: a replay of a signed
    // request keeps its webhook-id (the signature covers it), so it is always seen as the repeat it is.
    if (auth.eventId !== undefined) params.event_id = auth.eventId;
    const at = new Date().toISOString();
    const checked = checkParams(params, destination);
    const leadId = checked.ok ? checked.params.leadId : checked.leadId;
    if (leadId !== undefined && !isLeadId(leadId)) {
      // Not one of our ids (`<id>:events` would even name another key): no such lead, and Redis is not asked.
      count(destination.id, 'unknown', statusLabel(params.status), 'not_found');
      res.status(404).json({ ok: false, reason: 'not_found' });
      return;
    }
    if (!checked.ok) {
      // Recorded on the lead when the lead is this destination's, cut to a bounded size: every
      // postback is in its history, but a buyer cannot grow that history without limit.
      const received = typeof params.status === 'string' ? params.status.slice(0, MAX_RECORDED_STATUS) : null;
      const source = checked.leadId
        ? await deps.state.recordRefused(checked.leadId, destination.id, { at, type: 'postback', destination: destination.id, received, result: 'invalid', errors: checked.errors })
        : undefined;
      count(destination.id, source ? sourceLabel(source, deps.config.routedSources) : 'unknown', statusLabel(params.status), 'invalid');
      res.status(400).json({ ok: false, reason: 'invalid', errors: checked.errors });
      return;
    }
    const p = checked.params;
    // The supplier notification's key: a repeat of the same event makes the same job id.
    const notificationKey = `pb.${p.status}.${p.eventId ?? at}`;
    const apply = () =>
      deps.state.apply(p.leadId, destination.id, p.status, p.payout, p.eventId, {
        at,
        type: 'postback',
        destination: destination.id,
        status: p.status,
        ...(p.received !== p.status ? { received: p.received } : {}),
        ...(p.payout !== undefined ? { payout: p.payout } : {}),
        ...(p.eventId !== undefined ? { eventId: p.eventId } : {}),
      }, notificationKey);
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    let outcome = await apply();
    const waitUntil = Date.now() + SALE_GRACE_MS;
    while (outcome.result === 'pending' && Date.now() < waitUntil && !gone) {
      await new Promise((r) => setTimeout(r, SALE_POLL_MS));
      outcome = await apply();
    }
    const source = outcome.result === 'not_found' || outcome.result === 'pending' ? 'unknown' : sourceLabel(outcome.source, deps.config.routedSources);
    if (outcome.result === 'not_found' || outcome.result === 'pending') {
      count(destination.id, source, p.status, 'not_found');
      res.status(404).json({ ok: false, reason: 'not_found' });
      return;
    }
    if (outcome.result === 'invalid_transition') {
      count(destination.id, source, p.status, 'invalid');
      res.status(409).json({ ok: false, reason: 'invalid_transition', status: outcome.status });
      return;
    }
    const changed = outcome.result === 'applied';
    count(destination.id, source, p.status, changed ? 'applied' : 'duplicate');
    if (changed) {
      const labels = { destination: destination.id, supplier: outcome.supplier };
      if (p.status === 'returned') {
        if (outcome.oldPayout > 0) deps.metrics.revenueReturned.inc(labels, outcome.oldPayout);
      } else if (outcome.newPayout > outcome.oldPayout) {
        deps.metrics.revenue.inc(labels, outcome.newPayout - outcome.oldPayout);
      } else if (outcome.newPayout < outcome.oldPayout) {
        deps.metrics.revenueReturned.inc(labels, outcome.oldPayout - outcome.newPayout);
      }
      // The apply step left the notification in the outbox; it leaves the outbox once queued. On a
      // failure here the workers' housekeeping queues it a little later.
      const entry = outcome.outboxEntry;
      const queuedNow = await deps.notifier
        .notify(outcome.supplier, p.leadId, p.status, notificationKey)
        .then(() => true)
        .catch((err: Error) => {
          deps.logger.warn({ leadId: p.leadId, err: err.message }, 'could not queue the supplier notification: the outbox keeps it for the workers');
          return false;
        });
      // Left in the outbox, it would only be queued again (same job id) by a worker.
      if (queuedNow && entry) await deps.outbox.done(entry).catch((err: Error) => deps.logger.warn({ leadId: p.leadId, err: err.message }, 'could not clear the outbox entry of a queued notification'));
    }
    res.status(200).json({ ok: true, leadId: p.leadId, status: outcome.status, changed });
  };

  const body = readBodyLimited(MAX_BODY_BYTES);
  router.get('/v1/postbacks/:destinationId', body, handle);
  router.post('/v1/postbacks/:destinationId', body, handle);
  return router;
}
