import type { Redis } from 'ioredis';
import type { Lead, LeadStatus } from '@leadrouter/lead';
import type { RedisKeys } from '@leadrouter/redis';
import type { LeadEvent } from './lead-store.js';
import { CAP_RELEASE, CAP_RESERVE, CIRCUIT_CHECK, CIRCUIT_RECORD, DECIDE, MARK_SOLD, MARK_UNSOLD } from './scripts.js';

/** A route's ordered candidates, fixed once per lead so a re-run never takes a different path. */
export interface DeliveryPlan {
  route: string;
  candidates: string[];
}

/** The lead as a worker needs it: the record, its status and its plan, in one read. */
export interface LeadForDelivery {
  lead: Lead;
  status: LeadStatus;
  plan?: DeliveryPlan;
  attempts: number;
}

export interface CapLimits {
  hourly?: number;
  daily?: number;
  total?: number;
}

export type CircuitState = 'closed' | 'probe' | 'open';

type Script = (...args: (string | number)[]) => Promise<string | number>;

const COMMANDS = {
  lrMarkSold: { numberOfKeys: 2, lua: MARK_SOLD },
  lrMarkUnsold: { numberOfKeys: 2, lua: MARK_UNSOLD },
  lrDecide: { numberOfKeys: 1, lua: DECIDE },
  lrCapReserve: { numberOfKeys: 4, lua: CAP_RESERVE },
  lrCapRelease: { numberOfKeys: 1, lua: CAP_RELEASE },
  lrCircuitCheck: { numberOfKeys: 2, lua: CIRCUIT_CHECK },
  lrCircuitRecord: { numberOfKeys: 2, lua: CIRCUIT_RECORD },
} as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Every state change a delivery worker makes, each one atomic in Redis (Lua): the lead's final
 * transitions, the recorded decisions of its delivery chain, cap reservations and circuit state.
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

  async load(id: string): Promise<LeadForDelivery | undefined> {
    const hash = await this.redis.hgetall(this.keys.lead(id));
    if (!hash.lead) return undefined;
    const input = JSON.parse(hash.lead) as Omit<Lead, 'id' | 'supplier' | 'createdAt' | 'quality' | 'phoneNational'>;
    const result: LeadForDelivery = {
      lead: {
        ...input,
        id,
        supplier: hash.supplier ?? '',
        createdAt: Number(hash.createdAt),
        quality: Number(hash.quality),
        phoneNational: hash.phoneNational ?? '',
      },
      status: (hash.status ?? 'queued') as LeadStatus,
      attempts: Number(hash.attempts ?? 0),
    };
    if (hash.plan) result.plan = JSON.parse(hash.plan) as DeliveryPlan;
    return result;
  }

  /** Stores the plan unless one exists; returns the plan in force and whether this call set it. */
  async setPlan(id: string, plan: DeliveryPlan): Promise<{ plan: DeliveryPlan; created: boolean }> {
    const json = JSON.stringify(plan);
    const inForce = String(await this.run.lrDecide(this.keys.lead(id), 'plan', json));
    return inForce === json ? { plan, created: true } : { plan: JSON.parse(inForce) as DeliveryPlan, created: false };
  }

  /** The decision after a step (`start`, `2.0` = candidate 2, try 0); the first one recorded wins. */
  async decide(id: string, step: string, decision: string): Promise<string> {
    return String(await this.run.lrDecide(this.keys.lead(id), `next:${step}`, decision));
  }

  async appendEvent(id: string, event: LeadEvent, countAttempt = false): Promise<void> {
    const pipeline = this.redis.pipeline().rpush(this.keys.leadEvents(id), JSON.stringify(event));
    if (countAttempt) pipeline.hincrby(this.keys.lead(id), 'attempts', 1);
    await pipeline.exec();
  }

  /** Returns true when the lead was sold by this call; false when it was already final. */
  async markSold(lead: Lead, destination: string, payout: number, route: string, event: LeadEvent): Promise<boolean> {
    const answer = await this.run.lrMarkSold(
      this.keys.lead(lead.id),
      this.keys.leadEvents(lead.id),
      destination,
      payout,
      Date.now(),
      JSON.stringify(event),
      this.keys.finalChannel(),
      JSON.stringify({ id: lead.id, status: 'delivered', payout }),
      route,
    );
    return answer === 'ok';
  }

  async markUnsold(lead: Lead, reason: string, route: string, event: LeadEvent): Promise<boolean> {
    const answer = await this.run.lrMarkUnsold(
      this.keys.lead(lead.id),
      this.keys.leadEvents(lead.id),
      reason,
      JSON.stringify(event),
      this.keys.finalChannel(),
      JSON.stringify({ id: lead.id, status: 'unsold', reason }),
      route,
    );
    return answer === 'ok';
  }

  /** Reserves a cap slot for this lead at this destination; true when granted (or no cap applies). */
  async reserveCap(leadId: string, destination: string, caps: CapLimits, periods: { hourly: string; daily: string }): Promise<boolean> {
    const granted = await this.run.lrCapReserve(
      this.keys.lead(leadId),
      this.keys.cap(destination, `h:${periods.hourly}`),
      this.keys.cap(destination, `d:${periods.daily}`),
      this.keys.cap(destination, 't'),
      destination,
      caps.hourly ?? -1,
      caps.daily ?? -1,
      caps.total ?? -1,
      2 * HOUR_MS,
      2 * DAY_MS,
    );
    return Number(granted) === 1;
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

  async circuit(destination: string, probeLockMs: number): Promise<CircuitState> {
    return (await this.run.lrCircuitCheck(
      this.keys.circuit(destination),
      this.keys.circuitProbe(destination),
      Date.now(),
      probeLockMs,
    )) as CircuitState;
  }

  /** Returns 'opened' or 'closed' when this result changed the circuit, else undefined. */
  async recordCircuit(destination: string, ok: boolean, threshold: number, cooldownMs: number): Promise<'opened' | 'closed' | undefined> {
    const changed = Number(
      await this.run.lrCircuitRecord(
        this.keys.circuit(destination),
        this.keys.circuitProbe(destination),
        ok ? 'ok' : 'fail',
        Date.now(),
        threshold,
        cooldownMs,
      ),
    );
    return changed === 1 ? 'opened' : changed === -1 ? 'closed' : undefined;
  }

  async circuitIsOpen(destination: string): Promise<boolean> {
    const openUntil = await this.redis.hget(this.keys.circuit(destination), 'openUntil');
    return openUntil !== null && Number(openUntil) > Date.now();
  }

  /** Takes the lead out of the intake's outbox: a worker has it now. */
  async leavePending(id: string): Promise<void> {
    await this.redis.zrem(this.keys.pending(), id);
  }

  /** Leads the intake stored more than `olderThanMs` ago that no worker has picked up yet. */
  async strandedPending(olderThanMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pending(), '-inf', Date.now() - olderThanMs, 'LIMIT', 0, limit);
  }

  async nextRotation(route: string): Promise<number> {
    return this.redis.incr(this.keys.rotation(route));
  }
}
