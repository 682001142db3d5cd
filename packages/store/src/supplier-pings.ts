import { isLeadId, type ScalarValue } from '@leadrouter/lead';
import type { PingedAuction, RedisKeys, RedisClient } from '@leadrouter/redis';

/** A supplier ping's auction as held for its lead: whose, on what fields, and its bidders' answers. */
export interface HeldPing {
  supplier: string;
  geo: string;
  source: string;
  fields: Record<string, ScalarValue>;
  auction: PingedAuction;
  expiresAt: string;
}

export type PingClaim = { ok: true; ping: HeldPing } | { ok: false; reason: 'unknown' | 'differs'; field?: string };

/**
 * Supplier pings (contract §9): the auction a `POST /v1/pings` ran, held for the route's
 * `bidTtlMs`, then used once by the lead posted with its `ping_id`. Use is a DEL: of two leads
 * posted with one ping_id at once, exactly one gets it.
 */
export class SupplierPings {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async hold(ping: HeldPing, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.supplierPing(ping.auction.pingId), JSON.stringify(ping), 'PX', ttlMs);
  }

  /**
   * Checks the ping for the lead `supplier` posts with these values, without taking it: unknown
   * (never made, expired, used, or another supplier's), or a field given in both that differs.
   */
  async check(id: string, supplier: string, given: { geo: string; source: string; fields: Record<string, ScalarValue> }): Promise<PingClaim> {
    if (!isLeadId(id)) return { ok: false, reason: 'unknown' };
    const key = this.keys.supplierPing(id);
    const text = await this.redis.get(key);
    if (!text) return { ok: false, reason: 'unknown' };
    let ping: HeldPing;
    try {
      ping = JSON.parse(text) as HeldPing;
    } catch {
      return { ok: false, reason: 'unknown' };
    }
    if (ping.supplier !== supplier) return { ok: false, reason: 'unknown' };
    if (ping.geo !== given.geo) return { ok: false, reason: 'differs', field: 'geo' };
    // As routes match it: without regard to case.
    if (ping.source.toLowerCase() !== given.source.toLowerCase()) return { ok: false, reason: 'differs', field: 'source' };
    for (const [name, value] of Object.entries(ping.fields)) {
      if (Object.hasOwn(given.fields, name) && String(given.fields[name]) !== String(value)) return { ok: false, reason: 'differs', field: name };
    }
    return { ok: true, ping };
  }

  /** Takes the ping for its lead: true for the one caller whose DEL removed it (used once). */
  async take(id: string): Promise<boolean> {
    return (await this.redis.del(this.keys.supplierPing(id))) === 1;
  }
}
