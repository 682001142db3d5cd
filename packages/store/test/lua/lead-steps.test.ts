import { afterAll, describe, expect, test } from '@jest/globals';
import type { Lead } from '@leadrouter/lead';
import { digestBucket, leadBucket, redisKeys, stepField, withBucket } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { DestinationEffects, DestinationState, HOLD_CHECK_MS, LeadCompaction, LeadLifecycle, LeadStore, type AttemptRecord } from '../../src/index.js';

/**
 * Each Lua step of the lead's lifecycle on its own, against the real test Redis: reserve-lead,
 * plan, advance, record-attempt, mark-unsold, cap-release and requeue. The clock is fixed.
 */
const NOW = Date.parse('2026-11-30T12:00:00Z');
const redis = testRedisClient();
afterAll(() => redis.disconnect());

function setUp() {
  const keys = redisKeys(uniquePrefix());
  return { keys, store: new LeadStore(redis, keys, 86_400_000), lifecycle: new LeadLifecycle(redis, keys, () => NOW), destinations: new DestinationState(redis, keys, () => NOW) };
}

let n = 0;
function lead(overrides: Partial<Lead> = {}): Lead {
  n += 1;
  return {
    id: `01JD3W6Z8Q4X5Y6Z7A8B9C${String(1000 + n)}`,
    supplier: 'acme',
    createdAt: NOW,
    quality: 0.8,
    name: 'Jane Roe',
    phone: '+14155550100',
    phoneNational: '(415) 555-0100',
    geo: 'US',
    source: 'Facebook',
    fields: {},
    ...overrides,
  };
}

const PERIODS = { hourly: '2026-11-30T12', daily: '2026-11-30' };

async function stored(store: LeadStore, l: Lead): Promise<void> {
  expect(await store.reserve({ lead: l, dedupeKey: undefined, idempotencyKey: undefined, dedupeWindowMs: 0 })).toEqual({ kind: 'accepted' });
}

/** The lead chooses `destination` and holds a cap slot there, as before any try of it (a sale needs the hold). */
async function holdAt(lifecycle: LeadLifecycle, l: Lead, destination: string, step = `pick-${destination}`): Promise<void> {
  expect(await lifecycle.advance(l.id, step, [{ index: 0, destination, caps: undefined, periods: PERIODS }], 1000)).toBe('d:0');
}

function attempt(l: Lead, overrides: Partial<AttemptRecord>): AttemptRecord {
  return {
    leadId: l.id,
    destination: 'a',
    event: { at: new Date(NOW).toISOString(), type: 'attempt' },
    circuit: 'success',
    action: 'next',
    circuitThreshold: 2,
    circuitCooldownMs: 30_000,
    payout: 10,
    route: 'r',
    step: '0.0',
    outcome: 'rejected',
    day: PERIODS.daily,
    geo: 'US',
    learningKeep: 0.99,
    priceKeep: 0.9,
    ...overrides,
  };
}

