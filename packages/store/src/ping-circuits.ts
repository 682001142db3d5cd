import type { RedisClient, RedisKeys } from '@leadrouter/redis';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/** What one ping tells of its bidder's health: it answered, it failed (error, timeout), or it never left (our fault). */
export type PingVerdict = 'ok' | 'fail' | 'untouched';

export interface PingCircuitOutcome {
  destination: string;
  verdict: PingVerdict;
  threshold: number;
  cooldownMs: number;
}

/**
 * The circuit breaker of bidders, fed by their pings (contract §9: a dead bidder is not pinged for
 * ever): the verdicts of an auction's pings in one Lua step (record-pings.lua), and the probe of a
 * half-open circuit, which only one auction at a time may send.
 */
export class PingCircuits {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.recordPing]);
  }

  /** Of bidders whose circuit is half-open, those this auction may probe (the probe lock taken for `lockMs`). */
  async claimProbes(destinations: readonly string[], lockMs: number): Promise<Set<string>> {
    if (destinations.length === 0) return new Set();
    // One SET per bidder, all sent at once: on a Redis Cluster the bidders live in different slots.
    const results = await Promise.all(destinations.map((d) => this.redis.set(this.keys.circuitProbe(d), '1', 'PX', lockMs, 'NX')));
    return new Set(destinations.filter((_d, i) => results[i] === 'OK'));
  }

  /** Each bidder's circuit change (opened, closed, none), in order. */
  async record(outcomes: readonly PingCircuitOutcome[]): Promise<Array<'opened' | 'closed' | undefined>> {
    if (outcomes.length === 0) return [];
    // One step per bidder, all sent at once: each circuit lives in its destination's slot.
    const nowMs = this.now();
    const changes = await Promise.all(
      outcomes.map((o) => this.scripts.run<number>(SCRIPTS.recordPing, [this.keys.circuit(o.destination), this.keys.circuitProbe(o.destination)], { nowMs, verdict: o.verdict, threshold: o.threshold, cooldownMs: o.cooldownMs })),
    );
    return changes.map((c) => (c === 1 ? 'opened' : c === -1 ? 'closed' : undefined));
  }
}
