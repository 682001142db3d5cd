/**
 * `npm start`: the all-in-one, every role in one process (intake, postback, worker), on the
 * default config unless told otherwise. Starts a private redis-server when no Redis is given or
 * found (contract §1).
 */
import { startIntake } from '@leadrouter/app-intake-api';
import { startPostback } from '@leadrouter/app-postback';
import { startWorker } from '@leadrouter/app-worker';
import { BUNDLED_CONFIG_PATH } from '@leadrouter/config';
import { createMetrics } from '@leadrouter/metrics';
import { runRole } from '@leadrouter/service';
import { ensureRedis } from './private-redis.js';

await runRole('all-in-one', async ({ env: givenEnv, config, configFile, logger }) => {
  const privateRedis = await ensureRedis(givenEnv.redisUrlGiven, logger);
  const env = privateRedis ? { ...givenEnv, redisUrl: privateRedis.url } : givenEnv;
  const roles: Array<{ close(): Promise<void> }> = [];
  // One process, one registry: /metrics on any of its ports shows the whole process (contract §7).
  const metrics = createMetrics();
  try {
    roles.push(await startWorker({ env, config, metrics, logger: logger.child({ role: 'worker' }) }));
    roles.push(await startPostback({ env, config, metrics, logger: logger.child({ role: 'postback' }) }));
    const intake = await startIntake({ env, config, metrics, logger: logger.child({ role: 'intake' }) });
    roles.push(intake);
    if (configFile === BUNDLED_CONFIG_PATH) {
      const demo = config.suppliers[0];
      // Printed on purpose (not a log line): the demo key is public, and the quick start needs it.
      console.log(
        `\nLeadRouter is running on the bundled demo config.\n` +
          `  demo supplier API key: ${demo?.apiKeys[0] ?? '(none)'}\n` +
          `  try: curl -s -X POST http://127.0.0.1:${intake.port}/v1/leads -H 'X-Api-Key: ${demo?.apiKeys[0] ?? ''}' ` +
          `-H 'Content-Type: application/json' -d '{"name":"Jane Roe","phone":"+14155552671","geo":"US","source":"Facebook"}'\n`,
      );
    }
  } catch (err) {
    await Promise.allSettled(roles.map((r) => r.close()));
    await privateRedis?.stop();
    throw err;
  }
  return {
    async close() {
      // Intake first (no new leads), then postbacks, then the worker finishes what it holds.
      for (const role of [...roles].reverse()) await role.close();
      await privateRedis?.stop();
    },
  };
});
