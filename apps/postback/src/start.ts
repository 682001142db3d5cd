import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { ResolvedConfig, ServiceEnv } from '@leadrouter/config';
import type { Logger } from '@leadrouter/logging';
import { createMetrics, type Metrics } from '@leadrouter/metrics';
import { Notifier, type NotifierOptions } from '@leadrouter/notify';
import { createRedis, redisKeys, waitForRedis } from '@leadrouter/redis';
import { boundPort, BodyError, clientError, closeServer, healthRoutes, httpMetrics, listen, LiveConfig, requestLog, redisReadiness } from '@leadrouter/service';
import { NotificationOutbox, PostbackState } from '@leadrouter/store';
import { postbackRoutes } from './routes.js';

export interface PostbackHandle {
  /** Reads the config file again (SIGHUP): taken when valid, refused with its problems when not. */
  reload(): void;
  server: Server;
  port: number;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface StartPostbackOptions {
  /** The process's metrics; the all-in-one passes one registry to every role it runs. */
  metrics?: Metrics;
  env: ServiceEnv;
  config: ResolvedConfig;
  logger: Logger;
  port?: number;
  notifier?: NotifierOptions;
  /** The live config (the all-in-one shares one among its roles); by default the service keeps its own. */
  live?: LiveConfig;
  /** The config file, read again on a reload (contract §11). */
  configFile?: string;
}

/**
 * The postback service (contract §5): destinations report what became of their leads; the lead's
 * status and revenue follow, and the supplier is notified through its own queue.
 */
export async function startPostback(options: StartPostbackOptions): Promise<PostbackHandle> {
  const { env, logger } = options;
  const redis = createRedis(env.redisUrl, 'producer');
  await waitForRedis(redis, 3000);
  const metrics = options.metrics ?? createMetrics();
  const keys = redisKeys(env.prefix, { ledger: env.ledger });
  const live = options.live ?? new LiveConfig({ redisUrl: env.redisUrl, keys, config: options.config, configFile: options.configFile, logger, metrics, role: 'postback' });
  if (!options.live) await live.start();
  const notifier = new Notifier(redis, env.prefix, live.current.suppliers, options.notifier);
  /** The app for one config: a reload builds a new one (a new destination's postback token); requests in flight finish on the old. */
  const build = (config: ResolvedConfig): Express => {
    const app = express();
    app.disable('x-powered-by');
    app.set('query parser', 'simple');
    app.use(httpMetrics(metrics, 'postback'));
    app.use(requestLog(logger));
    app.use(healthRoutes(metrics.registry, redisReadiness(redis, logger), env.metricsToken));
    app.use(
      postbackRoutes({
        config,
        state: new PostbackState(redis, keys, config.retentionMs, 1 - 1 / config.learning.priceMemory),
        outbox: new NotificationOutbox(redis, keys),
        notifier,
        metrics,
        logger,
        now: () => new Date(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      }),
    );
    app.use((_req, res) => {
      res.status(404).json({ ok: false, reason: 'not_found' });
    });
    app.use(postbackErrors(logger));
    return app;
  };
  let app = build(live.current);
  const stopFollowing = live.onChange((config) => {
    notifier.setSuppliers(config.suppliers);
    app = build(config);
  });
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    app(req, res);
  };
  const server = await listen(handler, env.host, options.port ?? env.postbackPort, env.http);
  const port = boundPort(server);
  logger.info({ port, host: env.host }, 'postback listening');
  return {
    server,
    port,
    metrics,
    reload: () => {
      live.reloadFile('SIGHUP');
    },
    async close() {
      stopFollowing();
      await closeServer(server);
      await notifier.close();
      if (!options.live) await live.close();
      redis.disconnect();
    },
  };
}

/** Refused bodies get their 4xx; a Redis failure is a 503 the destination should retry; nothing else is expected. */
function postbackErrors(logger: Logger): ErrorRequestHandler {
  return (err: Error, req, res, _next) => {
    if (err instanceof BodyError) {
      res.setHeader('Connection', 'close');
      res.on('finish', () => setImmediate(() => req.destroy()));
      res.status(err.status).json({ ok: false, reason: err.reason === 'too_large' ? 'too_large' : 'invalid', errors: [{ field: 'body', message: err.message }] });
      return;
    }
    const refused = clientError(err);
    if (refused) {
      // The buyer's mistake (a malformed path): a 4xx, never a 503 that invites retries for ever.
      res.status(refused.status).json({ ok: false, reason: refused.reason, errors: [{ field: refused.field, message: refused.message }] });
      return;
    }
    logger.warn({ err: err.message }, 'postback not processed');
    if (!res.headersSent) res.status(503).setHeader('Retry-After', '1').json({ ok: false, reason: 'unavailable' });
  };
}
