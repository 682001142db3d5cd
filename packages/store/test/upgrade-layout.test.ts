import { afterAll, describe, expect, test } from '@jest/globals';
import { leadBucket, redisKeys } from '@leadrouter/redis';
import { testRedisClient, uniquePrefix } from '@leadrouter/testing';
import { DestinationState, LeadStore, upgradeKeyLayout } from '../src/index.js';

/** `npm run redis:upgrade` on a Redis written in the key layout before hash tags (README, "Upgrading the key layout"). */
describe('upgrading the key layout', () => {
  const redis = testRedisClient();
  afterAll(() => redis.disconnect());
  const id = '01JD3W6Z8Q4X5Y6Z7A8B9C0001';

  async function oldInstall(prefix: string): Promise<void> {
    await redis.hset(`${prefix}:lead:${id}`, 'supplier', 'acme', 'status', 'delivered', 'destination', 'a', 'payout', '12', 'createdAt', '1', 'quality', '0.8', 'source', 'web', 'geo', 'US', 'phoneNational', '(415) 555-0100', 'seq', '1');
    await redis.pexpire(`${prefix}:lead:${id}`, 3_600_000);
    await redis.set(`${prefix}:lead:${id}:data`, JSON.stringify({ name: 'Jane', phone: '+14155550100', geo: 'US', source: 'web', fields: {} }), 'PX', 3_600_000);
    await redis.rpush(`${prefix}:lead:${id}:events`, JSON.stringify({ at: '2026-11-30T10:00:00.000Z', type: 'received' }));
    await redis.set(`${prefix}:dedupe:supplier:ab12`, id);
    await redis.set(`${prefix}:cap:a:t`, '7');
    await redis.set(`${prefix}:cap:a:d:2026-11-30`, '3');
    await redis.hset(`${prefix}:circuit:a`, 'failures', '2');
    await redis.hset(`${prefix}:learn:a`, 'a', '3.000000', 'b', '2.000000');
    await redis.hset(`${prefix}:day:a:2026-11-30`, 'sold', '4');
    await redis.zadd(`${prefix}:unsold`, 5, id);
    await redis.zadd(`${prefix}:notify-outbox`, 6, JSON.stringify([id, 'converted', 'pb.a.converted.x']));
    await redis.zadd(`${prefix}:ledger:compact-due`, 7, `${id}:1:delivered`);
    await redis.hset(`${prefix}:destination-overrides`, 'a', '{"paused":true}');
    await redis.set(`${prefix}:config-reloads`, '3');
  }

  test('moves lead records (TTL kept), dedupe marks, destination state, the per-bucket sets and the overrides; a second run moves nothing', async () => {
    const prefix = uniquePrefix();
    await oldInstall(prefix);
    const keys = redisKeys(prefix);
    expect(await upgradeKeyLayout(redis, prefix)).toEqual({ moved: 11, members: 3 });

    const lead = await new LeadStore(redis, keys, 3_600_000).get(id);
    expect(lead).toMatchObject({ status: 'delivered', destination: 'a', payout: 12, events: [{ type: 'received' }] });
    expect(await redis.pttl(keys.lead(id))).toBeGreaterThan(3_000_000);
    expect(await redis.get(keys.dedupe('supplier', 'ab12'))).toBe(id);
    const a = await new DestinationState(redis, keys).status('a', { hourly: '2026-11-30T10', daily: '2026-11-30' });
    expect(a).toMatchObject({ capUsed: { daily: 3, total: 7 }, today: { sold: 4 }, circuit: { failures: 2 } });
    expect((await new DestinationState(redis, keys).learned(['a'], 'US')).get('a')).toMatchObject({ a: 3, b: 2 });
    expect(await redis.zscore(keys.unsold(leadBucket(id)), id)).toBe('5');
    expect(await redis.zcard(keys.notifyOutbox(leadBucket(id)))).toBe(1);
    expect(await redis.zscore(keys.compactionDue(leadBucket(id)), `${id}:1:delivered`)).toBe('7');
    expect(await redis.hget(keys.destinationOverrides(), 'a')).toBe('{"paused":true}');
    expect(await redis.get(keys.reloadGeneration())).toBe('3');
    for (const old of [`${prefix}:lead:${id}`, `${prefix}:cap:a:t`, `${prefix}:unsold`, `${prefix}:notify-outbox`]) expect(await redis.exists(old)).toBe(0);

    expect(await upgradeKeyLayout(redis, prefix)).toEqual({ moved: 0, members: 0 });
  });

  test('refuses, moving nothing, while a queue of the old layout holds a job, an old ledger stream a change, or a lead is still queued', async () => {
    const prefix = uniquePrefix();
    await oldInstall(prefix);
    await redis.rpush(`${prefix}:deliver-a:wait`, 'job1');
    await expect(upgradeKeyLayout(redis, prefix)).rejects.toThrow(`${prefix}:deliver-a:wait`);
    await redis.del(`${prefix}:deliver-a:wait`);
    await redis.xadd(`${prefix}:ledger:2`, '*', 'lead', id);
    await expect(upgradeKeyLayout(redis, prefix)).rejects.toThrow('not drained yet');
    await redis.del(`${prefix}:ledger:2`);
    // A lead still queued (its job failed, waiting for housekeeping to revive it): not yet either.
    await redis.hset(`${prefix}:lead:${id}`, 'status', 'queued');
    await expect(upgradeKeyLayout(redis, prefix)).rejects.toThrow(`${prefix}:lead:${id}`);
    expect(await redis.exists(`${prefix}:lead:${id}`)).toBe(1);
  });
});
