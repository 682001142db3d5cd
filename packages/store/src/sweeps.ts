import { LEAD_HASH, allBuckets, masters, type RedisKeys } from '@leadrouter/redis';
import { oldestScored } from './oldest-scored.js';
import type { RedisClient } from '@leadrouter/redis';

/**
 * What the workers' housekeeping and the admin's bulk redelivery read: the intake's outbox of
 * leads not yet picked up, the unsold index, and Redis's memory. Each is a bounded O(log n) read:
 * no scans. The clock is injected.
 */
export class Sweeps {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  /** Leads the intake stored more than `olderThanMs` ago that no worker has picked up yet, oldest first. */
  async strandedPending(olderThanMs: number, limit: number): Promise<string[]> {
    const until = this.now() - olderThanMs;
    return oldestFirst(await Promise.all(allBuckets().map((b) => this.redis.zrangebyscore(this.keys.pending(b), '-inf', until, 'WITHSCORES', 'LIMIT', 0, limit))), limit);
  }

  /** Unsold leads that arrived between `from` and `to` (ms), oldest first, with their reasons. */
  async unsoldBetween(from: number, to: number, limit: number): Promise<Array<{ id: string; reason: string | null }>> {
    const ids = oldestFirst(await Promise.all(allBuckets().map((b) => this.redis.zrangebyscore(this.keys.unsold(b), from, to, 'WITHSCORES', 'LIMIT', 0, limit))), limit);
    // One read per lead, not a pipeline: on a Redis Cluster the leads live in different slots.
    const reasons = await Promise.all(ids.map((id) => this.redis.hget(this.keys.lead(id), LEAD_HASH.reason)));
    return ids.map((id, i) => ({ id, reason: reasons[i] ?? null }));
  }

  /** Drops index entries of leads past their retention (their records have expired). */
  async trimUnsoldIndex(retentionMs: number): Promise<void> {
    const until = this.now() - retentionMs;
    await Promise.all(allBuckets().map((b) => this.redis.zremrangebyscore(this.keys.unsold(b), '-inf', until)));
  }

  /** Redis's memory, summed over a cluster's masters (each holds its share). */
  async redisMemory(): Promise<{ used: number; max: number }> {
    const infos = await Promise.all(masters(this.redis).map((node) => node.info('memory')));
    const sum = (pattern: RegExp): number => infos.reduce((total, info) => total + Number(pattern.exec(info)?.[1] ?? 0), 0);
    return { used: sum(/used_memory:(\d+)/), max: sum(/maxmemory:(\d+)/) };
  }
}

/** The `limit` oldest members of per-bucket `WITHSCORES` answers. */
function oldestFirst(perBucket: readonly string[][], limit: number): string[] {
  return oldestScored(perBucket, limit).map(([member]) => member);
}
