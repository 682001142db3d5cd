import { Router, type Request, type Response } from 'express';
import { loggableError } from '@leadrouter/logging';
import type { Metrics } from '@leadrouter/metrics';
import { sourceLabel } from '@leadrouter/metrics';
import { isLeadId } from '@leadrouter/lead';
import { acceptLead, invalid, type AcceptLeadDeps, type IntakeAnswer } from '../accept-lead.js';
import { isAdminRequest, presentedKey, type SupplierDirectory } from '../auth.js';
import { MAX_BODY_BYTES, parseBody } from '../body.js';
import { supplierGate } from '../supplier-gate.js';
import { leadView } from '../lead-view.js';
import { leadWithEvents, type Ledger } from '@leadrouter/ledger';
import { readBodyLimited } from '@leadrouter/service';
import type { CompactedLead, LeadEvent, LeadRecord } from '@leadrouter/store';
import type { OutcomeWaiter } from '../outcome-waiter.js';
import type { SupplierRateLimits } from '../rate-limit.js';

export interface LeadRoutesDeps extends AcceptLeadDeps {
  /** The lead ledger, where a lead is read once Redis no longer holds it. */
  ledger: Ledger | undefined;
  suppliers: SupplierDirectory;
  rateLimits: SupplierRateLimits;
  waiter: OutcomeWaiter;
  metrics: Metrics;
  adminApiKey: string | undefined;
}

export const MAX_WAIT_SECONDS = 30;
/** Seconds a client should wait before retrying after a 503. */
const UNAVAILABLE_RETRY_AFTER = '1';

function send(res: Response, answer: IntakeAnswer, headers: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(answer.code).json(answer.body);
}

function rejected(reason: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { status: 'rejected', reason, ...extra };
}

export function leadRoutes(deps: LeadRoutesDeps): Router {
  const router = Router();
  const countRejected = (supplier: string, reason: string): void => {
    deps.metrics.leadsRejected.inc({ supplier, reason });
    // A rejection of no known supplier (a wrong key) belongs to nobody's report.
    if (supplier !== 'unknown') deps.store.recordRejection(supplier, reason, new Date()).catch(() => undefined);
  };

  // The raw body, so that size, encoding, charset and UTF-8 are ours to judge.
  const rawBody = readBodyLimited(MAX_BODY_BYTES);

  router.post(
    '/v1/leads',
    supplierGate({ suppliers: deps.suppliers, consume: (id) => deps.rateLimits.consume(id), refused: countRejected }),
    rawBody,
    async (req: Request, res: Response) => {
      const supplier = res.locals.supplier as Parameters<typeof acceptLead>[1];
      const parsed = parseBody(res.locals.bodyKind as 'json' | 'form', Buffer.isBuffer(req.body) ? req.body : undefined);
      if (!parsed.ok) {
        countRejected(supplier.id, 'invalid');
        return send(res, invalid(parsed.errors));
      }
      const idempotencyKey = req.get('idempotency-key');
      if (idempotencyKey !== undefined && (idempotencyKey === '' || idempotencyKey.length > 255)) {
        countRejected(supplier.id, 'invalid');
        return send(res, invalid([{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]));
      }
      const wait = parseWait(req.query.wait);
      if (wait === null) {
        countRejected(supplier.id, 'invalid');
        return send(res, invalid([{ field: 'wait', message: `must be a number of seconds (at most ${MAX_WAIT_SECONDS} are used)` }]));
      }
      let answer: IntakeAnswer;
      try {
        answer = await acceptLead(deps, supplier, parsed.value, idempotencyKey);
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message }, 'lead not stored: Redis unavailable');
        countRejected(supplier.id, 'unavailable');
        return send(res, { code: 503, body: rejected('unavailable') }, { 'Retry-After': UNAVAILABLE_RETRY_AFTER });
      }
      if (answer.lead) {
        res.locals.leadId = answer.lead.id;
        deps.metrics.leadsReceived.inc({
          supplier: supplier.id,
          geo: answer.lead.geo,
          source: sourceLabel(answer.lead.source, deps.config.routedSources),
        });
        if (wait > 0) {
          const outcome = await deps.waiter.wait(answer.lead.id, wait).catch(() => undefined);
          if (outcome) answer = { ...answer, body: { ...answer.body, ...outcome } };
        }
      } else if (answer.code >= 400) {
        countRejected(supplier.id, String(answer.body.reason));
      }
      send(res, answer);
    },
  );

  router.get('/v1/leads/:id', async (req: Request, res: Response) => {
    const key = presentedKey(req);
    const admin = isAdminRequest(req, res, deps.adminApiKey);
    const supplier = admin ? undefined : deps.suppliers.authenticate(key);
    if (!admin && !supplier) return send(res, { code: 401, body: rejected('unauthorized') });
    const id = String(req.params.id);
    let record: LeadRecord | undefined;
    try {
      const hot = isLeadId(id) ? await deps.store.get(id) : undefined;
      if (hot && 'compacted' in hot) {
        // Compacted: the ledger holds its fields and its history up to `through` (contract §10).
        if (!deps.ledger) throw new Error('a compacted lead read without the ledger (DATABASE_URL)');
        record = await compactedRecord(deps.ledger, hot);
      } else record = hot;
      // Past its time in Redis, the lead is the ledger's: the same answer (contract §10).
      if (!record && isLeadId(id) && deps.ledger) record = await ledgerRecord(deps.ledger, id);
    } catch (err) {
      deps.logger.warn({ err: loggableError(err as Error) }, 'lead not read: Redis or the ledger unavailable');
      return send(res, { code: 503, body: rejected('unavailable') }, { 'Retry-After': UNAVAILABLE_RETRY_AFTER });
    }
    // Another supplier's lead is indistinguishable from a lead that does not exist.
    if (!record || (!admin && record.lead.supplier !== supplier?.id)) {
      return send(res, { code: 404, body: { reason: 'not_found' } });
    }
    res.json(leadView(record, admin));
  });

  return router;
}

