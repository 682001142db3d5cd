import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producers (the intake) must fail fast when Redis is gone, so that the API can answer 503 at
 * once instead of holding the request: no offline queue, short command timeout.
 * Consumers (BullMQ workers) must instead wait for Redis forever: maxRetriesPerRequest null.
 * (BullMQ "Going to production".)
 */
export type ConnectionRole = 'producer' | 'consumer';

export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    // Reconnect quickly but without hammering a Redis that is down.
    retryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: false,
  };
  const roleOptions: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 800, enableAutoPipelining: true }
      : { maxRetriesPerRequest: null, enableOfflineQueue: true };
  const client = new Redis(url, { ...common, ...roleOptions, ...extra });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => undefined);
  return client;
}

/** Resolves when the client answers PING, retrying until `timeoutMs`; false when it never did. */
export async function waitForRedis(client: Redis, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(client, Math.min(1000, Math.max(1, deadline - Date.now())))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True when Redis answers PING within `timeoutMs`. Never throws. */
export async function ping(client: Redis, timeoutMs = 500): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      client.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return answer === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
