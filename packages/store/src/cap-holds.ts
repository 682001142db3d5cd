import { randomBytes } from 'node:crypto';
import type { RedisClient, RedisKeys } from '@leadrouter/redis';
import { holdCounterKeys } from './destination-effects.js';
import { NO_FAULTS, type SplitStepFaults } from './split-step-faults.js';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

export interface CapLimits {
  hourly?: number;
  daily?: number;
  total?: number;
}

/** A choice whose hold the cap sweeper fenced several times in a row: its job fails, and runs again later. */
export class HoldFencedError extends Error {}

export type ReserveAnswer = { kind: 'held'; hold: string } | { kind: 'open' | 'full' | 'probing' };

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Hourly cap counters outlive their hour, daily ones their day, by this factor: no period is cut short by a clock skew. */
const CAP_COUNTER_TTL_FACTOR = 2;
/**
 * When the cap sweeper first looks at a hold, and again while its try goes on: well past the
 * moment between reserving and deciding (milliseconds), so it fences only holds whose chooser
 * stalled or died.
 */
export const HOLD_CHECK_MS = 30_000;

/**
 * Cap slots, in the destination's slot (contract §12): reserved with a fresh token
 * (cap-reserve-7.lua), taken by the lead's decision (decide-1.lua), and settled (given back or
 * consumed by a sale) in the destination's slot (cap-settle-5.lua, or a step's owed effect). What a
 * crash leaves unsettled, the sweeper finds in the destination's live holds and settles after
 * asking the lead (cap-check-1.lua, which fences an orphan's token first).
 */
export class CapHolds {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
    private readonly faults: SplitStepFaults = NO_FAULTS,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.capReserve, SCRIPTS.capCheck, SCRIPTS.capUnmark, SCRIPTS.capSettle]);
  }

  async reserve(leadId: string, destination: string, caps: CapLimits | undefined, periods: { hourly: string; daily: string }, probeLockMs: number): Promise<ReserveAnswer> {
    const hourly = `h:${periods.hourly}`;
    const daily = `d:${periods.daily}`;
    const now = this.now();
    const [kind, hold] = await this.scripts.run<[string, string?]>(
      SCRIPTS.capReserve,
      [this.keys.circuit(destination), this.keys.circuitProbe(destination), this.keys.cap(destination, hourly), this.keys.cap(destination, daily), this.keys.cap(destination, 't'), this.keys.capHolds(destination), this.keys.capUnconfirmed(destination)],
      {
        leadId,
        token: randomBytes(6).toString('base64url'),
        periods: `${hourly}|${daily}|t`,
        caps: { hourly: caps?.hourly ?? -1, daily: caps?.daily ?? -1, total: caps?.total ?? -1 },
        nowMs: now,
        probeLockMs,
        hourTtlMs: CAP_COUNTER_TTL_FACTOR * HOUR_MS,
        dayTtlMs: CAP_COUNTER_TTL_FACTOR * DAY_MS,
        checkAtMs: now + HOLD_CHECK_MS,
      },
    );
    return kind === 'held' ? { kind, hold: hold as string } : { kind: kind as 'open' | 'full' | 'probing' };
  }

  /** The lead gives up its hold at a destination (marker gone, token fenced), and the slot goes back. */
  async giveUp(leadId: string, destination: string): Promise<void> {
    const hold = await this.scripts.run<string>(SCRIPTS.capUnmark, [this.keys.lead(leadId)], { destination });
    if (hold === '') return;
    await this.faults('unmarked');
    await this.settle(leadId, destination, hold, 'release');
  }

  /**
   * A hold this process reserved but whose decision went another way (or one the sweeper found
   * unsettled): asks the lead what it is, and gives it back or consumes it unless a try uses it.
   * Returns what the lead said.
   */
  async settleUnused(leadId: string, destination: string, hold: string, sweep = false): Promise<'held' | 'sold' | 'release'> {
    const verdict = await this.scripts.run<'held' | 'sold' | 'release'>(SCRIPTS.capCheck, [this.keys.lead(leadId)], { destination, hold, sweep });
    if (verdict === 'held') await this.settle(leadId, destination, hold, 'recheck');
    else await this.settle(leadId, destination, hold, verdict === 'sold' ? 'consume' : 'release');
    return verdict;
  }

  /**
   * Settles the holds left unsettled past their check time (housekeeping), at `destinations` and at
   * any a reload removed (every destination that ever had a queue); returns how many were given back.
   */
  async sweep(destinations: readonly string[], limit: number): Promise<number> {
    let released = 0;
    const all = new Set([...destinations, ...(await this.redis.smembers(this.keys.destinationQueues()))]);
    for (const destination of all) {
      const leads = await this.redis.zrangebyscore(this.keys.capUnconfirmed(destination), '-inf', this.now(), 'LIMIT', 0, limit);
      if (leads.length === 0) continue;
      const holds = await this.redis.hmget(this.keys.capHolds(destination), ...leads);
      for (const [i, leadId] of leads.entries()) {
        const hold = holds[i];
        // Settled in the meantime: nothing to do.
        if (!hold) continue;
        if ((await this.settleUnused(leadId, destination, hold, true)) === 'release') released += 1;
      }
    }
    return released;
  }

  private async settle(leadId: string, destination: string, hold: string, action: 'release' | 'consume' | 'recheck'): Promise<void> {
    await this.scripts.run<number>(SCRIPTS.capSettle, [this.keys.capHolds(destination), this.keys.capUnconfirmed(destination), ...holdCounterKeys(this.keys, destination, hold)], {
      leadId,
      hold,
      action,
      checkAtMs: this.now() + HOLD_CHECK_MS,
    });
  }
}
