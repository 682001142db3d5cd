import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '@leadrouter/logging';
import { redisServerAvailable, startRedisServer, waitForRedis, type OwnedRedisServer } from '@leadrouter/redis';

/**
 * Contract §1: with no REDIS_URL and nothing answering on the default address, the all-in-one
 * runs its own redis-server (AOF on, data under ./.data/). Returns undefined when an existing
 * Redis is to be used; throws with a how-to message when none can be had.
 */
export async function ensureRedis(
  redisUrlGiven: boolean,
  logger: Logger,
  where: { port: number; dataDir: string } = { port: 6379, dataDir: resolve('.data', 'redis') },
): Promise<OwnedRedisServer | undefined> {
  if (redisUrlGiven) return undefined;
  // One connection attempt, no reconnects: refused at once when nothing listens there. A plain
  // client, not createRedis: that refusal is the answer sought, not a Redis outage to report.
  const probe = new Redis(`redis://127.0.0.1:${where.port}`, { retryStrategy: () => null, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  const answering = await waitForRedis(probe, 1000);
  probe.disconnect();
  if (answering) return undefined;
  if (!redisServerAvailable()) {
    throw new Error(
      `no Redis answers on 127.0.0.1:${where.port} and redis-server is not installed. Install it ` +
        '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
    );
  }
  const server = await startRedisServer({ dir: where.dataDir, port: where.port, appendOnly: true });
  logger.info({ url: server.url, dir: where.dataDir, pid: server.pid }, 'started a private redis-server (AOF on); it stops with LeadRouter');
  return server;
}