describe('reserve-lead', () => {
  test('stores record, data, first event and outbox entry together; a second lead with the same dedupe key is a duplicate; an idempotency key replays', async () => {
    const { keys, store } = setUp();
    // A deduped lead's id carries its dedupe digest's bucket (as the intake makes it): one slot.
    const deduped = (): Lead => {
      const l = lead();
      return { ...l, id: withBucket(l.id, digestBucket('d1')) };
    };
    const first = deduped();
    expect(await store.reserve({ lead: first, dedupeKey: keys.dedupe('acme', 'd1'), idempotencyKey: keys.idempotency('acme', 'i1'), dedupeWindowMs: 60_000 })).toEqual({ kind: 'accepted' });
    expect(await redis.hgetall(keys.lead(first.id))).toMatchObject({ status: 'queued', supplier: 'acme', quality: '0.8', createdAt: String(NOW), geo: 'US', source: 'Facebook' });
    expect(await redis.zscore(keys.pending(leadBucket(first.id)), first.id)).toBe(String(NOW));
    expect(await redis.llen(keys.leadEvents(first.id))).toBe(1);
    expect(await redis.pttl(keys.lead(first.id))).toBeGreaterThan(86_000_000);
    const again = deduped();
    expect(await store.reserve({ lead: again, dedupeKey: keys.dedupe('acme', 'd1'), idempotencyKey: undefined, dedupeWindowMs: 60_000 })).toEqual({ kind: 'duplicate', duplicateOf: first.id });
    expect(await redis.exists(keys.lead(again.id))).toBe(0);
    expect(await store.reserve({ lead: lead(), dedupeKey: undefined, idempotencyKey: keys.idempotency('acme', 'i1'), dedupeWindowMs: 0 })).toEqual({
      kind: 'replay',
      answer: { code: 202, body: { status: 'accepted', id: first.id } },
    });
    // A duplicate that came with a key leaves the duplicate answer under it, replayed whole.
    expect(await store.reserve({ lead: deduped(), dedupeKey: keys.dedupe('acme', 'd1'), idempotencyKey: keys.idempotency('acme', 'i2'), dedupeWindowMs: 60_000 })).toEqual({ kind: 'duplicate', duplicateOf: first.id });
    expect(await store.reserve({ lead: lead(), dedupeKey: undefined, idempotencyKey: keys.idempotency('acme', 'i2'), dedupeWindowMs: 0 })).toEqual({
      kind: 'replay',
      answer: { code: 409, body: { status: 'rejected', reason: 'duplicate', duplicateOf: first.id } },
    });
  });
});

describe('idempotency claims (the key in a slot of its own)', () => {
  const past = (id: string): string => `c|${id}|1`;

  test("a claim left by a request that stalled past its lease is taken over only after that request's lead id is fenced: its late store is refused", async () => {
    const { keys, store } = setUp();
    const key = keys.idempotency('acme', 'stale');
    const stalled = lead();
    await redis.set(key, past(stalled.id));
    const retry = lead();
    expect(await store.reserve({ lead: retry, dedupeKey: undefined, idempotencyKey: key, dedupeWindowMs: 0 })).toEqual({ kind: 'accepted' });
    expect(JSON.parse((await redis.get(key)) as string)).toEqual({ code: 202, body: { status: 'accepted', id: retry.id } });
    expect(await redis.hget(keys.lead(stalled.id), 'fenced')).toBe('1');
    // The stalled request's store, coming late, finds its id fenced: no second lead for the key.
    await expect(store.reserve({ lead: stalled, dedupeKey: undefined, idempotencyKey: undefined, dedupeWindowMs: 0 })).rejects.toThrow('exists already');
    expect(await redis.hexists(keys.lead(stalled.id), 'status')).toBe(0);
  });

  test("a stale claim whose lead was stored after all is that lead's: the retry gets its 202", async () => {
    const { keys, store } = setUp();
    const key = keys.idempotency('acme', 'stored');
    const first = lead();
    await stored(store, first);
    await redis.set(key, past(first.id));
    expect(await store.reserve({ lead: lead(), dedupeKey: undefined, idempotencyKey: key, dedupeWindowMs: 0 })).toEqual({ kind: 'replay', answer: { code: 202, body: { status: 'accepted', id: first.id } } });
  });

  test('each step run twice (a client resends a command whose reply a dropped connection lost) answers as the first run did', async () => {
    const { keys, store } = setUp();
    const key = keys.idempotency('acme', 'resent');
    const l = lead();
    // The claim ran once already (it holds this request's own claim): claimed, not busy.
    await redis.set(key, `c|${l.id}|${Date.now() + 60_000}`);
    expect(await store.reserve({ lead: l, dedupeKey: undefined, idempotencyKey: key, dedupeWindowMs: 0 })).toEqual({ kind: 'accepted' });
    // The store and the answer ran once already: the lead is stored and the key answers it.
    expect(await store.reserve({ lead: l, dedupeKey: undefined, idempotencyKey: undefined, dedupeWindowMs: 0 })).toEqual({ kind: 'accepted' });
    await redis.set(key, `c|${l.id}|${Date.now() + 60_000}`);
    expect(await store.reserve({ lead: l, dedupeKey: undefined, idempotencyKey: key, dedupeWindowMs: 0 })).toEqual({ kind: 'accepted' });
    // All of it ran once already (the key holds this request's own answer): accepted, so the caller
    // still queues its lead, rather than a replay of somebody else's.
    expect(await store.reserve({ lead: l, dedupeKey: undefined, idempotencyKey: key, dedupeWindowMs: 0 })).toEqual({ kind: 'accepted' });
    expect(await redis.llen(keys.leadEvents(l.id))).toBe(1);
  });

  test('a request whose key another request is storing right now waits for that answer and gets it', async () => {
    const { keys, store } = setUp();
    const key = keys.idempotency('acme', 'busy');
    await redis.set(key, `c|${lead().id}|${Date.now() + 60_000}`);
    const waiting = store.reserve({ lead: lead(), dedupeKey: undefined, idempotencyKey: key, dedupeWindowMs: 0 });
    await new Promise((r) => setTimeout(r, 100));
    const answer = { code: 409, body: { status: 'rejected', reason: 'duplicate', duplicateOf: 'X' } };
    await redis.set(key, JSON.stringify(answer));
    expect(await waiting).toEqual({ kind: 'replay', answer });
  });
});

