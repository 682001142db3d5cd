import { afterAll, describe, expect, test } from '@jest/globals';
import { Notifier } from '@leadrouter/notify';
import { parseConfigText } from '@leadrouter/config';
import { leadBucket, redisKeys } from '@leadrouter/redis';
import { PostbackState } from '@leadrouter/store';
import { testRedisClient, waitFor } from '@leadrouter/testing';
import { acceptAll, closedAfterEach, systemYaml, type TestSystem } from '@leadrouter/testing/system';

const TOKEN = 'pb-owed-token';

/**
 * The postback service changes a lead's status and then queues the supplier's notification: two
 * steps. Whatever happens between them (the process is killed, Redis refuses the queueing), the
 * supplier still hears of the change, once: the first step leaves the notification in an outbox
 * that the workers sweep. These tests stop the postback service's work exactly where a crash would
 * (they run its Redis step themselves, with the same code), then watch the real tracker.
 */
describe('supplier notifications of postbacks whose service died before queueing them', () => {
  const { server, system } = closedAfterEach();
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());

  /** The system, its supplier's tracker, and one lead sold to `buyer`. */
  async function setUp(): Promise<{ sys: TestSystem; tracker: Awaited<ReturnType<typeof server>>; yaml: string; id: string }> {
    const buyer = await server(acceptAll);
    const tracker = await server((_req, res) => res.writeHead(200).end('ok'));
    const yaml = systemYaml(
      `
destinations:
  - { id: buyer, url: "${buyer.url}/", payout: 10, postback: { token: "${TOKEN}" } }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`,
      `postbackUrl: "${tracker.url}/pb?lead={lead_id}&s={status}"
postbackOn: [converted]`,
    );
    const sys = await system(yaml, { worker: { housekeepingIntervalMs: 100, owedNotificationAfterMs: 400 } });
    const id = (await sys.post()).body.id as string;
    expect((await sys.final(id)).status).toBe('delivered');
    return { sys, tracker, yaml, id };
  }

  /** What the postback service does first for `converted`: the atomic status change, and nothing after it. */
  async function applyOnly(sys: TestSystem, yaml: string, leadId: string, key: string): Promise<void> {
    const config = parseConfigText(yaml, {});
    const state = new PostbackState(redis, redisKeys(sys.env.prefix), config.retentionMs, 1 - 1 / config.learning.priceMemory);
    const outcome = await state.apply(leadId, 'buyer', 'converted', undefined, undefined, { at: new Date().toISOString(), type: 'postback', destination: 'buyer', status: 'converted' }, key);
    expect(outcome.result).toBe('applied');
  }

  const conversions = (tracker: { requests: Array<{ url: string }> }, leadId: string): string[] =>
    tracker.requests.map((r) => r.url).filter((url) => url.includes(`lead=${leadId}`) && url.includes('s=converted'));

  test('a status change whose notification was never queued reaches the tracker once, from a worker', async () => {
    const { sys, tracker, yaml, id } = await setUp();

    await applyOnly(sys, yaml, id, 'pb.converted.crashed-1');
    expect((await sys.lead(id)).status).toBe('converted');

    await waitFor(() => (conversions(tracker, id).length > 0 ? true : undefined), 10_000, 'the conversion notification');
    // Several more sweeps pass: the notification is not sent again, and the outbox is empty.
    await sys.workers[0]!.afterHousekeepingRounds(5);
    expect(conversions(tracker, id)).toHaveLength(1);
    expect(await redis.zcard(redisKeys(sys.env.prefix).notifyOutbox(leadBucket(id)))).toBe(0);
    const warned = sys.logs.lines.filter((l) => l.includes('had left in its outbox') && l.includes(id));
    expect(warned).toHaveLength(1);
  }, 30_000);

  test('a notification queued just before the crash (its outbox entry still there) is sent once, not twice', async () => {
    const { sys, tracker, yaml, id } = await setUp();

    await applyOnly(sys, yaml, id, 'pb.converted.crashed-2');
    const notifier = new Notifier(redis, sys.env.prefix, parseConfigText(yaml, {}).suppliers);
    try {
      await notifier.notify('acme', id, 'converted', 'pb.converted.crashed-2');
      await waitFor(() => (conversions(tracker, id).length > 0 ? true : undefined), 10_000, 'the conversion notification');
      await waitFor(async () => ((await redis.zcard(redisKeys(sys.env.prefix).notifyOutbox(leadBucket(id)))) === 0 ? true : undefined), 10_000, 'the sweep of the outbox');
      await sys.workers[0]!.afterHousekeepingRounds(5);
      expect(conversions(tracker, id)).toHaveLength(1);
    } finally {
      await notifier.close();
    }
  }, 30_000);

  test('a postback answered 200 leaves nothing in the outbox: the service queued its notification itself, whatever its event id', async () => {
    const { sys, tracker, id } = await setUp();

    // A buyer's event id may hold any text, ':' included, which BullMQ refuses in a job id.
    const answer = await fetch(`${sys.postbackUrl}/v1/postbacks/buyer?${new URLSearchParams({ lead_id: id, status: 'converted', token: TOKEN, event_id: 'evt:42 / sale' })}`);
    expect(answer.status).toBe(200);
    expect(await redis.zcard(redisKeys(sys.env.prefix).notifyOutbox(leadBucket(id)))).toBe(0);
    await waitFor(() => (conversions(tracker, id).length > 0 ? true : undefined), 10_000, 'the conversion notification');
    expect(sys.logs.lines.filter((l) => l.includes('had left in its outbox'))).toHaveLength(0);
  }, 30_000);
});
