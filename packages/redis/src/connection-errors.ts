/**
 * Redis connection errors at a bounded rate. ioredis emits an 'error' on every failed reconnect
 * of every connection, and BullMQ repeats each one through every Worker and Queue sharing that
 * connection: a worker with a few destinations logged ~470 lines a minute while Redis was down.
 * Once a process installs a reporter (runRole does), its connections route their connection
 * errors here instead: the first error of an outage is logged, then at most one summary line per
 * interval with the count, then one line when every connection is back.
 */

/** The two pino methods used (structural, so this package needs no logging dependency). */
export interface ConnectionErrorLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Socket-level failures: the connection, not a command, went wrong. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE',
  'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN',
]);

/** Checked by shape, not instanceof: Node's socket errors may come from another realm (jest's VM). */
export function isConnectionError(err: unknown): err is NodeJS.ErrnoException {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return typeof code === 'string' && typeof message === 'string' && CONNECTION_ERROR_CODES.has(code);
}

const seconds = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);

class ConnectionErrorReporter {
  private logger: ConnectionErrorLogger | undefined;
  private everyMs = 10_000;
  /** Connections that failed and have neither reconnected nor ended since. */
  private readonly failing = new Set<object>();
  private downSince = 0;
  private errors = 0;
  private unreported = 0;
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;

  install(logger: ConnectionErrorLogger, everyMs: number): void {
    this.logger = logger;
    this.everyMs = everyMs;
  }

  uninstall(): void {
    this.endOutage(false);
    this.logger = undefined;
  }

  get installed(): boolean {
    return this.logger !== undefined;
  }

  failed(connection: object, address: string, err: Error): void {
    this.failing.add(connection);
    this.errors += 1;
    this.lastError = err.message;
    if (this.timer !== undefined) {
      this.unreported += 1;
      return;
    }
    this.downSince = Date.now();
    this.logger?.warn(
      { redis: address, err: err.message },
      `Redis connection failed (${err.message}); reconnecting. Further connection errors are summarised every ${seconds(this.everyMs)} s`,
    );
    this.timer = setInterval(() => this.summarise(), this.everyMs);
    // A summary is no reason to keep a process alive that has nothing else left to do.
    this.timer.unref();
  }

  /** A connection is ready again; the outage ends when the last failing one is. */
  recovered(connection: object): void {
    if (this.failing.delete(connection) && this.failing.size === 0) this.endOutage(true);
  }

  /** A connection was closed for good (shutdown): it no longer counts as failing, nor as back. */
  ended(connection: object): void {
    if (this.failing.delete(connection) && this.failing.size === 0) this.endOutage(false);
  }

  private summarise(): void {
    if (this.unreported === 0) return;
    this.logger?.warn(
      { errors: this.unreported, downForMs: Date.now() - this.downSince, err: this.lastError },
      `Redis still unreachable: ${this.unreported} more connection errors in the last ${seconds(this.everyMs)} s (last: ${this.lastError})`,
    );
    this.unreported = 0;
  }

  private endOutage(back: boolean): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    // Closed while still failing (a shutdown): the errors since the last summary are still said.
    if (!back) this.summarise();
    if (back) {
      const downForMs = Date.now() - this.downSince;
      this.logger?.info({ errors: this.errors, downForMs }, `Redis connection back after ${this.errors} connection errors over ${seconds(downForMs)} s`);
    }
    this.errors = 0;
    this.unreported = 0;
    this.failing.clear();
  }
}

/** One per process: the summary line counts the errors of all its connections together. */
export const connectionErrors = new ConnectionErrorReporter();

/**
 * Makes every connection made by createRedis from now on (and those made before) report its
 * connection errors to `logger` at a bounded rate, instead of emitting each one to its listeners.
 * Other errors (a refused AUTH, a command error) still reach the listeners as before.
 */
export function reportRedisConnectionErrors(logger: ConnectionErrorLogger, options: { everyMs?: number } = {}): { stop(): void } {
  connectionErrors.install(logger, options.everyMs ?? 10_000);
  return { stop: () => connectionErrors.uninstall() };
}