describe('owed destination effects', () => {
  test("a try recorded by a process that died before the destination's half: housekeeping's replay applies it once", async () => {
    const { keys, store, destinations } = setUp();
    let crash = true;
    const lifecycle = new LeadLifecycle(redis, keys, () => NOW, (point) => {
      if (crash && point === 'recorded') throw new Error('killed between the halves');
    });
    const l = lead();
    await stored(store, l);
    await holdAt(lifecycle, l, 'a');
    await expect(lifecycle.recordAttempt(attempt(l, {}))).rejects.toThrow('killed between the halves');
    // The lead's half is in: the step moved on. The destination's is owed: no count, the slot still taken.
    expect(await redis.hget(keys.lead(l.id), stepField('0.0'))).toBe('next');
    expect((await destinations.status('a', PERIODS)).today).toEqual({ sold: 0, rejected: 0 });
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(1);
    crash = false;
    const effects = new DestinationEffects(redis, keys, () => NOW);
    expect(await effects.replayOwed(0, 100)).toBe(1);
    expect((await destinations.status('a', PERIODS)).today).toEqual({ sold: 0, rejected: 1 });
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(0);
    expect(await redis.zcard(keys.owedEffects(leadBucket(l.id)))).toBe(0);
    // The same entry applied again (a replay racing the caller's own apply): nothing counts twice.
    const entry = JSON.stringify({ id: `${l.id}:3`, lead: l.id, destination: 'a', day: { field: 'rejected', day: PERIODS.daily, ttlMs: 60_000 } });
    await effects.apply(entry);
    await effects.apply(entry);
    expect((await destinations.status('a', PERIODS)).today).toEqual({ sold: 0, rejected: 2 });
  });

  test("a try whose caller lives applies its destination's half at once and leaves nothing owed; an entry that is not an effect is dropped from its bucket", async () => {
    const { keys, store, lifecycle, destinations } = setUp();
    const l = lead();
    await stored(store, l);
    await holdAt(lifecycle, l, 'a');
    await lifecycle.recordAttempt(attempt(l, {}));
    expect((await destinations.status('a', PERIODS)).today).toEqual({ sold: 0, rejected: 1 });
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(0);
    expect(await redis.zcard(keys.owedEffects(leadBucket(l.id)))).toBe(0);
    await redis.zadd(keys.owedEffects(3), 0, 'not json');
    expect(await new DestinationEffects(redis, keys, () => NOW).replayOwed(0, 100)).toBe(1);
    expect(await redis.zcard(keys.owedEffects(3))).toBe(0);
  });
});

