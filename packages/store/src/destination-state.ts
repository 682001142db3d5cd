import type { RedisClient, RedisKeys } from '@leadrouter/redis';
import type { LearnedCounts } from '@leadrouter/routing';

export interface CapUse {
  hourly: number;
  daily: number;
  total: number;
}

/** A circuit that is not open: see DestinationState.withRoom. */
export type CircuitPhase = 'closed' | 'failing' | 'half-open';

export interface CircuitState {
  open: boolean;
  openUntil: number | null;
  failures: number;
}

/**
 * What Redis holds about each destination, shared by every worker: its circuit, cap counters, day
 * counters and what best_revenue learnt. The Lua steps change them (circuit.lua, learn.lua,
 * advance.lua, record-attempt.lua); this class only reads them, for routing, gauges and the admin
 * view. The clock is injected.
 */
export class DestinationState {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  async circuitIsOpen(destination: string): Promise<boolean> {
    const openUntil = await this.redis.hget(this.keys.circuit(destination), 'openUntil');
    return openUntil !== null && Number(openUntil) > this.now();
  }

  async capUsed(destination: string, periods: { hourly: string; daily: string }): Promise<CapUse> {
    const [h, d, t] = await this.redis.mget(...this.capKeys(destination, periods));
    return { hourly: Number(h ?? 0), daily: Number(d ?? 0), total: Number(t ?? 0) };
  }

  /** For the admin view: circuit, caps in use and today's counts of one destination, in one round trip. */
  async status(destination: string, periods: { hourly: string; daily: string }): Promise<{ circuit: CircuitState; capUsed: CapUse; today: { sold: number; rejected: number } }> {
    const results = await this.redis
      .pipeline()
      .hmget(this.keys.circuit(destination), 'openUntil', 'failures')
      .mget(...this.capKeys(destination, periods))
      .hmget(this.keys.destinationDay(destination, periods.daily), 'sold', 'rejected')
      .exec();
    const [openUntil, failures] = (results?.[0]?.[1] as (string | null)[]) ?? [];
    const [h, d, t] = (results?.[1]?.[1] as (string | null)[]) ?? [];
    const [sold, rejected] = (results?.[2]?.[1] as (string | null)[]) ?? [];
    const until = openUntil ? Number(openUntil) : null;
    return {
      circuit: { open: until !== null && until > this.now(), openUntil: until, failures: Number(failures ?? 0) },
      capUsed: { hourly: Number(h ?? 0), daily: Number(d ?? 0), total: Number(t ?? 0) },
      today: { sold: Number(sold ?? 0), rejected: Number(rejected ?? 0) },
    };
  }

  /**
   * Which of these destinations may be offered a lead now, as far as shared state goes: circuit
   * not open, and room in every capped period, with the circuit's phase: `closed` with no failure
   * counted, `failing` (closed, some counted), or `half-open` (past its cooldown, for one probe).
   * Read only (nothing is reserved), for all of them in one round trip: an auction's bidders
   * before they are pinged (contract §9).
   */
  async withRoom(destinations: ReadonlyArray<{ id: string; caps?: Partial<Record<keyof CapUse, number>> | undefined; periods: { hourly: string; daily: string } }>): Promise<Map<string, CircuitPhase>> {
    if (destinations.length === 0) return new Map();
    // A pipeline per destination (its keys share a slot), all sent at once: on a Redis Cluster
    // the destinations live in different slots.
    const results = await Promise.all(destinations.map((d) => this.redis.pipeline().hmget(this.keys.circuit(d.id), 'openUntil', 'failures').mget(...this.capKeys(d.id, d.periods)).exec()));
    const now = this.now();
    const eligible = new Map<string, CircuitPhase>();
    destinations.forEach((d, i) => {
      const [openUntil, failures] = (results[i]?.[0]?.[1] as (string | null)[] | undefined) ?? [];
      if (openUntil && Number(openUntil) > now) return;
      const [h, day, t] = ((results[i]?.[1]?.[1] as (string | null)[] | undefined) ?? []).map((v) => Number(v ?? 0));
      const used: CapUse = { hourly: h ?? 0, daily: day ?? 0, total: t ?? 0 };
      if ((['hourly', 'daily', 'total'] as const).every((p) => d.caps?.[p] === undefined || used[p] < (d.caps[p] as number))) eligible.set(d.id, openUntil ? 'half-open' : Number(failures ?? 0) > 0 ? 'failing' : 'closed');
    });
    return eligible;
  }

  /** Learnt figures of destinations (best_revenue, as learn.lua keeps them), overall and for one geo; a flat prior where nothing is known. */
  async learned(destinations: readonly string[], geo: string): Promise<Map<string, LearnedCounts>> {
    // One read per destination, all sent at once (the destinations live in different slots of a cluster).
    const results = await Promise.all(destinations.map((d) => this.redis.hmget(this.keys.learned(d), 'a', 'b', `g:${geo}:a`, `g:${geo}:b`, 'price')));
    return new Map(
      destinations.map((d, i) => {
        const [a, b, geoA, geoB, price] = results[i] ?? [];
        const number = (v: string | null | undefined, fallback: number): number => (v === null || v === undefined ? fallback : Number(v));
        return [d, { a: number(a, 1), b: number(b, 1), geoA: number(geoA, 1), geoB: number(geoB, 1), ...(price ? { price: Number(price) } : {}) }];
      }),
    );
  }

  private capKeys(destination: string, periods: { hourly: string; daily: string }): [string, string, string] {
    return [this.keys.cap(destination, `h:${periods.hourly}`), this.keys.cap(destination, `d:${periods.daily}`), this.keys.cap(destination, 't')];
  }
}
