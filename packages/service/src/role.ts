import { configPathFromEnv, ConfigError, loadConfigFile, readEnv, type ResolvedConfig, type ServiceEnv } from '@leadrouter/config';
import { createLogger, type Logger } from '@leadrouter/logging';
import { maskRedisUrl, reportRedisConnectionErrors, watchReachability } from '@leadrouter/redis';
import { onShutdownSignal, type ShutdownStep } from './lifecycle.js';
import { reportRedisAtStart, type RedisOrigin } from './redis-readiness.js';

export interface RoleContext {
  env: ServiceEnv;
  config: ResolvedConfig;
  configFile: string;
  logger: Logger;
  /**
   * For a role that picks its Redis itself (`picksRedis`): says which one it uses, as every
   * process does at start, and makes it the one watched while shutting down. Returns the ways
   * that Redis is set to lose leads (empty when it is safe, or could not be checked).
   */
  useRedis(url: string, origin: RedisOrigin): Promise<string[]>;
}

export interface RoleHandle {
  /** `step` names the parts of the close, for the log line of a shutdown cut short. */
  close(step: ShutdownStep): Promise<void>;
  /** Reads the config file again (contract §11): what SIGHUP does. */
  reload?(): void;
}

export interface RoleOptions {
  /** The role chooses its Redis (the all-in-one may start its own) and reports it through ctx.useRedis. */
  picksRedis?: boolean;
}

/** closeServer's grace for HTTP requests in flight, and a destination's default timeoutMs. */
const HTTP_GRACE_MS = 10_000;
const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * The longest a healthy graceful stop needs: requests in flight get closeServer's grace, a
 * worker's deliveries in flight their destination's timeout, then 5 s for queues and connections.
 */
function shutdownDeadlineMs(config: ResolvedConfig): number {
  const longestDelivery = Math.max(0, ...config.destinations.map((d) => d.timeoutMs ?? DELIVERY_TIMEOUT_MS));
  return Math.max(HTTP_GRACE_MS, longestDelivery) + 5_000;
}

/**
 * The common start of every process: read the environment, load and check the config (exiting
 * non-zero with every problem listed when it is invalid), make the logger, say which Redis the
 * process uses and whether it is safe, start the role, and stop it gracefully on SIGTERM/SIGINT:
 * within a deadline, and at once when Redis is gone (what is left then needs it to finish).
 */
export async function runRole(
  name: string,
  start: (ctx: RoleContext) => Promise<RoleHandle>,
  options: RoleOptions = {},
): Promise<void> {
  let env: ServiceEnv;
  let loaded;
  try {
    env = readEnv(process.env);
    loaded = loadConfigFile(configPathFromEnv(process.env));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof Error) {
      console.error(`leadrouter ${name}: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: env.logLevel, service: name });
  logger.info({ config: loaded.file, prefix: env.prefix }, 'starting');
  // Every Redis connection of the process reports its connection errors here, at a bounded rate.
  reportRedisConnectionErrors(logger.child({ check: 'redis-connection' }));
  let redisUrl = env.redisUrl;
  const useRedis = (url: string, origin: RedisOrigin): Promise<string[]> => {
    redisUrl = url;
    return reportRedisAtStart(url, origin, logger);
  };
  try {
    if (!options.picksRedis) await useRedis(env.redisUrl, env.redisCluster ? 'REDIS_CLUSTER_NODES' : env.redisUrlGiven ? 'REDIS_URL' : 'default');
    // SIGHUP reads the config file again. Listened to from here on: Node's default would end a
    // process still starting; one without a reload ignores it.
    const role: { started?: RoleHandle } = {};
    process.on('SIGHUP', () => {
      if (role.started) role.started.reload?.();
      else logger.warn('SIGHUP while starting: ignored (send it again once started)');
    });
    const handle = await start({ env, config: loaded.config, configFile: loaded.file, logger, useRedis });
    role.started = handle;
    onShutdownSignal(logger, (step) => step(name, () => handle.close(step)), {
      deadlineMs: shutdownDeadlineMs(loaded.config),
      watchRedis: (gone) =>
        watchReachability(redisUrl, (goneForMs) => gone(`Redis at ${maskRedisUrl(redisUrl)} unreachable for ${(goneForMs / 1000).toFixed(1)} s`)),
    });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'failed to start');
    logger.flush();
    process.exit(1);
  }
}
