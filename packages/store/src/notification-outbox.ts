import type { Redis } from 'ioredis';
import type { RedisKeys } from '@leadrouter/redis';

/** A supplier notification owed for an applied postback (contract §6). */
export interface OwedNotification {
  leadId: string;
  status: string;
  /** Makes the notification's job id, so queueing it twice sends it once. */
  key: string;
  /** For a sale of a shared lead: its buyer. */
  sale?: string;
}

/** The outbox member of a notification: JSON, since an event id may hold any character. */
export function notificationEntry(n: OwedNotification): string {
  return JSON.stringify(n.sale === undefined ? [n.leadId, n.status, n.key] : [n.leadId, n.status, n.key, n.sale]);
}

function parseEntry(entry: string): OwedNotification | undefined {
  try {
    const parsed = JSON.parse(entry) as unknown;
    if (Array.isArray(parsed) && (parsed.length === 3 || parsed.length === 4) && parsed.every((part) => typeof part === 'string')) {
      const [leadId, status, key, sale] = parsed as [string, string, string, string?];
      return { leadId, status, key, ...(sale === undefined ? {} : { sale }) };
    }
  } catch {
    // Not one of ours: dropped by the caller.
  }
  return undefined;
}

/**
 * The postback service's outbox of supplier notifications. The postback step (one Lua script)
 * writes an entry together with the status change; the service clears it once the notification is
 * queued. An entry left behind (the process died in between, or Redis failed the queueing) is
 * picked up by the workers' housekeeping after a while and queued then, with the same job id, so
 * a notification is neither lost nor sent twice.
 */
export class NotificationOutbox {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** The notification of this entry is queued (or not owed after all): forget it. */
  async done(entry: string): Promise<void> {
    await this.redis.zrem(this.keys.notifyOutbox(), entry);
  }

  /**
   * Entries written more than `olderThanMs` ago by Redis's clock (the one they were scored by, so
   * the hosts' clocks do not matter), oldest first, with their age and the supplier of each lead
   * ('' once the lead has expired).
   */
  async stale(olderThanMs: number, limit: number): Promise<Array<{ entry: string; ageMs: number; notification?: OwedNotification; supplier: string }>> {
    const [seconds, micros] = await this.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const scored = await this.redis.zrangebyscore(this.keys.notifyOutbox(), '-inf', now - olderThanMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const entries: string[] = [];
    const ages: number[] = [];
    for (let i = 0; i + 1 < scored.length; i += 2) {
      entries.push(scored[i] as string);
      ages.push(now - Number(scored[i + 1]));
    }
    if (entries.length === 0) return [];
    const notifications = entries.map(parseEntry);
    const pipeline = this.redis.pipeline();
    for (const n of notifications) pipeline.hget(this.keys.lead(n?.leadId ?? ''), 'supplier');
    const suppliers = (await pipeline.exec()) ?? [];
    return entries.map((entry, i) => {
      const [err, supplier] = suppliers[i] ?? [null, null];
      if (err) throw err;
      const notification = notifications[i];
      return { entry, ageMs: ages[i] ?? 0, ...(notification ? { notification } : {}), supplier: typeof supplier === 'string' ? supplier : '' };
    });
  }
}