describe('plan', () => {
  test('the first plan wins; a second call gets it back and records no second routed event', async () => {
    const { keys, store, lifecycle } = setUp();
    const l = lead();
    await stored(store, l);
    const first = await lifecycle.setPlan(l.id, { route: 'r', candidates: ['a', 'b'], round: 0 }, { at: '', type: 'routed' });
    const second = await lifecycle.setPlan(l.id, { route: 'r', candidates: ['b', 'a'], round: 0 }, { at: '', type: 'routed' });
    expect(first).toEqual({ plan: { route: 'r', candidates: ['a', 'b'], round: 0 }, created: true });
    expect(second).toEqual({ plan: { route: 'r', candidates: ['a', 'b'], round: 0 }, created: false });
    expect((await redis.lrange(keys.leadEvents(l.id), 0, -1)).filter((e) => e.includes('routed'))).toHaveLength(1);
  });
});

describe('advance', () => {
  const candidates = [
    { index: 0, destination: 'a', caps: { daily: 1 }, periods: PERIODS },
    { index: 1, destination: 'b', caps: undefined, periods: PERIODS },
  ];

  test('reserves a cap slot at the first candidate with room and records the decision; a re-run returns it and reserves nothing', async () => {
    const { keys, lifecycle, destinations } = setUp();
    expect(await lifecycle.advance('l1', 'start', candidates, 1000)).toBe('d:0');
    expect(await lifecycle.advance('l1', 'start', candidates, 1000)).toBe('d:0');
    // Counted in every period, capped or not (a cap an operator sets later counts it).
    expect(await destinations.capUsed('a', PERIODS)).toEqual({ hourly: 1, daily: 1, total: 1 });
    expect(await redis.hget(keys.lead('l1'), stepField('start'))).toBe('d:0');
    expect(await redis.pttl(keys.cap('a', `d:${PERIODS.daily}`))).toBeGreaterThan(86_400_000);
    // The cap is full: the next lead goes to b, which has no cap (and counts it all the same).
    expect(await lifecycle.advance('l2', 'start', candidates, 1000)).toBe('d:1');
    expect(await destinations.capUsed('b', PERIODS)).toEqual({ hourly: 1, daily: 1, total: 1 });
  });

  test('skips an open circuit and lets one lead at a time probe a half-open one; nothing left is unsold', async () => {
    const { keys, lifecycle } = setUp();
    await redis.hset(keys.circuit('a'), 'openUntil', NOW + 10_000);
    expect(await lifecycle.advance('l1', 'start', candidates.slice(0, 1), 1000)).toBe('unsold');
    await redis.hset(keys.circuit('a'), 'openUntil', NOW - 1);
    expect(await lifecycle.advance('l2', 'start', candidates.slice(0, 1), 1000)).toBe('d:0');
    expect(await lifecycle.advance('l3', 'start', [{ ...candidates[0]!, caps: undefined }], 1000)).toBe('unsold');
  });

  test("a step marked 'next' still makes its choice", async () => {
    const { keys, lifecycle } = setUp();
    await redis.hset(keys.lead('l1'), stepField('0.0'), 'next');
    expect(await lifecycle.advance('l1', '0.0', candidates.slice(1), 1000)).toBe('d:1');
  });
});

