import { Redis, type RedisOptions } from 'ioredis';
import { connectionErrors, isConnectionError } from './connection-errors.js';

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
  const client = new ReportingRedis(url, { ...common, ...roleOptions, ...extra });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => undefined);
  return client;
}

/**
 * An ioredis client whose connection errors go to the process's reporter (when one is installed,
 * see connection-errors.ts) rather than to every listener, at a bounded rate. BullMQ duplicates
 * the connection it is given for its blocking commands, so duplicates report the same way.
 */
class ReportingRedis extends Redis {
  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = new ReportingRedis({ ...this.options, ...override });
    copy.on('error', () => undefined);
    return copy;
  }

  // EventEmitter's own signature takes any[]; unknown[] is the same arguments, typed safely.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (connectionErrors.installed) {
      const [err] = args;
      if (event === 'error' && isConnectionError(err)) {
        connectionErrors.failed(this, `${this.options.host ?? ''}:${this.options.port ?? ''}`, err);
        return true;
      }
      if (event === 'ready') connectionErrors.recovered(this);
      if (event === 'end') connectionErrors.ended(this);
    }
    return super.emit(event, ...args);
  }
}

/**
 * Calls `onUnreachable` (with how long Redis has been gone) whenever Redis at `url` has missed
 * `misses` PINGs in a row, each given `everyMs` to answer: a refused connection and a Redis that
 * hangs (stopped, or a network that drops packets) alike. Used while shutting down, when waiting
 * for a Redis that is gone only delays the exit. Returns its stop.
 */
export function watchReachability(url: string, onUnreachable: (goneForMs: number) => void, options: { everyMs?: number; misses?: number } = {}): () => void {
  const everyMs = options.everyMs ?? 1000;
  const misses = options.misses ?? 3;
  const client = createRedis(url, 'producer', { connectTimeout: everyMs, retryStrategy: () => everyMs });
  let stopped = false;
  let missed = 0;
  let goneSince = 0;
  const round = async (): Promise<void> => {
    const started = Date.now();
    // Retried within the round, so the connection's first moments (not connected yet) are no miss.
    if (await waitForRedis(client, everyMs)) {
      missed = 0;
    } else {
      if (missed === 0) goneSince = started;
      missed += 1;
      if (missed >= misses && !stopped) onUnreachable(Date.now() - goneSince);
    }
    if (stopped) return;
    // Unref'd: the watch never keeps a process alive that has finished everything else.
    setTimeout(() => void round(), Math.max(0, everyMs - (Date.now() - started))).unref();
  };
  void round();
  return () => {
    stopped = true;
    client.disconnect();
  };
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