/** `?wait=SECONDS`: fractions allowed, more than 30 counts as 30; absent means 0; null when malformed. */
function parseWait(raw: unknown): number | null {
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^[0-9]+(\.[0-9]+)?$/.test(raw)) return null;
  return Math.min(Number(raw), MAX_WAIT_SECONDS);
}

/**
 * A compacted lead as it was before compaction: its state from Redis (postbacks may have moved it
 * since the ledger's last write), its fields from the ledger, its history the ledger's events up
 * to `through` and then Redis's.
 */
async function compactedRecord(ledger: Ledger, hot: CompactedLead): Promise<LeadRecord | undefined> {
  const stored = await ledgerRecord(ledger, hot.id, hot.through);
  if (!stored) return undefined;
  const { reason: _reason, destination: _destination, payout: _payout, ...rest } = stored;
  return {
    ...rest,
    ...(hot.stored ?? {}),
    status: hot.status,
    ...(hot.reason ? { reason: hot.reason } : {}),
    ...(hot.destination ? { destination: hot.destination } : {}),
    ...(hot.payout !== undefined ? { payout: hot.payout } : {}),
    events: [...stored.events, ...hot.tail],
  };
}

/** A lead from the ledger in the shape the Redis record has, so leadView answers the same either way. */
async function ledgerRecord(ledger: Ledger, id: string, throughSeq?: number): Promise<LeadRecord | undefined> {
  const found = await leadWithEvents(ledger.db, id, throughSeq === undefined ? {} : { throughSeq });
  if (!found) return undefined;
  const { lead } = found;
  return {
    lead: {
      id: lead.id,
      supplier: lead.supplier,
      createdAt: lead.created_at.getTime(),
      quality: lead.quality,
      name: lead.name ?? '',
      phone: lead.phone ?? '',
      phoneNational: '',
      geo: lead.geo,
      source: lead.source,
      ...(lead.email ? { email: lead.email } : {}),
      ...(lead.click_id ? { click_id: lead.click_id } : {}),
      ...(lead.ip ? { ip: lead.ip } : {}),
      fields: lead.fields as LeadRecord['lead']['fields'],
    },
    status: lead.status as LeadRecord['status'],
    ...(lead.reason ? { reason: lead.reason } : {}),
    ...(lead.destination ? { destination: lead.destination } : {}),
    ...(lead.payout !== null ? { payout: lead.payout } : {}),
    attempts: 0,
    round: 0,
    decisions: {},
    sales: {},
    openLanes: 0,
    events: found.events as LeadEvent[],
  };
}
