import type { Redis } from 'ioredis';
import { LEAD_HASH, type RedisKeys } from '@leadrouter/redis';

/**
 * What the workers' housekeeping and the admin's bulk redelivery read: the intake's outbox of
 * leads not yet picked up, the unsold index, and Redis's memory. Each is a bounded O(log n) read:
 * no scans. The clock is injected.
 */
export class Sweeps {
  constructor(
    private readonly redis: Redis,
    readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  /** Leads the intake stored more than `olderThanMs` ago that no worker has picked up yet. */
  async strandedPending(olderThanMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.pending(), '-inf', this.now() - olderThanMs, 'LIMIT', 0, limit);
  }

  /** Unsold leads that arrived between `from` and `to` (ms), oldest first, with their reasons. */
  async unsoldBetween(from: number, to: number, limit: number): Promise<Array<{ id: string; reason: string | null }>> {
    const ids = await this.redis.zrangebyscore(this.keys.unsold(), from, to, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.lead(id), LEAD_HASH.reason);
    const reasons = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => ({ id, reason: (reasons[i]?.[1] as string | null) ?? null }));
  }

  /** Drops index entries of leads past their retention (their records have expired). */
  async trimUnsoldIndex(retentionMs: number): Promise<void> {
    await this.redis.zremrangebyscore(this.keys.unsold(), '-inf', this.now() - retentionMs);
  }

  async redisMemory(): Promise<{ used: number; max: number }> {
    const info = await this.redis.info('memory');
    return { used: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0), max: Number(/maxmemory:(\d+)/.exec(info)?.[1] ?? 0) };
  }
}
