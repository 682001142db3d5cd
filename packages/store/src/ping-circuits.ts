import type { Redis } from 'ioredis';
import type { RedisKeys } from '@leadrouter/redis';
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
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.recordPings]);
  }

  /** Of bidders whose circuit is half-open, those this auction may probe (the probe lock taken for `lockMs`). */
  async claimProbes(destinations: readonly string[], lockMs: number): Promise<Set<string>> {
    if (destinations.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    for (const d of destinations) pipeline.set(this.keys.circuitProbe(d), '1', 'PX', lockMs, 'NX');
    const results = (await pipeline.exec()) ?? [];
    return new Set(destinations.filter((_d, i) => results[i]?.[1] === 'OK'));
  }

  /** Each bidder's circuit change (opened, closed, none), in order. */
  async record(outcomes: readonly PingCircuitOutcome[]): Promise<Array<'opened' | 'closed' | undefined>> {
    if (outcomes.length === 0) return [];
    const keys = outcomes.flatMap((o) => [this.keys.circuit(o.destination), this.keys.circuitProbe(o.destination)]);
    const changes = await this.scripts.run<number[]>(SCRIPTS.recordPings, keys, {
      nowMs: this.now(),
      bidders: outcomes.map((o) => ({ destination: o.destination, verdict: o.verdict, threshold: o.threshold, cooldownMs: o.cooldownMs })),
    });
    return changes.map((c) => (c === 1 ? 'opened' : c === -1 ? 'closed' : undefined));
  }
}
