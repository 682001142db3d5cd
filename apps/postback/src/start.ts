import type { Server } from 'node:http';
import express from 'express';
import type { ResolvedConfig, ServiceEnv } from '@leadrouter/config';
import type { Logger } from '@leadrouter/logging';
import { createMetrics, type Metrics } from '@leadrouter/metrics';
import { createRedis, ping, waitForRedis } from '@leadrouter/redis';
import { closeServer, healthRoutes, httpMetrics, listen } from '@leadrouter/service';

export interface PostbackHandle {
  server: Server;
  port: number;
  metrics: Metrics;
  close(): Promise<void>;
}

export interface StartPostbackOptions {
  env: ServiceEnv;
  config: ResolvedConfig;
  logger: Logger;
  port?: number;
}

/**
 * The postback service. For now it serves health, readiness and metrics only; the postback
 * endpoints of contract §5 are the next step (issue "Postback service and supplier notifications").
 */
export async function startPostback(options: StartPostbackOptions): Promise<PostbackHandle> {
  const { env, logger } = options;
  const redis = createRedis(env.redisUrl, 'producer');
  await waitForRedis(redis, 3000);
  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(metrics, 'postback'));
  app.use(healthRoutes(metrics.registry, async () => ((await ping(redis, 500)) ? [] : ['redis unreachable'])));
  app.use((_req, res) => {
    res.status(404).json({ ok: false, reason: 'not_found' });
  });
  const server = await listen(app, env.host, options.port ?? env.postbackPort);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  logger.info({ port, host: env.host }, 'postback listening');
  return {
    server,
    port,
    metrics,
    async close() {
      await closeServer(server);
      redis.disconnect();
    },
  };
}
