/**
 * A process whose shutdown never finishes, for shutdown-deadline.test.ts:
 * `node --import tsx shutdown.fixture.ts DEADLINE_MS NEEDS_REDIS REDIS_GONE`.
 * REDIS_GONE=yes makes the Redis watch report Redis gone at once.
 */
import { createLogger } from '@leadrouter/logging';
import { onShutdownSignal } from '@leadrouter/service';

const [deadlineMs, needsRedis, redisGone] = process.argv.slice(2);
const logger = createLogger({ level: 'info', service: 'fixture' });
// Stands for the servers and connections of a real process: it stays up until it is stopped.
setInterval(() => undefined, 60_000);
onShutdownSignal(logger, (step) => step('a close that never ends', () => new Promise<void>(() => undefined), { needsRedis: needsRedis === 'yes' }), {
  deadlineMs: Number(deadlineMs),
  watchRedis: (gone) => {
    if (redisGone === 'yes') setImmediate(() => gone('Redis at redis://127.0.0.1:1 unreachable for 3.0 s'));
    return () => undefined;
  },
});
logger.info('ready');
