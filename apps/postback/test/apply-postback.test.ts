import { afterAll, describe, expect, test } from '@jest/globals';
import { parseConfigText } from '@leadrouter/config';
import { createMetrics } from '@leadrouter/metrics';
import { Notifier } from '@leadrouter/notify';
import { redisKeys } from '@leadrouter/redis';
import { NotificationOutbox, PostbackState } from '@leadrouter/store';
import { captureLogger, testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { applyPostback, SALE_GRACE_MS, type ApplyPostbackDeps, type PostbackInput } from '../src/apply-postback.js';

/**
 * The postback use-case without HTTP: real Redis, a fixed clock and an injected sleep, so waiting
 * for a sale not yet recorded is checked without waiting.
 */
const redis = testRedisClient();
afterAll(() => redis.disconnect());

const config = parseConfigText(
  `
suppliers: [{ id: acme, apiKeys: [k1] }]
destinations:
  - { id: buyer, url: "https://buyer.example/", payout: 10, postback: { token: tok } }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`,
  {},
);
const destination = config.destinations[0]!;
const LEAD = '01JD3W6Z8Q4X5Y6Z7A8B9C0D1E';

function setUp(onSleep: (slept: number) => Promise<void> = async () => undefined) {
  const keys = redisKeys(uniquePrefix());
  let clock = Date.parse('2026-11-30T12:00:00Z');
  const slept: number[] = [];
  const metrics = createMetrics();
  const notifier = new Notifier(redis, keys.prefix, config.suppliers);
  const deps: ApplyPostbackDeps = {
    config,
    state: new PostbackState(redis, keys, 60_000, 0.9),
    outbox: new NotificationOutbox(redis, keys),
    notifier,
    metrics,
    logger: captureLogger('apply-postback', 'warn').logger,
    now: () => new Date(clock),
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
      await onSleep(slept.length);
    },
  };
  const input = (params: Record<string, unknown>, token = 'tok'): PostbackInput => ({
    destination,
    params,
    token,
    signed: { id: undefined, timestamp: undefined, signature: undefined, rawBody: Buffer.alloc(0) },
    gone: () => false,
  });
  const counted = async (result: string): Promise<number> => {
    const metric = (await metrics.registry.getSingleMetricAsString('leadrouter_postbacks_total')).split('\n');
    return metric.filter((l) => l.includes(`result="${result}"`)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };
  return { keys, deps, input, slept, counted, close: () => notifier.close() };
}

describe('applyPostback', () => {
  test('a wrong token is 401 and counted unauthorized; nothing of the lead is read', async () => {
    const t = setUp();
    expect(await applyPostback(t.deps, t.input({ lead_id: LEAD, status: 'accepted' }, 'nope'))).toEqual({ code: 401, body: { ok: false, reason: 'unauthorized' } });
    expect(await t.counted('unauthorized')).toBe(1);
    await t.close();
  });

  test('a postback that arrives before the sale is recorded waits for it (polling, no real sleep) and is applied', async () => {
    const t = setUp(async (n) => {
      // The worker records the sale while the postback waits, on its third poll.
      if (n === 3) await redis.hset(t.keys.lead(LEAD), 'status', 'delivered', 'destination', 'buyer', 'payout', '10');
    });
    await redis.hset(t.keys.lead(LEAD), 'status', 'queued', 'supplier', 'acme', 'source', 'web', 'plan', JSON.stringify({ route: 'all', candidates: ['buyer'], round: 0 }));
    const answer = await applyPostback(t.deps, t.input({ lead_id: LEAD, status: 'accepted', payout: '12' }));
    expect(answer).toEqual({ code: 200, body: { ok: true, leadId: LEAD, status: 'accepted', changed: true } });
    expect(t.slept).toEqual([100, 100, 100]);
    expect(await t.counted('applied')).toBe(1);
    expect(await t.deps.metrics.registry.getSingleMetricAsString('leadrouter_revenue_total')).toContain('leadrouter_revenue_total{destination="buyer",supplier="acme"} 2');
    await t.close();
  });

  test(`a sale that never comes is a 404 after ${SALE_GRACE_MS} ms of the injected clock`, async () => {
    const t = setUp();
    await redis.hset(t.keys.lead(LEAD), 'status', 'queued', 'plan', JSON.stringify({ route: 'all', candidates: ['buyer'], round: 0 }));
    expect((await applyPostback(t.deps, t.input({ lead_id: LEAD, status: 'accepted' }))).code).toBe(404);
    expect(t.slept.reduce((a, b) => a + b, 0)).toBe(SALE_GRACE_MS);
    await t.close();
  });
});
