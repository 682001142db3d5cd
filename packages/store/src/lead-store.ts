import type { Redis } from 'ioredis';
import type { Lead, LeadStatus } from '@leadrouter/lead';
import type { RedisKeys } from '@leadrouter/redis';
import { RESERVE_LEAD } from './scripts.js';

export interface LeadEvent {
  at: string;
  type: 'received' | 'routed' | 'attempt' | 'delivered' | 'unsold' | 'postback' | 'notified';
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

export interface LeadRecord {
  lead: Lead;
  status: LeadStatus;
  reason?: string;
  destination?: string;
  payout?: number;
  events: LeadEvent[];
}

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

type ReserveCommand = (...args: (string | number)[]) => Promise<[string, string?]>;

export class LeadStore {
  private readonly reserveScript: ReserveCommand;

  constructor(
    private readonly redis: Redis,
    readonly keys: RedisKeys,
    private readonly retentionMs: number,
  ) {
    if (!('lrReserveLead' in redis)) redis.defineCommand('lrReserveLead', { numberOfKeys: 5, lua: RESERVE_LEAD });
    this.reserveScript = (redis as unknown as { lrReserveLead: ReserveCommand }).lrReserveLead.bind(redis);
  }

  /** Stores a new lead atomically, unless its idempotency key or dedupe fields were seen before. */
  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    const { lead } = req;
    const { phoneNational, quality, supplier, createdAt, id, ...input } = lead;
    const accepted: StoredAnswer = { code: 202, body: { status: 'accepted', id } };
    const duplicate: StoredAnswer = { code: 409, body: { status: 'rejected', reason: 'duplicate', duplicateOf: '__DUP__' } };
    const received: LeadEvent = { at: new Date(createdAt).toISOString(), type: 'received', supplier, quality };
    const [kind, value] = await this.reserveScript(
      req.idempotencyKey ?? '',
      req.dedupeKey ?? '',
      this.keys.lead(id),
      this.keys.leadEvents(id),
      this.keys.pending(),
      id,
      IDEMPOTENCY_TTL_MS,
      Math.max(1, req.dedupeWindowMs),
      this.retentionMs,
      createdAt,
      JSON.stringify(input),
      supplier,
      quality,
      phoneNational,
      JSON.stringify(received),
      JSON.stringify(accepted),
      JSON.stringify(duplicate),
    );
    if (kind === 'replay') return { kind, answer: JSON.parse(value as string) as StoredAnswer };
    if (kind === 'duplicate') return { kind, duplicateOf: value as string };
    return { kind: 'accepted' };
  }

  async get(id: string): Promise<LeadRecord | undefined> {
    const [[, hash], [, rawEvents]] = (await this.redis
      .multi()
      .hgetall(this.keys.lead(id))
      .lrange(this.keys.leadEvents(id), 0, -1)
      .exec()) as [[Error | null, Record<string, string>], [Error | null, string[]]];
    if (!hash || !hash.lead) return undefined;
    const input = JSON.parse(hash.lead) as Omit<Lead, 'id' | 'supplier' | 'createdAt' | 'quality' | 'phoneNational'>;
    const record: LeadRecord = {
      lead: {
        ...input,
        id,
        supplier: hash.supplier ?? '',
        createdAt: Number(hash.createdAt),
        quality: Number(hash.quality),
        phoneNational: hash.phoneNational ?? '',
      },
      status: (hash.status ?? 'queued') as LeadStatus,
      events: rawEvents.map((e) => JSON.parse(e) as LeadEvent),
    };
    if (hash.reason) record.reason = hash.reason;
    if (hash.destination) record.destination = hash.destination;
    if (hash.payout) record.payout = Number(hash.payout);
    return record;
  }

  /** Status and payout only: what `?wait` needs to know whether a lead is final. */
  async outcome(id: string): Promise<{ status: string | null; payout: string | null }> {
    const [status, payout] = await this.redis.hmget(this.keys.lead(id), 'status', 'payout');
    return { status: status ?? null, payout: payout ?? null };
  }
}
