import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
// ioredis's own close path, used where its disconnect() forgets to take it (see ReportingRedis).
import { closeHandler } from 'ioredis/built/redis/event_handler.js';
import { connectionErrors, isConnectionError } from './connection-errors.js';

/**
 * Producers (the intake) must fail fast when Redis is gone, so that the API can answer 503 at
 * once instead of holding the request: no offline queue, short command timeout.
 * Consumers (BullMQ workers) must instead wait for Redis forever: maxRetriesPerRequest null.
 * (BullMQ "Going to production".)
 */
export type ConnectionRole = 'producer' | 'consumer';

/** A connection to a single Redis or to a Redis Cluster (contract §12): every store works on either. */
export type RedisClient = Redis | Cluster;

/**
 * The address of a Redis Cluster as LeadRouter carries it where a Redis URL goes (ServiceEnv's
 * redisUrl): `redis-cluster://host:port,host:port`, from REDIS_CLUSTER_NODES (contract §12).
 */
export const CLUSTER_SCHEME = 'redis-cluster://';

/** The startup nodes of a `redis-cluster://` address, or undefined for a plain Redis URL. */
export function clusterNodes(url: string): Array<{ host: string; port: number }> | undefined {
  if (!url.startsWith(CLUSTER_SCHEME)) return undefined;
  return url
    .slice(CLUSTER_SCHEME.length)
    .split(',')
    .map((node) => {
      const colon = node.lastIndexOf(':');
      return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
    });
}

/** Whether a client is a Redis Cluster's (whose multi-key commands must stay within one slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Every master of a cluster (a Redis itself otherwise): what per-node reads (INFO, CONFIG) ask. */
export function masters(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** A connection for `url`: a Redis, or a Cluster for a `redis-cluster://` address (same options per node). */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): RedisClient {
  const nodes = clusterNodes(url);
  if (nodes) return createCluster(nodes, role, extra);
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

function createCluster(nodes: Array<{ host: string; port: number }>, role: ConnectionRole, extra: RedisOptions): Cluster {
  const redisOptions: RedisOptions =
    role === 'producer' ? { maxRetriesPerRequest: 1, commandTimeout: 800, ...extra } : { maxRetriesPerRequest: null, ...extra };
  const options: ClusterOptions = {
    redisOptions,
    // Producers fail fast while the cluster is gone (the intake answers 503); consumers wait.
    enableOfflineQueue: role !== 'producer',
    enableAutoPipelining: extra.enableAutoPipelining ?? role === 'producer',
    clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
    // A failover moves slots: follow MOVED/ASK and TRYAGAIN a while rather than fail the command.
    retryDelayOnFailover: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
  };
  const client = new ReportingCluster(nodes, options);
  client.on('error', () => undefined);
  return client;
}

/** A Cluster client with the given options that, once disconnected, ends nodes a late slots refresh still adds (see ReportingCluster). */
export function newClusterClient(nodes: Array<{ host: string; port: number }>, options: ClusterOptions): Cluster {
  return new ReportingCluster(nodes, options);
}

/** A Cluster whose duplicates (BullMQ's blocking connections) are made the same way. */
class ReportingCluster extends Cluster {
  constructor(
    private readonly nodesGiven: Array<{ host: string; port: number }>,
    options: ClusterOptions,
  ) {
    super(nodesGiven, options);
  }

  /**
   * A slots refresh in flight when the client is disconnected can still add a node connection
   * afterwards (ioredis), which would stay open and keep the process alive: it is ended as it comes.
   */
  override disconnect(reconnect = false): void {
    super.disconnect(reconnect);
    if (!reconnect) this.endLateNodes();
  }

  override quit(callback?: Parameters<Cluster['quit']>[0]): Promise<'OK'> {
    this.endLateNodes();
    return super.quit(callback);
  }

  private endLateNodes(): void {
    this.on('+node', (node: Redis) => node.disconnect());
  }

  override duplicate(overrideStartupNodes?: Array<{ host: string; port: number }>, overrideOptions?: ClusterOptions): Cluster {
    const copy = new ReportingCluster(overrideStartupNodes ?? this.nodesGiven, { ...this.options, ...overrideOptions });
    copy.on('error', () => undefined);
    return copy;
  }
}

/**
 * An ioredis client whose connection errors go to the process's reporter (when one is installed,
 * see connection-errors.ts) rather than to every listener, at a bounded rate. BullMQ duplicates
 * the connection it is given for its blocking commands, so duplicates report the same way.
 */
class ReportingRedis extends Redis {
  /**
   * ioredis: a client disconnected while it waits to reconnect (its Redis gone) clears the timer
   * but has no stream left whose close would end it, so it stayed 'reconnecting' for good, its
   * queued commands never answered. It is ended the way a closed stream ends it.
   */
  override disconnect(reconnect = false): void {
    const waitingToReconnect = !reconnect && this.status === 'reconnecting';
    super.disconnect(reconnect);
    if (waitingToReconnect && this.status === 'reconnecting') closeHandler(this)();
  }

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
export async function waitForRedis(client: RedisClient, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(client, Math.min(1000, Math.max(1, deadline - Date.now())))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every master the cluster client knows answers PING, and the cluster itself sees every master up. */
async function clusterUp(client: Cluster): Promise<boolean> {
  const [view, ...answers] = await Promise.all([client.cluster('NODES') as Promise<string>, ...client.nodes('master').map((node) => node.ping())]);
  return answers.every((answer) => answer === 'PONG') && mastersLinked(view);
}

/** CLUSTER NODES: each master's line (`<id> <addr> <flags> <master> <ping> <pong> <epoch> <link-state> <slots>…`) says it is linked and not failing. */
function mastersLinked(view: string): boolean {
  const masterLines = view.split('\n').map((line) => line.trim().split(' ')).filter((f) => (f[2] ?? '').split(',').includes('master'));
  return masterLines.length > 0 && masterLines.every((f) => f[7] === 'connected' && !(f[2] ?? '').split(',').some((flag) => flag === 'fail' || flag === 'fail?'));
}

/**
 * True when Redis answers PING within `timeoutMs`. On a cluster, every master must be up, each
 * holding its share of the leads: every master the client knows answers, and the cluster's own
 * view (CLUSTER NODES, from any node) has every master linked and none failing; the client alone
 * would forget a master it lost, and the others still answer. Never throws.
 */
export async function ping(client: RedisClient, timeoutMs = 500): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answered = await Promise.race([
      isCluster(client) ? clusterUp(client) : client.ping().then((answer) => answer === 'PONG'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return answered;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
