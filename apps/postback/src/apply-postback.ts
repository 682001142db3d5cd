import type { DestinationConfig, ResolvedConfig } from '@leadrouter/config';
import { isLeadId, isPostbackStatus } from '@leadrouter/lead';
import type { Logger } from '@leadrouter/logging';
import { sourceLabel, type Metrics } from '@leadrouter/metrics';
import type { Notifier } from '@leadrouter/notify';
import { notificationKey } from '@leadrouter/redis';
import type { NotificationOutbox, PostbackOutcome, PostbackState } from '@leadrouter/store';
import { authenticate, type SignedRequest } from './auth.js';
import { checkParams, type PostbackParams } from './params.js';

export interface ApplyPostbackDeps {
  config: ResolvedConfig;
  state: PostbackState;
  outbox: NotificationOutbox;
  notifier: Notifier;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Waits between polls of a sale not yet recorded; injected so tests need not sleep. */
  sleep: (ms: number) => Promise<void>;
}

/** One postback as it arrived, transport aside: the HTTP handler collects it, this decides it. */
export interface PostbackInput {
  destination: DestinationConfig;
  /** Its parameters (for a signed request, the signed body's only); undefined when the body could not be read. */
  params: Record<string, unknown> | undefined;
  /** A `token` parameter or `X-Postback-Token` header. */
  token: string | undefined;
  signed: SignedRequest;
  /** True once the client has gone: stop waiting for the sale. */
  gone: () => boolean;
}

export interface PostbackAnswer {
  code: 200 | 400 | 401 | 404 | 409;
  body: Record<string, unknown>;
}

/**
 * How long a postback for a lead that is still queued, with this destination in its plan, waits
 * for the sale to be recorded before it is answered 404: a buyer may send its postback the moment
 * it accepts, before the worker has read its answer.
 */
export const SALE_GRACE_MS = 5000;
const SALE_POLL_MS = 100;
/** How much of a refused postback's status the lead's history keeps. */
const MAX_RECORDED_STATUS = 64;

/**
 * A destination's postback (contract §5): authenticates it, checks its parameters, applies it to
 * the lead atomically (waiting briefly for a sale not yet recorded), books the revenue change and
 * queues the supplier's notification. Every postback is counted in `leadrouter_postbacks_total`.
 */
export async function applyPostback(deps: ApplyPostbackDeps, input: PostbackInput): Promise<PostbackAnswer> {
  const { destination, params } = input;
  const count = (source: string, status: unknown, result: string): void =>
    deps.metrics.postbacks.inc({ destination: destination.id, source, status: isPostbackStatus(status) ? status : 'other', result });
  const auth = authenticate(destination, input.token, input.signed);
  if (!auth.ok) {
    count('unknown', params?.status, 'unauthorized');
    return { code: 401, body: { ok: false, reason: 'unauthorized' } };
  }
  if (!params) {
    count('unknown', undefined, 'invalid');
    return { code: 400, body: { ok: false, reason: 'invalid', errors: [{ field: 'body', message: 'must be a JSON object, form fields or a query string' }] } };
  }
  // A signed request's webhook-id is its dedupe key, whatever the body says: a replay of a signed
  // request keeps its webhook-id (the signature covers it), so it is always seen as the repeat it is.
  if (auth.eventId !== undefined) params.event_id = auth.eventId;
  const at = deps.now().toISOString();
  const checked = checkParams(params, destination);
  const leadId = checked.ok ? checked.params.leadId : checked.leadId;
  if (leadId !== undefined && !isLeadId(leadId)) {
    // Not one of our ids (`<id>:events` would even name another key): no such lead, and Redis is not asked.
    count('unknown', params.status, 'not_found');
    return { code: 404, body: { ok: false, reason: 'not_found' } };
  }
  if (!checked.ok) {
    // Recorded on the lead when the lead is this destination's, cut to a bounded size: every
    // postback is in its history, but a buyer cannot grow that history without limit.
    const received = typeof params.status === 'string' ? params.status.slice(0, MAX_RECORDED_STATUS) : null;
    const source = leadId ? await deps.state.recordRefused(leadId, destination.id, { at, type: 'postback', destination: destination.id, received, result: 'invalid', errors: checked.errors }) : undefined;
    count(source ? sourceLabel(source, deps.config.routedSources) : 'unknown', params.status, 'invalid');
    return { code: 400, body: { ok: false, reason: 'invalid', errors: checked.errors } };
  }
  const p = checked.params;
  const key = notificationKey.postback(p.status, p.eventId, at, destination.id);
  const outcome = await applyWaitingForSale(deps, destination, p, at, key, input.gone);
  if (outcome.result === 'not_found' || outcome.result === 'pending') {
    count('unknown', p.status, 'not_found');
    return { code: 404, body: { ok: false, reason: 'not_found' } };
  }
  const source = sourceLabel(outcome.source, deps.config.routedSources);
  if (outcome.result === 'invalid_transition') {
    count(source, p.status, 'invalid');
    return { code: 409, body: { ok: false, reason: 'invalid_transition', status: outcome.status } };
  }
  const changed = outcome.result === 'applied';
  count(source, p.status, changed ? 'applied' : 'duplicate');
  if (changed) {
    bookRevenueChange(deps.metrics, destination.id, p, outcome);
    await queueNotification(deps, p, outcome, key, destination.id);
  }
  return { code: 200, body: { ok: true, leadId: p.leadId, status: outcome.status, changed } };
}

