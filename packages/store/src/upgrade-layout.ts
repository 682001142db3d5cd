import type { Redis } from 'ioredis';
import { leadBucket, redisKeys } from '@leadrouter/redis';
import { isDelivering } from './lead-record.js';
import { parseEntry } from './notification-outbox.js';

/** The old layout's ledger streams: `<prefix>:ledger:0..3`, no hash tag. */
const OLD_LEDGER_STREAMS = 4;

/**
 * Moves an install's Redis from the key layout before hash tags (LeadRouter before #16) to today's
 * (contract §12), in place, on the single Redis such an install runs on: lead records, dedupe
 * marks, destination state (caps, circuits, learning, day counts), the outboxes and indexes (now
 * one per lead bucket), operators' overrides and the audit stream. Idempotency keys, rate limits,
 * rotation counters, sessions and held pings keep their names. Every process must be stopped, and
 * the old queues and ledger streams drained (README, "Upgrading the key layout"): a queued job or
 * an unapplied ledger change under an old name would otherwise be stranded, so the upgrade refuses
 * to start while any is left, or while any lead is still being delivered. RENAME keeps each key's TTL. Running it again moves nothing.
 */
export interface UpgradeReport {
  moved: number;
  /** Members moved from the global sets into their buckets' (outbox, unsold index, notification outbox, compaction schedule). */
  members: number;
}

export async function upgradeKeyLayout(redis: Redis, prefix: string): Promise<UpgradeReport> {
  await refuseWhileBusy(redis, prefix);
  const keys = redisKeys(prefix);
  let moved = 0;
  const rename = async (from: string, to: string): Promise<void> => {
    if (from === to || (await redis.exists(from)) === 0) return;
    await redis.rename(from, to);
    moved += 1;
  };
  // Keys of the old layout never hold a '{' (today's all do).
  for (const key of await scan(redis, `${prefix}:lead:*`)) {
    const [id, ...rest] = key.slice(`${prefix}:lead:`.length).split(':');
    if (id) await rename(key, [keys.lead(id), ...rest].join(':'));
  }
  for (const key of await scan(redis, `${prefix}:dedupe:*`)) {
    const [scope, digest] = key.slice(`${prefix}:dedupe:`.length).split(':');
    if (scope && digest) await rename(key, keys.dedupe(scope, digest));
  }
  const perDestination: Array<[string, (destination: string, rest: string[]) => string]> = [
    ['cap', (d, rest) => keys.cap(d, rest.join(':'))],
    ['circuit', (d, rest) => (rest[0] === 'probe' ? keys.circuitProbe(d) : keys.circuit(d))],
    ['learn', (d) => keys.learned(d)],
    ['day', (d, rest) => keys.destinationDay(d, rest.join(':'))],
  ];
  for (const [kind, newKey] of perDestination) {
    for (const key of await scan(redis, `${prefix}:${kind}:*`)) {
      const [destination, ...rest] = key.slice(`${prefix}:${kind}:`.length).split(':');
      if (destination) await rename(key, newKey(destination, rest));
    }
  }
  await rename(`${prefix}:destination-overrides`, keys.destinationOverrides());
  await rename(`${prefix}:config-reloads`, keys.reloadGeneration());
  await rename(`${prefix}:ledger:audit`, keys.ledgerAudit());
  let members = 0;
  const leadOf: Record<string, (member: string) => string | undefined> = {
    pending: (m) => m,
    unsold: (m) => m,
    'notify-outbox': (m) => parseEntry(m)?.leadId,
    'ledger:compact-due': (m) => m.split(':')[0],
  };
  const target = (set: string, bucket: number): string =>
    set === 'pending' ? keys.pending(bucket) : set === 'unsold' ? keys.unsold(bucket) : set === 'notify-outbox' ? keys.notifyOutbox(bucket) : keys.compactionDue(bucket);
  for (const [set, lead] of Object.entries(leadOf)) {
    const old = `${prefix}:${set}`;
    const scored = await redis.zrange(old, 0, -1, 'WITHSCORES');
    for (let i = 0; i + 1 < scored.length; i += 2) {
      const member = scored[i] as string;
      const id = lead(member);
      if (id === undefined) continue;
      await redis.zadd(target(set, leadBucket(id)), Number(scored[i + 1]), member);
      members += 1;
    }
    await redis.del(old);
  }
  return { moved, members };
}

/** Refuses while a queue of the old layout still holds a job, or an old ledger stream a change. */
async function refuseWhileBusy(redis: Redis, prefix: string): Promise<void> {
  const busy: string[] = [];
  for (const key of await scan(redis, `${prefix}:*:wait`)) if (!key.includes('{') && (await redis.llen(key)) > 0) busy.push(key);
  for (const suffix of ['active', 'paused']) for (const key of await scan(redis, `${prefix}:*:${suffix}`)) if (!key.includes('{') && (await redis.llen(key)) > 0) busy.push(key);
  for (const suffix of ['delayed', 'prioritized']) for (const key of await scan(redis, `${prefix}:*:${suffix}`)) if (!key.includes('{') && (await redis.zcard(key)) > 0) busy.push(key);
  // A lead still being delivered would wait for a job of the old queues for good (a failed job
  // housekeeping would have revived, say): the upgrade waits for every lead to end.
  for (const key of await scan(redis, `${prefix}:lead:*`)) {
    if (/:(data|events|pbids)$/.test(key) || (await redis.type(key)) !== 'hash') continue;
    const [status, lanes] = await redis.hmget(key, 'status', 'lanes');
    if (isDelivering(status ?? null, Number(lanes ?? 0))) busy.push(key);
  }
  for (let b = 0; b < OLD_LEDGER_STREAMS; b++) if ((await redis.exists(`${prefix}:ledger:${b}`)) === 1 && (await redis.xlen(`${prefix}:ledger:${b}`)) > 0) busy.push(`${prefix}:ledger:${b}`);
  if (busy.length > 0) throw new Error(`not drained yet: ${busy.slice(0, 5).join(', ')}${busy.length > 5 ? ` and ${busy.length - 5} more` : ''} still hold work. Let the old workers and the ledger writer finish (README, "Upgrading the key layout"), then run it again`);
  // Drained old ledger streams go: today's are one per lead bucket.
  for (let b = 0; b < OLD_LEDGER_STREAMS; b++) await redis.del(`${prefix}:ledger:${b}`);
}

/** Keys matching `pattern` that have no hash tag (the old layout's), by SCAN. */
async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) if (!key.includes('{')) found.push(key);
  } while (cursor !== '0');
  return found;
}
