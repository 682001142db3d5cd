import type { RedisClient } from '@leadrouter/redis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ResolvedSupplier } from '@leadrouter/config';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** How long the extra `burst - perSecond` requests take to come back. */
export const BURST_REFILL_SECONDS = 10;

/**
 * Per-supplier limits (README, "Rate limits"): `perSecond` requests in every second, plus up to
 * `burst - perSecond` more spread over a BURST_REFILL_SECONDS window. Counters live in Redis so
 * every intake process shares them; when Redis is unreachable an in-memory limiter of the same size
 * takes over per process (rate-limiter-flexible's insurance limiter).
 */
export class SupplierRateLimits {
  private readonly limiters = new Map<string, { consume(key: string): Promise<RateLimiterRes> }>();

  constructor(redis: RedisClient, keyPrefix: string, suppliers: ReadonlyArray<{ id: string; rateLimit?: Pick<NonNullable<ResolvedSupplier['rateLimit']>, 'perSecond' | 'burst'> | undefined }>) {
    for (const supplier of suppliers) {
      const limit = supplier.rateLimit;
      if (!limit) continue;
      const extra = Math.max(0, (limit.burst ?? limit.perSecond) - limit.perSecond);
      const make = (prefix: string, points: number, duration: number): RateLimiterRedis =>
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${keyPrefix}:${prefix}`,
          points,
          duration,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${keyPrefix}:${prefix}:mem`, points, duration }),
        });
      const perSecond = make('sec', limit.perSecond, 1);
      this.limiters.set(
        supplier.id,
        extra === 0 ? perSecond : new BurstyRateLimiter(perSecond, make('burst', extra, BURST_REFILL_SECONDS)),
      );
    }
  }

  async consume(supplierId: string): Promise<RateDecision> {
    const limiter = this.limiters.get(supplierId);
    if (!limiter) return { ok: true };
    try {
      await limiter.consume(supplierId);
      return { ok: true };
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
      }
      throw err;
    }
  }
}
