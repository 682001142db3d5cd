import type { Redis } from 'ioredis';
import type { Lead } from '@leadrouter/lead';
import type { RedisKeys } from '@leadrouter/redis';
import { readStoredLead, type DeliveryPlan, type StoredLead } from './lead-record.js';
import type { LeadEvent } from './lead-store.js';
import { ADVANCE, CAP_RELEASE, MARK_UNSOLD, PLAN, RECORD_ATTEMPT, REQUEUE } from './scripts.js';

/** A destination's learnt figures as stored (the shape of @leadrouter/routing's LearnedCounts). */
export interface LearnedFigures {
  a: number;
  b: number;
  geoA: number;
  geoB: number;
  /** Absent until the destination sold a lead. */
  price?: number;
}

/** The lead as a worker needs it: fields, status, plan and tries so far, in one read. */
export type LeadForDelivery = StoredLead;

export interface CapLimits {
  hourly?: number;
  daily?: number;
  total?: number;
}

type Script = (...args: (string | number)[]) => Promise<unknown>;

/** Scripts with a fixed number of keys; ADVANCE takes a variable number (numkeys given per call). */
const COMMANDS = {
  lrPlan: { numberOfKeys: 2, lua: PLAN },
  lrAdvance: { lua: ADVANCE },
  lrRecordAttempt: { numberOfKeys: 6, lua: RECORD_ATTEMPT },
  lrMarkUnsold: { numberOfKeys: 3, lua: MARK_UNSOLD },
  lrRequeue: { numberOfKeys: 4, lua: REQUEUE },
  lrCapRelease: { numberOfKeys: 1, lua: CAP_RELEASE },
} as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A candidate that passed the checks needing no shared state, for ADVANCE to check circuit and caps. */
export interface AdvanceCandidate {
  index: number;
  destination: string;
  caps: CapLimits | undefined;
  periods: { hourly: string; daily: string };
}

export type AttemptAction = 'sold' | 'retry' | 'next';

export interface AttemptRecord {
  leadId: string;
  destination: string;
  event: LeadEvent;
  /**
   * What the try tells of the destination's health: 'success' (it answered: accept or reject),
   * 'failure' (its error or timeout), or 'untouched' (the request never reached it: our fault).
   */
  circuit: 'success' | 'failure' | 'untouched';
  action: AttemptAction;
  circuitThreshold: number;
  circuitCooldownMs: number;
  /** For 'sold'. */
  payout?: number;
  route?: string;
  /** For 'retry': the step whose decision this is (`2.0`). */
  step?: string;
  outcome: 'accepted' | 'rejected' | 'error';
  /** The destination's local date (YYYY-MM-DD) for its daily counters. */
  day: string;
  /** For learning (best_revenue): the lead's geo, and the keep factors (1 - 1 / memory) of outcomes and of prices. */
  geo: string;
  learningKeep: number;
  priceKeep: number;
}

/**
 * Every state change a delivery worker makes, each one atomic in Redis (Lua) and each one a single
 * round trip: the plan, the choice of the next destination (circuit, caps, recorded decision), the
 * outcome of a try (event, circuit, sale or retry or release) and the unsold end.
 */
export class DeliveryState {
  private readonly run: Record<keyof typeof COMMANDS, Script>;

