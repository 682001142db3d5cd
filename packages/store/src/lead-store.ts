import type { Lead } from '@leadrouter/lead';
import { sha256Hex } from '@leadrouter/config';
import { LEAD_HASH, REJECTIONS_MAX_BACKLOG, isCluster, leadBucket, type LedgerLeadRecord, type RedisClient, type RedisKeys } from '@leadrouter/redis';
import { readStoredLead, type StoredLead } from './lead-record.js';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

export interface LeadEvent {
  at: string;
  /** The contract's types, plus `requeued` (an admin redelivery of an unsold lead). */
  type: 'received' | 'routed' | 'auction' | 'attempt' | 'delivered' | 'unsold' | 'postback' | 'notified' | 'requeued';
  [detail: string]: unknown;
}

/** A stored answer of the intake, replayed for a repeated Idempotency-Key. */
export interface StoredAnswer {
  code: number;
  body: Record<string, unknown>;
}

export type ReserveResult =
  | { kind: 'accepted' }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'duplicate'; duplicateOf: string };

export interface ReserveRequest {
  lead: Lead;
  /** Digest of the dedupe fields, or undefined when dedupe does not apply to this lead. */
  dedupeKey: string | undefined;
  idempotencyKey: string | undefined;
  dedupeWindowMs: number;
}

/** A lead with its whole history, for `GET /v1/leads/:id`. */
export interface LeadRecord extends StoredLead {
  events: LeadEvent[];
}

/**
 * A final lead compacted after the ledger stored it (contract §10): Redis keeps its state, the
 * ledger its fields and its events 1..`through`; `tail` holds the events since (a later postback).
 * Its fields are here too when an admin redelivery brought them back.
 */
export interface CompactedLead {
  compacted: true;
  id: string;
  through: number;
  supplier: string;
  status: LeadRecord['status'];
  reason?: string;
  destination?: string;
  payout?: number;
  tail: LeadEvent[];
  /** The lead's fields and state, when they are back in Redis (redelivered). */
  stored?: StoredLead;
}

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** How long a request's claim of an idempotency key holds before another request may take it over. */
export const IDEMPOTENCY_CLAIM_LEASE_MS = 5_000;

function acceptedAnswer(id: string): StoredAnswer {
  return { code: 202, body: { status: 'accepted', id } };
}

/** Where the original's id goes in the duplicate answer the one step builds (JSON leaves it as it is; no lead id has it). */
const DUPLICATE_MARK = '<original>';

function duplicateAnswer(original: string): StoredAnswer {
  return { code: 409, body: { status: 'rejected', reason: 'duplicate', duplicateOf: original } };
}

/** The duplicate answer's text before and after the original's id. */
const DUPLICATE_ANSWER_PARTS = JSON.stringify(duplicateAnswer(DUPLICATE_MARK)).split(DUPLICATE_MARK);

/** The digest a phone (E.164) or an email (lower case) is searched by in the ledger: never the value itself. */
export function contactDigest(value: string): string {
  return sha256Hex(value);
}

/** A store or idempotency step's reply: its kind, and the value it names (an answer, a lead id, a claim). */
type ReserveResultReply = [string, string?];

