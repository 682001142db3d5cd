import { createServer, type RequestListener, type Server } from 'node:http';
import type { HttpLimits } from '@leadrouter/config';
import { whenLogsWritten, type Logger } from '@leadrouter/logging';

/**
 * Serves `app` with the limits of a public API: a client that opens a socket and sends nothing,
 * or trickles its head or body, is answered 408 and dropped within the timeouts (checked every
 * second, not Node's default 30 s), and connections past the cap are closed as they arrive.
 */
export async function listen(app: RequestListener, host: string, port: number, limits: HttpLimits): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    app,
  );
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** The port a listening server got (the one asked for, or the free one picked for port 0). */
export function boundPort(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes the rest. */
export async function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * Runs `work` as a named part of a shutdown, so that a shutdown cut short can say what it was
 * still waiting for. `needsRedis: false` marks a part that can finish without Redis (stopping the
 * all-in-one's own redis-server): Redis being gone is no reason to abandon it.
 */
export type ShutdownStep = <T>(name: string, work: () => Promise<T>, options?: { needsRedis?: boolean }) => Promise<T>;

export interface ShutdownOptions {
  /** The longest a graceful stop may take; then whatever is left is abandoned and the process exits 1. */
  deadlineMs?: number;
  /**
   * Starts a watch that calls `gone` when waiting is pointless (Redis unreachable: nothing left
   * that needs it can finish); returns its stop. The shutdown is then abandoned at once, unless
   * the part running does not need Redis.
   */
  watchRedis?: (gone: (reason: string) => void) => () => void;
}

/**
 * Runs `shutdown` once on the first SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it
 * failed or was abandoned (past the deadline, or Redis gone). Abandoning is as safe as a crash,
 * which the system is built to survive: nothing acknowledged lives only in this process.
 * A second signal exits at once: an operator pressing Ctrl-C twice means it.
 */
export function onShutdownSignal(logger: Logger, shutdown: (step: ShutdownStep) => Promise<void>, options: ShutdownOptions = {}): void {
  const deadlineMs = options.deadlineMs ?? 15_000;
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, deadlineMs }, 'shutting down');
    new ShutdownRun(logger, deadlineMs).start(shutdown, options.watchRedis);
  };
  process.once('SIGTERM', handle);
  process.once('SIGINT', handle);
}

/** One shutdown: it ends once, by finishing, failing, or being abandoned, whichever comes first. */
class ShutdownRun {
  private readonly running = runningSteps();
  private settled = false;
  private deadline: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs: number,
  ) {}

  start(shutdown: (step: ShutdownStep) => Promise<void>, watchRedis: ShutdownOptions['watchRedis']): void {
    this.deadline = setTimeout(() => this.abandon(`not finished within ${this.deadlineMs / 1000} s`), this.deadlineMs);
    this.stopWatch = watchRedis?.((reason) => {
      if (this.running.currentNeedsRedis()) this.abandon(reason);
    });
    shutdown(this.running.step).then(
      // A tick later: connections the shutdown closed while they waited to reconnect say their end
      // (and the connection-error reporter its last summary) on the next tick (ioredis), before 'stopped'.
      () => {
        // Finished: nothing may be abandoned in the tick before the word.
        clearTimeout(this.deadline);
        this.stopWatch?.();
        this.stopWatch = undefined;
        setImmediate(() => this.finish(0, () => this.logger.info('stopped')));
      },
      (err: unknown) => this.finish(1, () => this.logger.error({ err }, 'shutdown failed')),
    );
  }

  private abandon(reason: string): void {
    this.finish(1, () => {
      const parts = this.running.names();
      this.logger.error(
        { abandoned: parts, reason },
        `shutdown abandoned, ${reason}: gave up waiting for ${parts.length ? parts.join(' > ') : 'the rest of the shutdown'}; exiting 1. ` +
          'As after a crash, nothing is lost: jobs in hand are run again once their lock expires',
      );
    });
  }

  private finish(code: number, log: () => void): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.stopWatch?.();
    log();
    exitAfterFlush(this.logger, code);
  }
}

/** The parts of a shutdown under way, in the order they started. */
function runningSteps(): { step: ShutdownStep; names(): string[]; currentNeedsRedis(): boolean } {
  const running = new Map<symbol, { name: string; needsRedis: boolean }>();
  return {
    step: async (name, work, stepOptions) => {
      const id = Symbol(name);
      running.set(id, { name, needsRedis: stepOptions?.needsRedis ?? true });
      try {
        return await work();
      } finally {
        running.delete(id);
      }
    },
    names: () => [...running.values()].map((s) => s.name),
    // The part started last is the one being waited for; with none named yet, assume it needs Redis.
    currentNeedsRedis: () => [...running.values()].at(-1)?.needsRedis ?? true,
  };
}

/** Exits once the log lines are written (pino writes asynchronously), or after 1 s whatever stdout does. */
function exitAfterFlush(logger: Logger, code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
  whenLogsWritten(logger, () => process.exit(code));
}
