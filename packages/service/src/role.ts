import { configPathFromEnv, ConfigError, loadConfigFile, readEnv, type ResolvedConfig, type ServiceEnv } from '@leadrouter/config';
import { createLogger, type Logger } from '@leadrouter/logging';
import { onShutdownSignal } from './lifecycle.js';

export interface RoleContext {
  env: ServiceEnv;
  config: ResolvedConfig;
  configFile: string;
  logger: Logger;
}

/**
 * The common start of every process: read the environment, load and check the config (exiting
 * non-zero with every problem listed when it is invalid), make the logger, start the role, and
 * stop it gracefully on SIGTERM/SIGINT.
 */
export async function runRole(
  name: string,
  start: (ctx: RoleContext) => Promise<{ close(): Promise<void> }>,
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
  try {
    const handle = await start({ env, config: loaded.config, configFile: loaded.file, logger });
    onShutdownSignal(logger, () => handle.close());
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'failed to start');
    logger.flush();
    process.exit(1);
  }
}
