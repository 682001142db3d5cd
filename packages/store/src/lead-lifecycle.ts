import type { Lead } from '@leadrouter/lead';
import { LEAD_HASH, STEP_FIELD_PREFIX, leadBucket, readSales, saleField, stepField, type RedisClient, type RedisKeys } from '@leadrouter/redis';
import { CapHolds, HoldFencedError, type CapLimits } from './cap-holds.js';
import { DestinationEffects } from './destination-effects.js';
import { NO_FAULTS, type SplitStepFaults } from './split-step-faults.js';
import { isDelivering, readStoredLead, type DeliveryPlan, type StoredLead } from './lead-record.js';
import type { LeadEvent } from './lead-store.js';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/** The lead as a worker needs it: fields, status, plan and tries so far, in one read. */
export type LeadForDelivery = StoredLead;

/** A compacted lead's fields and state, read back from the ledger for an admin redelivery. */
export interface LeadRestore {
  /** The lead's fields as the intake stored them (JSON text). */
  data: string;
  quality: string;
  createdAt: string;
  phoneNational: string;
}

/** Whom a supplier notification goes to, and what its URL's macros name. */
export interface NotificationTarget {
  supplier: string;
  lead: { id: string; source: string; geo: string; click_id?: string; payout?: number };
}

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
  payout: number;
  route: string;
  /** The step this try is (`2.0`): its decision is recorded under it. */
  step: string;
  outcome: 'accepted' | 'rejected' | 'error';
  /** The destination's local date (YYYY-MM-DD) for its daily counters. */
  day: string;
  /** For learning (best_revenue): the lead's geo, and the keep factors (1 - 1 / memory) of outcomes and of prices. */
  geo: string;
  learningKeep: number;
  priceKeep: number;
  /** The lead is shared (contract §9): a sale is one of its sales, and learning marks are per buyer. Default: exclusive. */
  shared?: boolean;
}

const DAY_MS = 86_400_000;
/** How many fenced holds in a row a choice takes before its job fails and runs again. */
const MAX_FENCED_ROUNDS = 5;
/** A destination's sold and rejected counts of a day are kept this long (the admin view shows today). */
const DAY_COUNTERS_TTL_MS = 3 * DAY_MS;

/**
 * The lead's lifecycle after intake, each step one atomic Lua call and one round trip: the plan,
 * the choice of the next destination (circuit, caps, recorded decision), the outcome of a try
 * (event, circuit, sale or retry or release), the unsold end, an admin's requeue, and the give-back
 * of a cap slot. The clock is injected, so tests need not sleep.
 */