/** The lead record: its fields, state and history, stored whole or not at all. */
export class LeadStore {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
    private readonly retentionMs: number,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.idempotencyClaim, SCRIPTS.idempotencyAnswer, SCRIPTS.leadFence, SCRIPTS.storeLead, SCRIPTS.storeLeadIdempotent]);
  }

  /**
   * Stores a new lead atomically, unless its idempotency key or dedupe fields were seen before. A
   * request with an idempotency key claims it, stores its lead and answers under it. On one Redis
   * the three are one step (store-lead-idempotent-7.lua); on a Redis Cluster the key has a slot of
   * its own (contract §12, no hash tag: it must be found from the key alone) and they are three: idempotency-claim-1.lua, store-lead-6.lua, idempotency-answer-1.lua. A
   * second request with the same key waits for the first's answer; one that finds a claim left by
   * a request that stalled or died takes it over, after fencing that request's lead id so that its
   * late store is refused (lead-fence-1.lua): one lead per key.
   */
  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    const key = req.idempotencyKey;
    if (key === undefined) {
      const stored = await this.store(req);
      if (stored.kind === 'fenced') throw new Error(`lead id ${req.lead.id} exists already`);
      return stored;
    }
    const oneStep = !isCluster(this.redis);
    const ownAnswer = JSON.stringify(acceptedAnswer(req.lead.id));
    const waitUntil = Date.now() + IDEMPOTENCY_CLAIM_LEASE_MS + 2_000;
    let takeOver: string | undefined;
    for (;;) {
      const claim = { leadId: req.lead.id, leaseMs: IDEMPOTENCY_CLAIM_LEASE_MS, ...(takeOver === undefined ? {} : { takeOver }) };
      const [kind, value] = oneStep ? await this.storeClaimed(req, key, claim, ownAnswer) : await this.scripts.run<ReserveResultReply>(SCRIPTS.idempotencyClaim, [key], { ...claim, ttlMs: IDEMPOTENCY_TTL_MS });
      // This request's own answer: the one step ran before and its reply was lost (a resent command).
      if (kind === 'replay' && value === ownAnswer) return { kind: 'accepted' };
      if (kind === 'replay') return { kind, answer: JSON.parse(value as string) as StoredAnswer };
      if (kind === 'accepted') return { kind };
      if (kind === 'duplicate') return { kind, duplicateOf: value as string };
      if (kind === 'fenced') throw new Error(`lead id ${req.lead.id} exists already`);
      if (kind === 'claimed') break;
      if (kind === 'stale') {
        const staleLead = (value as string).split('|')[1] ?? '';
        const fenced = await this.scripts.run<string>(SCRIPTS.leadFence, [this.keys.lead(staleLead)], { ttlMs: IDEMPOTENCY_TTL_MS });
        if (fenced === 'stored') await this.answer(key, staleLead, acceptedAnswer(staleLead));
        else takeOver = value;
        continue;
      }
      // 'busy': a request with the same key is storing its lead right now; its answer is this one's.
      if (Date.now() > waitUntil) throw new Error('an earlier request with this Idempotency-Key is still being stored');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stored = await this.store(req);
    // Fenced: this request stalled past its claim, which another took over; that one's answer stands.
    const answer = stored.kind === 'accepted' ? acceptedAnswer(req.lead.id) : stored.kind === 'duplicate' ? duplicateAnswer(stored.duplicateOf) : undefined;
    const inForce = answer === undefined ? await this.storedAnswer(key) : await this.answer(key, req.lead.id, answer);
    if (inForce === undefined) throw new Error('the Idempotency-Key was taken over and holds no answer yet');
    if (answer !== undefined && inForce === answer) return stored.kind === 'accepted' ? { kind: 'accepted' } : { kind: 'duplicate', duplicateOf: (stored as { duplicateOf: string }).duplicateOf };
    return { kind: 'replay', answer: inForce };
  }

  /** Answers under an idempotency key for the claim of `leadId`; returns the answer in force (this one when stored). */
  private async answer(key: string, leadId: string, answer: StoredAnswer): Promise<StoredAnswer | undefined> {
    const [kind, value] = await this.scripts.run<ReserveResultReply>(SCRIPTS.idempotencyAnswer, [key], { leadId, answer: JSON.stringify(answer), ttlMs: IDEMPOTENCY_TTL_MS });
    if (kind === 'stored') return answer;
    // The same answer already there: this step ran before and its reply was lost (a resent command).
    if (kind === 'replay' && value === JSON.stringify(answer)) return answer;
    if (kind === 'replay') return JSON.parse(value as string) as StoredAnswer;
    return undefined;
  }

  /** The claim, the store and the answer as one step (store-lead-idempotent-7.lua), on one Redis. */
  private storeClaimed(req: ReserveRequest, key: string, claim: { leadId: string; leaseMs: number; takeOver?: string }, ownAnswer: string): Promise<ReserveResultReply> {
    return this.scripts.run<ReserveResultReply>(SCRIPTS.storeLeadIdempotent, [...this.storeKeys(req), key], {
      ...this.storeArgs(req),
      ...claim,
      idempotencyTtlMs: IDEMPOTENCY_TTL_MS,
      acceptedAnswer: ownAnswer,
      duplicateAnswer: DUPLICATE_ANSWER_PARTS,
    });
  }

  /** The lead's store step (store-lead-6.lua), in its slot. */
  private async store(req: ReserveRequest): Promise<{ kind: 'accepted' } | { kind: 'duplicate'; duplicateOf: string } | { kind: 'fenced' }> {
    const [kind, value] = await this.scripts.run<ReserveResultReply>(SCRIPTS.storeLead, this.storeKeys(req), this.storeArgs(req));
    if (kind === 'duplicate') return { kind, duplicateOf: value as string };
    if (kind === 'fenced') return { kind };
    return { kind: 'accepted' };
  }

  private storeKeys(req: ReserveRequest): string[] {
    const { id } = req.lead;
    return [req.dedupeKey ?? this.keys.lead(id), this.keys.lead(id), this.keys.leadEvents(id), this.keys.pending(leadBucket(id)), this.keys.leadData(id), this.keys.ledgerStreamOf(id)];
  }

  /** store-lead-6.lua's argument: the lead, its first event and its ledger record. */
  private storeArgs(req: ReserveRequest): Record<string, unknown> {
    const { lead } = req;
    const { phoneNational, quality, supplier, createdAt, id, ...input } = lead;
    const received: LeadEvent = { at: new Date(createdAt).toISOString(), type: 'received', supplier, quality };
    const data = JSON.stringify(input);
    return {
      leadId: id,
      createdAt: String(createdAt),
      retentionMs: this.retentionMs,
      dedupe: req.dedupeKey !== undefined,
      dedupeTtlMs: Math.max(1, req.dedupeWindowMs),
      data,
      supplier,
      quality: String(quality),
      phoneNational,
      source: lead.source,
      geo: lead.geo,
      receivedEvent: JSON.stringify(received),
      ledgerOn: this.keys.ledgerOn,
      ledgerRecord: JSON.stringify({
        supplier,
        createdAt: String(createdAt),
        quality: String(quality),
        phoneNational,
        source: lead.source,
        geo: lead.geo,
        data,
        phoneDigest: contactDigest(lead.phone),
        emailDigest: lead.email === undefined ? '' : contactDigest(lead.email.toLowerCase()),
      } satisfies LedgerLeadRecord),
    };
  }

  /** The answer stored under an idempotency key (a retry's first answer), if any. */
  async storedAnswer(idempotencyKey: string): Promise<StoredAnswer | undefined> {
    const text = await this.redis.get(idempotencyKey);
    if (!text) return undefined;
    try {
      return JSON.parse(text) as StoredAnswer;
    } catch {
      return undefined;
    }
  }

  /**
   * Notes a lead refused at intake for the ledger's reports (`rejected`), when the install runs a
   * ledger. Best effort: a rejection is an answer already given, and its stream is trimmed.
   */
  async recordRejection(supplier: string, reason: string, at: Date): Promise<void> {
    if (!this.keys.ledgerOn) return;
    await this.redis.xadd(this.keys.ledgerRejections(), 'MAXLEN', '~', REJECTIONS_MAX_BACKLOG, '*', 'supplier', supplier, 'reason', reason, 'at', at.toISOString());
  }

  // Reads go in a pipeline, not MULTI: a full Redis (noeviction) refuses every command queued in a
  // transaction, reads included, and a lead must stay readable when Redis is full.
  async get(id: string): Promise<LeadRecord | CompactedLead | undefined> {
    const results = await this.redis
      .pipeline()
      .hgetall(this.keys.lead(id))
      .get(this.keys.leadData(id))
      .lrange(this.keys.leadEvents(id), 0, -1)
      .exec();
    const hash = results?.[0]?.[1] as Record<string, string> | undefined;
    const data = results?.[1]?.[1] as string | null;
    const events = ((results?.[2]?.[1] as string[]) ?? []).map((e) => JSON.parse(e) as LeadEvent);
    const stored = readStoredLead(id, hash, data);
    const through = Number(hash?.compacted ?? 0);
    if (hash?.[LEAD_HASH.status] && through > 0) {
      return {
        compacted: true,
        id,
        through,
        supplier: hash[LEAD_HASH.supplier] ?? '',
        status: hash[LEAD_HASH.status] as LeadRecord['status'],
        ...(hash[LEAD_HASH.reason] ? { reason: hash[LEAD_HASH.reason] } : {}),
        ...(hash[LEAD_HASH.destination] ? { destination: hash[LEAD_HASH.destination] } : {}),
        ...(hash[LEAD_HASH.payout] ? { payout: Number(hash[LEAD_HASH.payout]) } : {}),
        tail: events,
        ...(stored ? { stored } : {}),
      };
    }
    if (!stored) return undefined;
    return { ...stored, events };
  }

  /** Status, payout and reason only: what `?wait` needs to know whether a lead is final. */
  async outcome(id: string): Promise<{ status: string | null; payout: string | null; reason: string | null }> {
    const [status, payout, reason] = await this.redis.hmget(this.keys.lead(id), LEAD_HASH.status, LEAD_HASH.payout, LEAD_HASH.reason);
    return { status: status ?? null, payout: payout ?? null, reason: reason ?? null };
  }
}