describe('record-attempt and cap-release', () => {
  test("'next' marks the step, gives the cap slot back once, and counts the rejection of the day", async () => {
    const { keys, store, lifecycle, destinations } = setUp();
    const l = lead();
    await stored(store, l);
    expect(await lifecycle.advance(l.id, 'start', [{ index: 0, destination: 'a', caps: { total: 5 }, periods: PERIODS }], 1000)).toBe('d:0');
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(1);
    expect(await lifecycle.recordAttempt(attempt(l, {}))).toEqual({ circuit: undefined, result: 'released' });
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(0);
    expect(await redis.hget(keys.lead(l.id), stepField('0.0'))).toBe('next');
    await lifecycle.releaseCap(l.id, 'a');
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(0);
    expect((await destinations.status('a', PERIODS)).today).toEqual({ sold: 0, rejected: 1 });
  });

  test("a cap slot is a hold in the destination's slot, named by a token and its periods, and the lead's marker names the same hold (a short value: the lead hash stays a listpack); given back in every period, with its token fenced", async () => {
    const { keys, store, lifecycle, destinations } = setUp();
    const l = lead();
    await stored(store, l);
    expect(await lifecycle.advance(l.id, 'start', [{ index: 0, destination: 'a', caps: { total: 5 }, periods: PERIODS }], 1000)).toBe('d:0');
    const marker = await redis.hget(keys.lead(l.id), 'cap:a');
    expect(marker).toMatch(new RegExp(`^[A-Za-z0-9_-]{8}\\|h:${PERIODS.hourly}\\|d:${PERIODS.daily}\\|t$`));
    expect(await redis.hgetall(keys.capHolds('a'))).toEqual({ [l.id]: marker });
    expect(await redis.zscore(keys.capUnconfirmed('a'), l.id)).toBe(String(NOW + HOLD_CHECK_MS));
    // A hash over hash-max-listpack-value (64 bytes a value) would be a hashtable, at twice the memory.
    expect(await redis.object('ENCODING', keys.lead(l.id))).toBe('listpack');
    expect(await destinations.capUsed('a', PERIODS)).toEqual({ hourly: 1, daily: 1, total: 1 });
    await lifecycle.releaseCap(l.id, 'a');
    expect(await destinations.capUsed('a', PERIODS)).toEqual({ hourly: 0, daily: 0, total: 0 });
    expect(await redis.hexists(keys.lead(l.id), 'cap:a')).toBe(0);
    expect(await redis.hlen(keys.capHolds('a'))).toBe(0);
    expect(await redis.zcard(keys.capUnconfirmed('a'))).toBe(0);
    expect(await redis.hget(keys.lead(l.id), `fence:${(marker as string).split('|')[0]}`)).toBe('1');
    // Given back twice (a re-run): nothing more goes down.
    await redis.incr(keys.cap('a', 't'));
    await lifecycle.releaseCap(l.id, 'a');
    expect((await destinations.capUsed('a', PERIODS)).total).toBe(1);
  });

  test("'sold' sells a queued lead once, publishes it, and a second sale is refused with the status in force", async () => {
    const { keys, store, lifecycle, destinations } = setUp();
    const l = lead();
    await stored(store, l);
    const subscriber = testRedisClient();
    const messages: string[] = [];
    await subscriber.subscribe(keys.finalChannel());
    subscriber.on('message', (_c, m: string) => messages.push(m));
    try {
      // No hold at a: no sale (the slot went back when another run of the try moved on).
      expect(await lifecycle.recordAttempt(attempt(l, { action: 'sold', outcome: 'accepted', payout: 12.5 }))).toEqual({ circuit: undefined, result: 'closed' });
      expect(await redis.hget(keys.lead(l.id), 'status')).toBe('queued');
      await holdAt(lifecycle, l, 'a');
      expect(await lifecycle.recordAttempt(attempt(l, { action: 'sold', outcome: 'accepted', payout: 12.5 }))).toEqual({ circuit: undefined, result: 'ok' });
      // The sale consumed the hold: the slot stays counted, and no hold is left to give back.
      expect(await redis.hlen(keys.capHolds('a'))).toBe(0);
      expect((await destinations.capUsed('a', PERIODS)).total).toBe(1);
      expect(await lifecycle.recordAttempt(attempt(l, { destination: 'b', action: 'sold', outcome: 'accepted' }))).toEqual({ circuit: undefined, result: 'delivered' });
      expect(await redis.hgetall(keys.lead(l.id))).toMatchObject({ status: 'delivered', destination: 'a', payout: '12.5', route: 'r', soldAt: String(NOW) });
      expect((await destinations.status('a', PERIODS)).today).toEqual({ sold: 1, rejected: 0 });
      await new Promise((r) => setTimeout(r, 50));
      expect(messages.map((m) => JSON.parse(m) as unknown)).toEqual([{ id: l.id, status: 'delivered', payout: 12.5, destination: 'a' }]);
    } finally {
      subscriber.disconnect();
    }
  });

  test("'retry' records the retry for the step once; the circuit opens at the threshold and closes on an answer; 'untouched' changes neither", async () => {
    const { keys, store, lifecycle, destinations } = setUp();
    const l = lead();
    await stored(store, l);
    expect(await lifecycle.recordAttempt(attempt(l, { action: 'retry', outcome: 'error', circuit: 'failure' }))).toEqual({ circuit: undefined, result: 'retry' });
    expect(await lifecycle.recordAttempt(attempt(l, { action: 'retry', outcome: 'error', circuit: 'untouched' }))).toEqual({ circuit: undefined, result: 'retry' });
    expect(await redis.hget(keys.circuit('a'), 'failures')).toBe('1');
    expect(await lifecycle.recordAttempt(attempt(l, { step: '0.1', action: 'retry', outcome: 'error', circuit: 'failure' }))).toEqual({ circuit: 'opened', result: 'retry' });
    expect(await destinations.circuitIsOpen('a')).toBe(true);
    expect(await lifecycle.recordAttempt(attempt(l, { step: '0.2', outcome: 'rejected', circuit: 'success' }))).toEqual({ circuit: 'closed', result: 'released' });
    expect(await destinations.circuitIsOpen('a')).toBe(false);
  });
});