export class LeadLifecycle {
  private readonly scripts: ScriptRunner;
  private readonly holds: CapHolds;
  private readonly effects: DestinationEffects;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
    /** Between the halves of split steps: a test's crashes and stalls (split-step-faults.ts). */
    private readonly faults: SplitStepFaults = NO_FAULTS,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.plan, SCRIPTS.decide, SCRIPTS.recordAttempt, SCRIPTS.markUnsold, SCRIPTS.requeue, SCRIPTS.appendEvent]);
    this.holds = new CapHolds(redis, keys, now, faults);
    this.effects = new DestinationEffects(redis, keys, now);
  }

  /** The lead for a route job, taking it out of the intake's outbox in the same round trip. */
  async pickUp(id: string): Promise<LeadForDelivery | undefined> {
    const results = await this.redis.pipeline().zrem(this.keys.pending(leadBucket(id)), id).hgetall(this.keys.lead(id)).get(this.keys.leadData(id)).exec();
    return readStoredLead(id, results?.[1]?.[1] as Record<string, string>, results?.[2]?.[1] as string | null);
  }

  async load(id: string): Promise<LeadForDelivery | undefined> {
    const results = await this.redis.pipeline().hgetall(this.keys.lead(id)).get(this.keys.leadData(id)).exec();
    return readStoredLead(id, results?.[0]?.[1] as Record<string, string>, results?.[1]?.[1] as string | null);
  }

  /** What a supplier notification names of a lead (contract §6): read from its fields, or from its state once compacted. */
  async notificationTarget(id: string, sale?: string): Promise<NotificationTarget | undefined> {
    // A sale of a shared lead (contract §9) has its own payout (`sale:<buyer>` = `<status>|<payout>`);
    // an exclusive lead's one sale is the lead's payout, whichever buyer is named.
    const [[, fields], [, data]] = (await this.redis
      .pipeline()
      .hmget(this.keys.lead(id), LEAD_HASH.supplier, LEAD_HASH.source, LEAD_HASH.geo, 'clickId', LEAD_HASH.payout, ...(sale === undefined ? [] : [saleField(sale)]))
      .get(this.keys.leadData(id))
      .exec()) as [[unknown, Array<string | null>], [unknown, string | null]];
    const [supplier, source, geo, clickId, leadPayout, sold] = fields;
    const payout = sale !== undefined && sold ? sold.slice(sold.indexOf('|') + 1) : leadPayout;
    if (!supplier) return undefined;
    const clickFromData = data ? (JSON.parse(data) as { click_id?: string }).click_id : undefined;
    const click = clickFromData ?? clickId ?? undefined;
    return { supplier, lead: { id, source: source ?? '', geo: geo ?? '', ...(click ? { click_id: click } : {}), ...(payout ? { payout: Number(payout) } : {}) } };
  }

  /**
   * A lead's state when its fields are gone but its state hash is not (compacted after the ledger
   * stored it): what a job re-run after a crash needs to finish its duty to the supplier.
   */
  async endedState(id: string): Promise<{ status: string; supplier: string; round: number; sales: Record<string, { status: string; payout: number }> } | undefined> {
    // The whole hash: a compacted one is a dozen fields, and a shared lead's sales are among them.
    const hash = await this.redis.hgetall(this.keys.lead(id));
    const status = hash[LEAD_HASH.status];
    const supplier = hash[LEAD_HASH.supplier];
    return status && supplier ? { status, supplier, round: Number(hash[LEAD_HASH.round] ?? 0), sales: readSales(hash) } : undefined;
  }

  /** The lead's status (null when it does not exist or has expired), routing round, and whether tries of it may still run (see stillDelivering). */
  async statusAndRound(id: string): Promise<{ status: string | null; round: number; delivering: boolean }> {
    const [status, round, lanes] = await this.redis.hmget(this.keys.lead(id), LEAD_HASH.status, LEAD_HASH.round, LEAD_HASH.lanes);
    return { status: status ?? null, round: Number(round ?? 0), delivering: isDelivering(status ?? null, Number(lanes ?? 0)) };
  }

  /** HTTP tries of the lead so far, at any destination. */
  async attemptsMade(leadId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.lead(leadId), LEAD_HASH.attempts)) ?? 0);
  }

  /** The routing round of a lead (0 until an admin redelivers it). */
  async round(leadId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.lead(leadId), LEAD_HASH.round)) ?? 0);
  }

  /** Stores the plan (and its `routed` event) unless one exists; returns the plan in force and whether this call set it (plan.lua). */
  async setPlan(id: string, plan: DeliveryPlan, routedEvent: LeadEvent): Promise<{ plan: DeliveryPlan; created: boolean }> {
    const json = JSON.stringify(plan);
    const inForce = await this.scripts.run<string>(SCRIPTS.plan, [this.keys.lead(id), this.keys.leadEvents(id), this.keys.ledgerStreamOf(id)], {
      leadId: id,
      plan: json,
      routedEvent: JSON.stringify(routedEvent),
      lanes: plan.lanes ?? 0,
      ledgerOn: this.keys.ledgerOn,
    });
    return inForce === json ? { plan, created: true } : { plan: JSON.parse(inForce) as DeliveryPlan, created: false };
  }

  /**
   * The decision after `step` (`start`, `2.0`), as stored (see `parseDecision`). Each candidate in
   * turn gets a cap slot reserved in its destination's slot (circuit and caps checked there), and
   * the first one reserved becomes the decision in the lead's slot (decide-1.lua, first writer
   * wins); a reservation the decision did not take is settled at once.
   */
  async advance(leadId: string, step: string, candidates: readonly AdvanceCandidate[], probeLockMs: number, shared = false): Promise<string> {
    const field = stepField(step);
    for (const c of candidates) {
      // A hold the cap sweeper fenced meanwhile (this process stalled between the halves past
      // HOLD_CHECK_MS) is given back and reserved afresh; a process that keeps stalling fails the
      // job, which runs again later, rather than skip a destination that has room.
      for (let round = 0; ; round++) {
        if (round === MAX_FENCED_ROUNDS) throw new HoldFencedError(`lead ${leadId}: its cap hold at ${c.destination} was fenced ${round} times in a row (this process stalls between reserving and deciding)`);
        const reserved = await this.holds.reserve(leadId, c.destination, c.caps, c.periods, probeLockMs);
        if (reserved.kind !== 'held') break;
        await this.faults('reserved');
        const [decision, took] = await this.decide(leadId, field, shared, { index: c.index, destination: c.destination, hold: reserved.hold });
        if (took === 1) return decision;
        // Not taken: the hold is given back unless the lead's marker names it (another run took the same hold).
        await this.faults('not-taken');
        await this.holds.settleUnused(leadId, c.destination, reserved.hold);
        if (decision === 'fenced') continue;
        if (decision === 'taken') break;
        return decision;
      }
    }
    return (await this.decide(leadId, field, shared, undefined))[0];
  }

  private decide(leadId: string, field: string, shared: boolean, candidate: { index: number; destination: string; hold: string } | undefined): Promise<[string, number]> {
    return this.scripts.run<[string, number]>(SCRIPTS.decide, [this.keys.lead(leadId)], { stepField: field, shared, ...(candidate ? { candidate } : {}) });
  }

  /** record-attempt-4.lua: the try, and the sale, retry or release that follows; then its owed destination effect (circuit, learning, day counts, cap hold). */
  async recordAttempt(r: AttemptRecord): Promise<{ circuit: 'opened' | 'closed' | undefined; result: string }> {
    const at = r.event.at;
    const [result, owed] = await this.scripts.run<[string, string]>(
      SCRIPTS.recordAttempt,
      [this.keys.lead(r.leadId), this.keys.leadEvents(r.leadId), this.keys.ledgerStreamOf(r.leadId), this.keys.owedEffects(leadBucket(r.leadId))],
      {
        leadId: r.leadId,
        attemptEvent: JSON.stringify(r.event),
        circuit: r.circuit === 'success' ? 'ok' : r.circuit === 'failure' ? 'fail' : 'untouched',
        nowMs: this.now(),
        circuitThreshold: r.circuitThreshold,
        circuitCooldownMs: r.circuitCooldownMs,
        action: r.action,
        destination: r.destination,
        payout: String(r.payout),
        route: r.route,
        stepField: stepField(r.step),
        outcome: r.outcome,
        geo: r.geo,
        learningKeep: r.learningKeep,
        priceKeep: r.priceKeep,
        deliveredEvent: JSON.stringify({ at, type: 'delivered', destination: r.destination, payout: r.payout }),
        finalChannel: this.keys.finalChannel(),
        // The destination is for operators' tools listening on the channel; `?wait` never shows it.
        finalMessage: JSON.stringify({ id: r.leadId, status: 'delivered', payout: r.payout, destination: r.destination }),
        day: r.day,
        dayCountersTtlMs: DAY_COUNTERS_TTL_MS,
        shared: r.shared ?? false,
        ledgerOn: this.keys.ledgerOn,
      },
    );
    // The destination's half (circuit, learning, day counts, the cap hold), in its own slot.
    await this.faults('recorded');
    return { circuit: await this.effects.apply(owed), result };
  }

  /** Appends an event to the lead's history and to the ledger (append-event.lua). */
  async appendEvent(leadId: string, event: LeadEvent): Promise<void> {
    await this.scripts.run<number>(SCRIPTS.appendEvent, [this.keys.lead(leadId), this.keys.leadEvents(leadId), this.keys.ledgerStreamOf(leadId)], { leadId, event: JSON.stringify(event), ledgerOn: this.keys.ledgerOn });
  }

  /** 'ok' when this call ended the lead unsold; otherwise the status it already had (mark-unsold.lua). */
  async markUnsold(lead: Lead, reason: string, route: string, event: LeadEvent): Promise<string> {
    return this.scripts.run<string>(SCRIPTS.markUnsold, [this.keys.lead(lead.id), this.keys.leadEvents(lead.id), this.keys.unsold(leadBucket(lead.id)), this.keys.ledgerStreamOf(lead.id)], {
      leadId: lead.id,
      reason,
      route,
      unsoldEvent: JSON.stringify(event),
      finalChannel: this.keys.finalChannel(),
      finalMessage: JSON.stringify({ id: lead.id, status: 'unsold', reason }),
      ledgerOn: this.keys.ledgerOn,
    });
  }

  /**
   * Admin redelivery of an unsold lead: { round } when it is queued again, else its current status
   * (requeue.lua); `compacted` when its fields are in the ledger only and must be given as `restore`.
   */
  async requeue(leadId: string, event: LeadEvent, restore?: LeadRestore): Promise<{ round: number } | { status: string }> {
    const [first, round] = await this.scripts.run<[string, number?]>(
      SCRIPTS.requeue,
      [this.keys.lead(leadId), this.keys.leadEvents(leadId), this.keys.unsold(leadBucket(leadId)), this.keys.pending(leadBucket(leadId)), this.keys.ledgerStreamOf(leadId), this.keys.leadData(leadId)],
      { leadId, nowMs: this.now(), requeuedEvent: JSON.stringify(event), stepFieldPrefix: STEP_FIELD_PREFIX, ledgerOn: this.keys.ledgerOn, ...(restore ? { restore } : {}) },
    );
    return first === 'ok' ? { round: Number(round) } : { status: first };
  }

  /** Gives back the lead's cap slot at a destination (cap-unmark-1.lua, then cap-settle-5.lua). */
  async releaseCap(leadId: string, destination: string): Promise<void> {
    await this.holds.giveUp(leadId, destination);
  }

  /** The next round_robin turn of a route, shared by every worker process. */
  async nextRotation(route: string): Promise<number> {
    return this.redis.incr(this.keys.rotation(route));
  }
}
