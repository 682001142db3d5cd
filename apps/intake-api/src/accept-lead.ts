import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { ResolvedConfig, ResolvedSupplier } from '@leadrouter/config';
import { newLeadId, validateLead, type FieldError, type Lead } from '@leadrouter/lead';
import type { Logger } from '@leadrouter/logging';
import { ROUTE_JOB_OPTIONS, digestBucket, withBucket, type PingedAuction, type RouteJobData } from '@leadrouter/redis';
import type { LeadStore, SupplierPings } from '@leadrouter/store';

/** What the intake answers: a status code and a JSON body (contract §3). */
export interface IntakeAnswer {
  code: number;
  body: Record<string, unknown>;
  /** Set when a new lead was stored by this call (not a replay, not a duplicate). */
  lead?: Lead;
}

export function invalid(errors: FieldError[]): IntakeAnswer {
  return { code: 400, body: { status: 'rejected', reason: 'invalid', errors } };
}

export interface AcceptLeadDeps {
  config: ResolvedConfig;
  store: LeadStore;
  queue: Queue<RouteJobData>;
  logger: Logger;
  /** Supplier pings' auctions, for a lead posted with its `ping_id` (contract §9). */
  pings: SupplierPings;
}

/**
 * Validates, dedupes and stores one lead, then queues it for routing. Throws only when Redis
 * cannot store the lead (the caller answers 503): a 202 is never given for a lead not stored.
 */
export async function acceptLead(
  deps: AcceptLeadDeps,
  supplier: ResolvedSupplier,
  body: unknown,
  idempotencyKey: string | undefined,
): Promise<IntakeAnswer> {
  // `ping_id` is no field of the lead: it names the supplier ping whose bidders the lead goes to.
  const { ping_id: pingId, ...fields } = (body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const checked = validateLead(pingId === undefined ? body : fields);
  if (!checked.ok) return invalid(checked.errors);
  let auction: PingedAuction | undefined;
  if (pingId !== undefined) {
    if (typeof pingId !== 'string') return invalid([{ field: 'ping_id', message: 'must be the pingId a ping answered' }]);
    // Checked now, taken once the lead is stored: a retry with the same Idempotency-Key gets its
    // first answer, and a duplicate leaves the ping to the lead it was made for.
    const claim = await deps.pings.check(pingId, supplier.id, { geo: checked.lead.geo, source: checked.lead.source, fields: checked.lead.fields });
    if (!claim.ok) {
      // Used by this very request before (a retry with the same Idempotency-Key): its first answer.
      const first = claim.reason === 'unknown' && idempotencyKey !== undefined ? await deps.store.storedAnswer(idempotencyRedisKey(deps, supplier.id, idempotencyKey)) : undefined;
      if (first) return { code: first.code, body: first.body };
      return invalid([{ field: 'ping_id', message: claim.reason === 'differs' ? `the lead's ${claim.field ?? 'fields'} differs from its ping's` : 'unknown, expired or already used' }]);
    }
    auction = claim.ping.auction;
  }
  const draft: Lead = {
    ...checked.lead,
    id: newLeadId(),
    supplier: supplier.id,
    createdAt: Date.now(),
    quality: checked.quality,
    phoneNational: checked.phoneNational,
  };
  const { dedupe } = deps.config;
  const dedupeDigest = dedupe.windowMs > 0 ? dedupeDigestOf(deps, draft) : undefined;
  // A deduped lead lives in its dedupe digest's bucket, so the dedupe check and the store are one
  // step in one slot, on a Redis Cluster too (contract §12).
  const lead: Lead = dedupeDigest === undefined ? draft : { ...draft, id: withBucket(draft.id, digestBucket(dedupeDigest)) };
  const result = await deps.store.reserve({
    lead,
    dedupeKey: dedupeDigest === undefined ? undefined : deps.store.keys.dedupe(deps.config.dedupe.scope, dedupeDigest),
    idempotencyKey: idempotencyKey === undefined ? undefined : idempotencyRedisKey(deps, supplier.id, idempotencyKey),
    dedupeWindowMs: dedupe.windowMs,
  });
  if (result.kind === 'replay') return { code: result.answer.code, body: result.answer.body };
  if (result.kind === 'duplicate') {
    return { code: 409, body: { status: 'rejected', reason: 'duplicate', duplicateOf: result.duplicateOf } };
  }
  // Another lead took the ping in the meantime (two posts with one ping_id at once): this one is
  // stored and gets a fresh auction rather than bids that are not its own.
  if (auction && typeof pingId === 'string' && !(await deps.pings.take(pingId))) {
    deps.logger.info({ leadId: lead.id }, 'ping already used by another lead: a fresh auction');
    auction = undefined;
  }
  try {
    await deps.queue.add('route', { leadId: lead.id, ...(auction ? { auction } : {}) }, { ...ROUTE_JOB_OPTIONS, jobId: lead.id });
  } catch (err) {
    // The lead is stored and sits in the outbox, which workers sweep: it will be routed (a pinged
    // lead then by a new auction). So the promise of the 202 holds even though this enqueue
    // failed (README, "No lost leads").
    deps.logger.warn({ leadId: lead.id, err: (err as Error).message }, 'enqueue failed; the outbox sweeper will queue the lead');
  }
  return { code: 202, body: { status: 'accepted', id: lead.id }, lead };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Digest of the dedupe fields, or undefined when one of them is missing (nothing to compare). */
function dedupeDigestOf(deps: AcceptLeadDeps, lead: Lead): string | undefined {
  const { scope, by } = deps.config.dedupe;
  const values: string[] = [];
  for (const field of by) {
    const value = Object.hasOwn(lead.fields, field) ? lead.fields[field] : (lead as unknown as Record<string, unknown>)[field];
    if (value === undefined || value === '') return undefined;
    values.push(field === 'email' ? String(value).toLowerCase() : String(value));
  }
  const owner = scope === 'supplier' ? lead.supplier : '*';
  return sha256([owner, ...by, ...values].join('\u0000'));
}

function idempotencyRedisKey(deps: AcceptLeadDeps, supplierId: string, key: string): string {
  return deps.store.keys.idempotency(supplierId, sha256(key));
}