describe('shared leads (contract §9): lanes over one plan', () => {
  const three = ['a', 'b', 'c'].map((destination, index) => ({ index, destination, caps: undefined, periods: PERIODS }));
  const sharedLead = async (setup: ReturnType<typeof setUp>, lanes: number): Promise<Lead> => {
    const l = lead();
    await stored(setup.store, l);
    await setup.lifecycle.setPlan(l.id, { route: 'r', candidates: ['a', 'b', 'c'], round: 0, lanes }, { at: '', type: 'auction' });
    return l;
  };

  test('each lane takes a candidate no lane took; a lane with none left ends while others run; the last, with no sale, makes the lead unsold', async () => {
    const setup = setUp();
    const l = await sharedLead(setup, 2);
    expect(await redis.hget(setup.keys.lead(l.id), 'lanes')).toBe('2');
    expect(await setup.lifecycle.advance(l.id, 'start', three, 1000, true)).toBe('d:0');
    expect(await setup.lifecycle.advance(l.id, 'start.1', three, 1000, true)).toBe('d:1');
    // Lane 0's try at a is refused: it moves on to c, the one no lane has.
    expect(await setup.lifecycle.recordAttempt(attempt(l, { destination: 'a', step: '0.0', shared: true }))).toMatchObject({ result: 'released' });
    expect(await setup.lifecycle.advance(l.id, '0.0', three, 1000, true)).toBe('d:2');
    // c and b refuse too: the first lane to find nothing left ends, the last makes the lead unsold.
    await setup.lifecycle.recordAttempt(attempt(l, { destination: 'c', step: '2.0', shared: true }));
    expect(await setup.lifecycle.advance(l.id, '2.0', three, 1000, true)).toBe('ended');
    await setup.lifecycle.recordAttempt(attempt(l, { destination: 'b', step: '1.0', shared: true }));
    expect(await setup.lifecycle.advance(l.id, '1.0', three, 1000, true)).toBe('unsold');
    // A re-run of a step gets its decision back and counts no lane down twice.
    expect(await setup.lifecycle.advance(l.id, '2.0', three, 1000, true)).toBe('ended');
    expect(await redis.hget(setup.keys.lead(l.id), 'lanes')).toBe('0');
  });

  test('a sale per buyer: the lead delivered at the first, published once; a second sale to the same buyer refused; each sale ends its lane', async () => {
    const setup = setUp();
    const l = await sharedLead(setup, 2);
    const events: string[] = [];
    const sub = redis.duplicate();
    await sub.subscribe(setup.keys.finalChannel());
    sub.on('message', (_channel, message: string) => events.push(message));
    await setup.lifecycle.advance(l.id, 'start', three, 1000, true);
    await setup.lifecycle.advance(l.id, 'start.1', three, 1000, true);
    const sale = (destination: string, step: string, payout: number) => attempt(l, { destination, step, payout, action: 'sold', outcome: 'accepted', shared: true });
    expect(await setup.lifecycle.recordAttempt(sale('a', '0.0', 10))).toMatchObject({ result: 'ok' });
    expect(await setup.lifecycle.recordAttempt(sale('a', '0.0', 10))).toMatchObject({ result: 'delivered' });
    expect(await setup.lifecycle.recordAttempt(sale('b', '1.0', 6))).toMatchObject({ result: 'ok' });
    const hash = await redis.hgetall(setup.keys.lead(l.id));
    expect(hash).toMatchObject({ status: 'delivered', lanes: '0', 'sale:a': 'delivered|10', 'sale:b': 'delivered|6' });
    expect(hash.destination).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    sub.disconnect();
    expect(events).toHaveLength(1);
  });

  test("a try run twice at once: a sale after its other run moved the lane on is refused ('closed'), and a no after its other run sold keeps the sale's slot ('sold')", async () => {
    const setup = setUp();
    const l = await sharedLead(setup, 2);
    await setup.lifecycle.advance(l.id, 'start', three, 1000, true);
    await setup.lifecycle.advance(l.id, 'start.1', three, 1000, true);
    // a: the no lands first, then the yes of the same try.
    expect(await setup.lifecycle.recordAttempt(attempt(l, { destination: 'a', step: '0.0', shared: true }))).toMatchObject({ result: 'released' });
    expect(await setup.lifecycle.recordAttempt(attempt(l, { destination: 'a', step: '0.0', action: 'sold', outcome: 'accepted', shared: true }))).toMatchObject({ result: 'closed' });
    expect(await redis.hexists(setup.keys.lead(l.id), 'sale:a')).toBe(0);
    // b: the yes lands first, then the no of the same try; b's slot stays the sale's.
    expect(await setup.lifecycle.recordAttempt(attempt(l, { destination: 'b', step: '1.0', action: 'sold', outcome: 'accepted', shared: true }))).toMatchObject({ result: 'ok' });
    expect(await setup.lifecycle.recordAttempt(attempt(l, { destination: 'b', step: '1.0', shared: true }))).toMatchObject({ result: 'sold' });
    expect((await setup.destinations.capUsed('b', PERIODS)).total).toBe(1);
    expect(await redis.hget(setup.keys.lead(l.id), 'lanes')).toBe('1');
  });

  test('compaction waits while a shared lead still delivers, keeping it scheduled, and compacts it once its lanes ended', async () => {
    const setup = setUp();
    let now = NOW;
    const compaction = new LeadCompaction(redis, setup.keys, 0, () => now);
    const l = await sharedLead(setup, 2);
    await setup.lifecycle.advance(l.id, 'start', three, 1000, true);
    await setup.lifecycle.advance(l.id, 'start.1', three, 1000, true);
    await setup.lifecycle.recordAttempt(attempt(l, { destination: 'a', step: '0.0', action: 'sold', outcome: 'accepted', shared: true }));
    const seq = Number(await redis.hget(setup.keys.lead(l.id), 'seq'));
    await compaction.schedule([{ leadId: l.id, seq, status: 'delivered' }]);
    expect(await redis.exists(setup.keys.leadData(l.id))).toBe(1);
    const due = await redis.zscore(setup.keys.compactionDue(leadBucket(l.id)), `${l.id}:${seq}:delivered`);
    expect(Number(due)).toBeGreaterThan(NOW);
    // Its last lane ends with no change the ledger hears of (b was paused while its try waited:
    // the slot goes back, and c is out of its schedule); the schedule still has the lead.
    await setup.lifecycle.releaseCap(l.id, 'b');
    expect(await setup.lifecycle.advance(l.id, '1.0', [], 1000, true)).toBe('ended');
    expect(Number(await redis.hget(setup.keys.lead(l.id), 'seq'))).toBe(seq);
    now = Number(due) + 1;
    expect(await compaction.compactDue()).toBe(1);
    expect(await redis.exists(setup.keys.leadData(l.id))).toBe(0);
    expect(await redis.hget(setup.keys.lead(l.id), 'sale:a')).toBe('delivered|10');
    expect(await redis.zcard(setup.keys.compactionDue(leadBucket(l.id)))).toBe(0);
  });
});