/** The postback step (postback.lua), again every SALE_POLL_MS while the sale it is about may be a moment away. */
async function applyWaitingForSale(deps: ApplyPostbackDeps, destination: DestinationConfig, p: PostbackParams, at: string, key: string, gone: () => boolean): Promise<PostbackOutcome> {
  const event = {
    at,
    type: 'postback' as const,
    destination: destination.id,
    status: p.status,
    ...(p.received !== p.status ? { received: p.received } : {}),
    ...(p.payout !== undefined ? { payout: p.payout } : {}),
    ...(p.eventId !== undefined ? { eventId: p.eventId } : {}),
  };
  const apply = (): Promise<PostbackOutcome> => deps.state.apply(p.leadId, destination.id, p.status, p.payout, p.eventId, event, key);
  let outcome = await apply();
  const waitUntil = deps.now().getTime() + SALE_GRACE_MS;
  while (outcome.result === 'pending' && deps.now().getTime() < waitUntil && !gone()) {
    await deps.sleep(SALE_POLL_MS);
    outcome = await apply();
  }
  return outcome;
}

/** Revenue is booked once per sale and corrected by postbacks both ways; a return takes it all back (contract §5). */
function bookRevenueChange(metrics: Metrics, destination: string, p: PostbackParams, outcome: PostbackOutcome): void {
  const labels = { destination, supplier: outcome.supplier };
  if (p.status === 'returned') {
    if (outcome.oldPayout > 0) metrics.revenueReturned.inc(labels, outcome.oldPayout);
  } else if (outcome.newPayout > outcome.oldPayout) {
    metrics.revenue.inc(labels, outcome.newPayout - outcome.oldPayout);
  } else if (outcome.newPayout < outcome.oldPayout) {
    metrics.revenueReturned.inc(labels, outcome.oldPayout - outcome.newPayout);
  }
}

/**
 * The apply step left the notification in the outbox; it leaves the outbox once queued. On a
 * failure here the workers' housekeeping queues it a little later (same job id).
 */
async function queueNotification(deps: ApplyPostbackDeps, p: PostbackParams, outcome: PostbackOutcome, key: string, destination: string): Promise<void> {
  const queued = await deps.notifier
    .notify(outcome.supplier, p.leadId, p.status, key, destination)
    .then(() => true)
    .catch((err: Error) => {
      deps.logger.warn({ leadId: p.leadId, err: err.message }, 'could not queue the supplier notification: the outbox keeps it for the workers');
      return false;
    });
  // Left in the outbox, it would only be queued again (same job id) by a worker.
  const entry = outcome.outboxEntry;
  if (queued && entry) await deps.outbox.done(entry).catch((err: Error) => deps.logger.warn({ leadId: p.leadId, err: err.message }, 'could not clear the outbox entry of a queued notification'));
}