  constructor(
    private readonly redis: Redis,
    readonly keys: RedisKeys,
  ) {
    for (const [name, def] of Object.entries(COMMANDS)) {
      if (!(name in redis)) redis.defineCommand(name, def);
    }
    const r = redis as unknown as Record<keyof typeof COMMANDS, Script>;
    this.run = Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, r[name as keyof typeof COMMANDS].bind(redis)])) as Record<
      keyof typeof COMMANDS,
      Script
    >;
  }

  /** The lead for a route job, taking it out of the intake's outbox in the same round trip. */
  async pickUp(id: string): Promise<LeadForDelivery | undefined> {
    const results = await this.redis.pipeline().zrem(this.keys.pending(), id).hgetall(this.keys.lead(id)).get(this.keys.leadData(id)).exec();
    return readStoredLead(id, results?.[1]?.[1] as Record<string, string>, results?.[2]?.[1] as string | null);
  }

  /** The lead's status (null when it does not exist or has expired) and routing round. */
  async statusAndRound(id: string): Promise<{ status: string | null; round: number }> {
    const [status, round] = await this.redis.hmget(this.keys.lead(id), 'status', 'round');
    return { status: status ?? null, round: Number(round ?? 0) };
  }

  async load(id: string): Promise<LeadForDelivery | undefined> {
    const results = await this.redis.pipeline().hgetall(this.keys.lead(id)).get(this.keys.leadData(id)).exec();
    return readStoredLead(id, results?.[0]?.[1] as Record<string, string>, results?.[1]?.[1] as string | null);
  }

  /** Stores the plan (and its `routed` event) unless one exists; returns the plan in force and whether this call set it. */
  async setPlan(id: string, plan: DeliveryPlan, event: LeadEvent): Promise<{ plan: DeliveryPlan; created: boolean }> {
    const json = JSON.stringify(plan);
    const inForce = String(await this.run.lrPlan(this.keys.lead(id), this.keys.leadEvents(id), json, JSON.stringify(event)));
    return inForce === json ? { plan, created: true } : { plan: JSON.parse(inForce) as DeliveryPlan, created: false };
  }

  /** The decision after `step` (`start`, `2.0`): `d:<index>` or `unsold`; see ADVANCE. */
  async advance(leadId: string, step: string, candidates: readonly AdvanceCandidate[], probeLockMs: number): Promise<string> {
    const keys = [this.keys.lead(leadId)];
    const args: (string | number)[] = [`next:${step}`, Date.now(), probeLockMs, 2 * HOUR_MS, 2 * DAY_MS];
    for (const c of candidates) {
      keys.push(
        this.keys.circuit(c.destination),
        this.keys.circuitProbe(c.destination),
        this.keys.cap(c.destination, `h:${c.periods.hourly}`),
        this.keys.cap(c.destination, `d:${c.periods.daily}`),
        this.keys.cap(c.destination, 't'),
      );
      args.push(c.index, c.destination, c.caps?.hourly ?? -1, c.caps?.daily ?? -1, c.caps?.total ?? -1);
    }
    return String(await this.run.lrAdvance(keys.length, ...keys, ...args));
  }

  async recordAttempt(r: AttemptRecord): Promise<{ circuit: 'opened' | 'closed' | undefined; result: string }> {
    const payout = r.payout ?? 0;
    const [change, result] = (await this.run.lrRecordAttempt(
      this.keys.lead(r.leadId),
      this.keys.leadEvents(r.leadId),
      this.keys.circuit(r.destination),
      this.keys.circuitProbe(r.destination),
      this.keys.destinationDay(r.destination, r.day),
      this.keys.learned(r.destination),
      JSON.stringify(r.event),
      r.circuit === 'success' ? 'ok' : r.circuit === 'failure' ? 'fail' : 'untouched',
      Date.now(),
      r.circuitThreshold,
      r.circuitCooldownMs,
      r.action,
      r.destination,
      payout,
      JSON.stringify({ at: r.event.at, type: 'delivered', destination: r.destination, payout }),
      this.keys.finalChannel(),
      // The destination is for operators' tools listening on the channel; `?wait` never shows it.
      JSON.stringify({ id: r.leadId, status: 'delivered', payout, destination: r.destination }),
      r.route ?? '',
      `next:${r.step ?? ''}`,
      r.outcome,
      r.geo,
      r.learningKeep,
      r.priceKeep,
    )) as [number, string];
    return { circuit: change === 1 ? 'opened' : change === -1 ? 'closed' : undefined, result };
  }

  async appendEvent(leadId: string, event: LeadEvent): Promise<void> {
    await this.redis.rpush(this.keys.leadEvents(leadId), JSON.stringify(event));
  }

  /** 'ok' when this call ended the lead unsold; otherwise the status it already had. */
  async markUnsold(lead: Lead, reason: string, route: string, event: LeadEvent): Promise<string> {
    const answer = await this.run.lrMarkUnsold(
      this.keys.lead(lead.id),
      this.keys.leadEvents(lead.id),
      this.keys.unsold(),
      reason,
      JSON.stringify(event),
      this.keys.finalChannel(),
      JSON.stringify({ id: lead.id, status: 'unsold', reason }),
      route,
      lead.id,
    );
    return String(answer);
  }

  /** Admin redelivery of an unsold lead: { round } when it is queued again, else its current status. */
  async requeue(leadId: string, event: LeadEvent): Promise<{ round: number } | { status: string }> {
    const [first, round] = (await this.run.lrRequeue(
      this.keys.lead(leadId),
      this.keys.leadEvents(leadId),
      this.keys.unsold(),
      this.keys.pending(),
      leadId,
      Date.now(),
      JSON.stringify(event),
    )) as [string, number?];
    return first === 'ok' ? { round: Number(round) } : { status: first };
  }

  /** Unsold leads that arrived between `from` and `to` (ms), oldest first, with their reasons. */
  async unsoldBetween(from: number, to: number, limit: number): Promise<Array<{ id: string; reason: string | null }>> {
    const ids = await this.redis.zrangebyscore(this.keys.unsold(), from, to, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.lead(id), 'reason');
    const reasons = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => ({ id, reason: (reasons[i]?.[1] as string | null) ?? null }));
  }

  /** The routing round of a lead (0 until an admin redelivers it). */
  async round(leadId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.lead(leadId), 'round')) ?? 0);
  }

  /** Drops index entries of leads past their retention (their records have expired). */
  async trimUnsoldIndex(olderThan: number): Promise<void> {
    await this.redis.zremrangebyscore(this.keys.unsold(), '-inf', olderThan);
  }

  async releaseCap(leadId: string, destination: string): Promise<void> {
    await this.run.lrCapRelease(this.keys.lead(leadId), destination);
  }

  async capUsed(destination: string, periods: { hourly: string; daily: string }): Promise<{ hourly: number; daily: number; total: number }> {
    const [h, d, t] = await this.redis.mget(
      this.keys.cap(destination, `h:${periods.hourly}`),
      this.keys.cap(destination, `d:${periods.daily}`),
      this.keys.cap(destination, 't'),
    );
    return { hourly: Number(h ?? 0), daily: Number(d ?? 0), total: Number(t ?? 0) };
  }

  /** For the admin view: circuit, caps in use and today's counts of one destination. */
  async destinationStatus(
    destination: string,
    periods: { hourly: string; daily: string },
  ): Promise<{ circuit: { open: boolean; openUntil: number | null; failures: number }; capUsed: { hourly: number; daily: number; total: number }; today: { sold: number; rejected: number } }> {
    const results = await this.redis
      .pipeline()
      .hmget(this.keys.circuit(destination), 'openUntil', 'failures')
      .mget(this.keys.cap(destination, `h:${periods.hourly}`), this.keys.cap(destination, `d:${periods.daily}`), this.keys.cap(destination, 't'))
      .hmget(this.keys.destinationDay(destination, periods.daily), 'sold', 'rejected')
      .exec();
    const [openUntil, failures] = (results?.[0]?.[1] as (string | null)[]) ?? [];
    const [h, d, t] = (results?.[1]?.[1] as (string | null)[]) ?? [];
    const [sold, rejected] = (results?.[2]?.[1] as (string | null)[]) ?? [];
    const until = openUntil ? Number(openUntil) : null;
    return {
      circuit: { open: until !== null && until > Date.now(), openUntil: until, failures: Number(failures ?? 0) },
      capUsed: { hourly: Number(h ?? 0), daily: Number(d ?? 0), total: Number(t ?? 0) },
      today: { sold: Number(sold ?? 0), rejected: Number(rejected ?? 0) },
    };
  }

  /** Learnt figures of destinations (best_revenue), overall and for one geo; a flat prior where nothing is known. */
  async learned(destinations: readonly string[], geo: string): Promise<Map<string, LearnedFigures>> {
    const pipeline = this.redis.pipeline();
    for (const d of destinations) pipeline.hmget(this.keys.learned(d), 'a', 'b', `g:${geo}:a`, `g:${geo}:b`, 'price');
    const results = (await pipeline.exec()) ?? [];
    return new Map(
      destinations.map((d, i) => {
        const [a, b, geoA, geoB, price] = (results[i]?.[1] as (string | null)[] | undefined) ?? [];
        const number = (v: string | null | undefined, fallback: number): number => (v === null || v === undefined ? fallback : Number(v));
        return [d, { a: number(a, 1), b: number(b, 1), geoA: number(geoA, 1), geoB: number(geoB, 1), ...(price ? { price: Number(price) } : {}) }];
      }),
    );
  }

  async redisMemory(): Promise<{ used: number; max: number }> {
    const info = await this.redis.info('memory');
    return { used: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0), max: Number(/maxmemory:(\d+)/.exec(info)?.[1] ?? 0) };
  }

  async circuitIsOpen(destination: string): Promise<boolean> {
    const openUntil = await this.redis.hget(this.keys.circuit(destination), 'openUntil');
    return openUntil !== null && Number(openUntil) > Date.now();
  }

  /** Leads the intake stored more than `olderThanMs` ago that no worker has picked up yet. */
  async strandedPending(olderThanMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pending(), '-inf', Date.now() - olderThanMs, 'LIMIT', 0, limit);
  }

  async nextRotation(route: string): Promise<number> {
    return this.redis.incr(this.keys.rotation(route));
  }
}
