import { allBuckets, leadBucket, type RedisClient, type RedisKeys } from '@leadrouter/redis';
import { oldestScored } from './oldest-scored.js';

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

/** The notification an outbox member names, or undefined when it is not one. */
export function parseEntry(entry: string): OwedNotification | undefined {
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
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** The notification of this entry is queued (or not owed after all): forget it. */
  async done(entry: string): Promise<void> {
    const leadId = parseEntry(entry)?.leadId;
    // An entry that is not ours names no lead, hence no bucket: it is taken out of each.
    const buckets = leadId === undefined ? allBuckets() : [leadBucket(leadId)];
    await Promise.all(buckets.map((b) => this.redis.zrem(this.keys.notifyOutbox(b), entry)));
  }

  /**
   * Entries written more than `olderThanMs` ago by Redis's clock (the one they were scored by, so
   * the hosts' clocks do not matter), oldest first, with their age and the supplier of each lead
   * ('' once the lead has expired).
   */
  async stale(olderThanMs: number, limit: number): Promise<Array<{ entry: string; ageMs: number; notification?: OwedNotification; supplier: string }>> {
    const [seconds, micros] = await this.redis.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const perBucket = await Promise.all(allBuckets().map((b) => this.redis.zrangebyscore(this.keys.notifyOutbox(b), '-inf', now - olderThanMs, 'WITHSCORES', 'LIMIT', 0, limit)));
    const oldest = oldestScored(perBucket, limit).map(([entry, score]) => ({ entry, ageMs: now - score }));
    if (oldest.length === 0) return [];
    const notifications = oldest.map((s) => parseEntry(s.entry));
    // One read per lead, not a pipeline: on a Redis Cluster the leads live in different slots.
    const suppliers = await Promise.all(notifications.map((n) => (n ? this.redis.hget(this.keys.lead(n.leadId), 'supplier') : Promise.resolve(null))));
    return oldest.map(({ entry, ageMs }, i) => {
      const notification = notifications[i];
      return { entry, ageMs, ...(notification ? { notification } : {}), supplier: suppliers[i] ?? '' };
    });
  }
}
