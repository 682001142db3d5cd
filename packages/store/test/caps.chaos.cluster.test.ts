import { afterAll, describe, expect, test } from '@jest/globals';
import type { Lead } from '@leadrouter/lead';
import { allBuckets, leadBucket, redisKeys, withBucket } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { CapHolds, HoldFencedError, DestinationEffects, DestinationState, HOLD_CHECK_MS, LeadLifecycle, LeadStore, type AdvanceCandidate, type AttemptRecord, type SplitPoint } from '../src/index.js';

/**
 * The steps split at slot boundaries (contract §12) on the suite's Redis Cluster, crashed between
 * their halves many times while the cap sweeper runs against every hold at once: a cap is never
 * exceeded, no lead is sold twice, and once the sweepers have run, no cap slot is left taken that
 * no sale holds. Removing the fence (decide-1.lua refusing a fenced hold) makes it fail: a lead
 * whose hold the sweeper gave back during its chooser's stall would still take it.
 */
class InjectedCrash extends Error {}

const LEADS = 600;
const CAP = 50;
const PERIODS = { hourly: '2026-12-01T17', daily: '2026-12-01' };
const A: AdvanceCandidate = { index: 0, destination: 'a', caps: { total: CAP }, periods: PERIODS };
const B: AdvanceCandidate = { index: 1, destination: 'b', caps: undefined, periods: PERIODS };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('split steps crashed between their halves', () => {
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  test(`${LEADS} leads, every job run twice at once, crashes and stalls between the halves, the cap sweeper racing them: the cap of ${CAP} holds, none sold twice, no slot left taken`, async () => {
    const keys = redisKeys(uniquePrefix());
    let crashes = 0;
    let stalls = 0;
    const faults = async (point: SplitPoint): Promise<void> => {
      const roll = Math.random();
      if (roll < 0.12) {
        crashes += 1;
        throw new InjectedCrash(point);
      }
      if (roll < 0.3) {
        stalls += 1;
        await sleep(25);
      }
    };
    const lifecycle = new LeadLifecycle(redis, keys, Date.now, faults);
    const store = new LeadStore(redis, keys, 3_600_000);
    // The sweeper's clock runs ahead: every hold is due at once, so it races each chooser's stall.
    const sweeper = new CapHolds(redis, keys, () => Date.now() + HOLD_CHECK_MS + 1);

    const ids: string[] = [];
    for (let i = 0; i < LEADS; i++) {
      // Spread over every lead bucket (so over every master), the counter after the bucket's character.
      const id = withBucket(`01JDCHAOSX0${String(i).padStart(4, '0')}${'X'.repeat(11)}`, i);
      const lead: Lead = { id, supplier: 's', createdAt: Date.now(), quality: 0.8, name: 'N', phone: '+14155550100', phoneNational: '(415) 555-0100', geo: 'US', source: 'web', fields: {} };
      await store.reserve({ lead, dedupeKey: undefined, idempotencyKey: undefined, dedupeWindowMs: 0 });
      ids.push(id);
    }
    const attempt = (leadId: string, destination: string, step: string, sold: boolean): AttemptRecord => ({
      leadId,
      destination,
      event: { at: new Date().toISOString(), type: 'attempt' },
      circuit: 'success',
      action: sold ? 'sold' : 'next',
      circuitThreshold: 1000,
      circuitCooldownMs: 1000,
      payout: 5,
      route: 'r',
      step,
      outcome: sold ? 'accepted' : 'rejected',
      day: PERIODS.daily,
      geo: 'US',
      learningKeep: 1,
      priceKeep: 0.9,
    });
    /** One run of a lead's jobs, as a worker makes them; a crash ends the run, which BullMQ would run again. */
    const run = async (id: string): Promise<void> => {
      const first = await lifecycle.advance(id, 'start', [A, B], 1000);
      if (first === 'd:0') {
        // Each run's post gets its own answer, as two posts of one try may. A yes that finds the
        // try moved on ('closed': the other run's no gave the slot back) follows the chain on.
        if (Math.random() < 0.5) {
          const { result } = await lifecycle.recordAttempt(attempt(id, 'a', '0.0', true));
          if (result !== 'closed') return;
        } else {
          await lifecycle.recordAttempt(attempt(id, 'a', '0.0', false));
        }
        if ((await lifecycle.advance(id, '0.0', [B], 1000)) === 'd:1') await lifecycle.recordAttempt(attempt(id, 'b', '1.0', true));
        return;
      }
      if (first === 'd:1') await lifecycle.recordAttempt(attempt(id, 'b', '1.0', true));
    };
    const untilDone = async (id: string): Promise<void> => {
      for (let tries = 0; ; tries++) {
        try {
          await run(id);
          return;
        } catch (err) {
          // A crash, or a choice the racing sweeper fenced again and again: the job runs again.
          if (!(err instanceof InjectedCrash || err instanceof HoldFencedError) || tries > 50) throw err;
        }
      }
    };

    let racing = true;
    const sweeping = (async () => {
      while (racing) {
        await sweeper.sweep(['a', 'b'], 100);
        await sleep(5);
      }
    })();
    try {
      for (let i = 0; i < ids.length; i += 30) await Promise.all(ids.slice(i, i + 30).flatMap((id) => [untilDone(id), untilDone(id)]));
    } finally {
      racing = false;
      await sweeping;
    }
    // What the crashes left: owed effects replayed, then every hold not taken by a sale given back.
    await new DestinationEffects(redis, keys).replayOwed(0, 10_000);
    const late = new CapHolds(redis, keys, () => Date.now() + 10 * HOLD_CHECK_MS);
    await late.sweep(['a', 'b'], 10_000);

    expect(new Set(ids.map(leadBucket)).size).toBe(allBuckets().length);
    expect(crashes).toBeGreaterThan(100);
    expect(stalls).toBeGreaterThan(100);
    const hashes = await Promise.all(ids.map((id) => redis.hgetall(keys.lead(id))));
    const events = await Promise.all(ids.map((id) => redis.lrange(keys.leadEvents(id), 0, -1)));
    for (const [i, hash] of hashes.entries()) {
      expect(hash.status).toBe('delivered');
      // Sold once: one `delivered` event, to the buyer the lead names.
      const delivered = (events[i] ?? []).map((e) => JSON.parse(e) as { type: string }).filter((e) => e.type === 'delivered');
      expect(delivered).toHaveLength(1);
    }
    const soldAtA = hashes.filter((h) => h.destination === 'a').length;
    expect(soldAtA).toBeGreaterThan(0);
    expect(soldAtA).toBeLessThanOrEqual(CAP);
    // Once swept, the counter is exactly the sales: no slot is left taken that no sale holds.
    expect((await new DestinationState(redis, keys).capUsed('a', PERIODS)).total).toBe(soldAtA);
    expect(await redis.hlen(keys.capHolds('a'))).toBe(0);
    expect(await redis.zcard(keys.capUnconfirmed('a'))).toBe(0);
    for (const b of allBuckets()) expect(await redis.zcard(keys.owedEffects(b))).toBe(0);
  }, 120_000);
});