describe('mark-unsold and requeue', () => {
  test('an unsold lead is indexed and published; a redelivery clears its plan and decisions, bumps the round and puts it back in the outbox; a sold lead cannot be requeued', async () => {
    const { keys, store, lifecycle } = setUp();
    const l = lead();
    await stored(store, l);
    await redis.zrem(keys.pending(leadBucket(l.id)), l.id);
    await lifecycle.setPlan(l.id, { route: 'r', candidates: ['a'], round: 0 }, { at: '', type: 'routed' });
    await lifecycle.advance(l.id, 'start', [], 1000);
    expect(await lifecycle.markUnsold(l, 'all_rejected', 'r', { at: '', type: 'unsold' })).toBe('ok');
    expect(await lifecycle.markUnsold(l, 'all_rejected', 'r', { at: '', type: 'unsold' })).toBe('unsold');
    expect(await redis.zscore(keys.unsold(leadBucket(l.id)), l.id)).toBe(String(NOW));
    expect(await lifecycle.requeue(l.id, { at: '', type: 'requeued' })).toEqual({ round: 1 });
    const hash = await redis.hgetall(keys.lead(l.id));
    expect(hash).toMatchObject({ status: 'queued', round: '1' });
    expect(Object.keys(hash).filter((f) => f === 'plan' || f.startsWith('next:'))).toEqual([]);
    // Emptied, not deleted, so that a compacted lead's partial state tells the ledger they were cleared.
    expect([hash.reason, hash.route]).toEqual(['', '']);
    expect(await redis.zscore(keys.unsold(leadBucket(l.id)), l.id)).toBeNull();
    expect(await redis.zscore(keys.pending(leadBucket(l.id)), l.id)).toBe(String(NOW));
    const sold = lead();
    await stored(store, sold);
    await holdAt(lifecycle, sold, 'a');
    await lifecycle.recordAttempt(attempt(sold, { action: 'sold', outcome: 'accepted' }));
    expect(await lifecycle.requeue(sold.id, { at: '', type: 'requeued' })).toEqual({ status: 'delivered' });
    expect(await lifecycle.requeue('nope', { at: '', type: 'requeued' })).toEqual({ status: 'missing' });
  });
});

describe('event positions (includes/events.lua)', () => {
  test("the count catches up with a history an older LeadRouter pushed to without counting (a rolling deploy), and an expired lead is not made again", async () => {
    const { keys, store, lifecycle } = setUp();
    const l = lead();
    await stored(store, l);
    expect(await redis.hget(keys.lead(l.id), 'seq')).toBe('1');
    // An older worker's step: it numbers by the list's length (2) and leaves `seq` alone.
    await redis.rpush(keys.leadEvents(l.id), JSON.stringify({ at: new Date(NOW).toISOString(), type: 'routed' }));
    await lifecycle.appendEvent(l.id, { at: new Date(NOW).toISOString(), type: 'notified' });
    expect(await redis.hget(keys.lead(l.id), 'seq')).toBe('3');
    expect(await redis.llen(keys.leadEvents(l.id))).toBe(3);
    // A notification's try that outlasted the lead: nothing is written, and no key is left without a TTL.
    const gone = lead();
    await lifecycle.appendEvent(gone.id, { at: new Date(NOW).toISOString(), type: 'notified' });
    expect(await redis.exists(keys.lead(gone.id), keys.leadEvents(gone.id))).toBe(0);
  });
});
