/**
 * `npm start`: the all-in-one, every role in one process (intake, postback, worker), on the
 * default config unless told otherwise. Starts a private redis-server when no Redis is given or
 * found (contract §1).
 */
import { startIntake } from '@leadrouter/app-intake-api';
import { startPostback } from '@leadrouter/app-postback';
import { startWorker } from '@leadrouter/app-worker';
import { startLedger } from '@leadrouter/app-ledger';
import { BUNDLED_CONFIG_PATH } from '@leadrouter/config';
import { createMetrics } from '@leadrouter/metrics';
import { LiveConfig, runRole } from '@leadrouter/service';
import { redisKeys } from '@leadrouter/redis';
import { demoBanner } from './banner.js';
import { ensureRedis } from './private-redis.js';
import { openAllInOneLedger } from './embedded-ledger.js';

await runRole('all-in-one', async ({ env: givenEnv, config, configFile, logger, useRedis }) => {
  const privateRedis = await ensureRedis(givenEnv.redisUrlGiven, logger);
  // Whatever way the process leaves (a shutdown cut short, a second Ctrl-C), its own Redis goes too.
  if (privateRedis) process.once('exit', () => privateRedis.stopNow());
  // The all-in-one keeps a ledger: DATABASE_URL's, else an embedded PostgreSQL (PGlite); none only when told so.
  const env = { ...givenEnv, ...(privateRedis ? { redisUrl: privateRedis.url } : {}), ledger: !givenEnv.ledgerOff };
  const redisWarnings = await useRedis(env.redisUrl, privateRedis ? 'private' : givenEnv.redisCluster ? 'REDIS_CLUSTER_NODES' : givenEnv.redisUrlGiven ? 'REDIS_URL' : 'default');
  const roles: Array<{ name: string; close(): Promise<void> }> = [];
  // One process, one registry: /metrics on any of its ports shows the whole process (contract §7).
  const metrics = createMetrics();
  const ledger = givenEnv.ledgerOff ? undefined : await openAllInOneLedger(givenEnv, logger);
  if (!ledger) logger.warn('lead ledger: off (LEADROUTER_LEDGER=off): no search, export or reports, and Redis keeps every lead whole');
  // One live config for every role of the process: one subscription, one reload, one hash.
  const live = new LiveConfig({ redisUrl: env.redisUrl, keys: redisKeys(env.prefix, { ledger: env.ledger }), config, configFile, logger, metrics, role: 'all-in-one' });
  await live.start();
  try {
    if (ledger) {
      const writer = await startLedger({ env, ledger, metrics, retention: config.ledger, logger: logger.child({ role: 'ledger' }), serve: false });
      live.onChange((running) => writer.writer.setRetention(running.ledger));
      roles.push({ name: 'ledger writer', close: () => writer.close() });
    }
    const worker = await startWorker({ env, config, live, metrics, logger: logger.child({ role: 'worker' }) });
    roles.push({ name: 'worker (jobs in hand, queues)', close: () => worker.close() });
    const postback = await startPostback({ env, config, live, metrics, logger: logger.child({ role: 'postback' }) });
    roles.push({ name: 'postback', close: () => postback.close() });
    const intake = await startIntake({ env, config, live, metrics, ...(ledger ? { ledger } : {}), logger: logger.child({ role: 'intake' }) });
    roles.push({ name: 'intake', close: () => intake.close() });
    const demoKey = config.suppliers[0]?.apiKeys[0];
    if (configFile === BUNDLED_CONFIG_PATH && demoKey) console.log(demoBanner(intake.port, demoKey, redisWarnings));
  } catch (err) {
    await Promise.allSettled(roles.map((r) => r.close()));
    await live.close();
    await ledger?.close();
    await privateRedis?.stop();
    throw err;
  }
  return {
    reload: () => {
      live.reloadFile('SIGHUP');
    },
    async close(step) {
      // Intake first (no new leads), then postbacks, then the worker finishes what it holds.
      for (const role of [...roles].reverse()) await step(role.name, () => role.close());
      await step('live config', () => live.close());
      if (ledger) await step('ledger', () => ledger.close(), { needsRedis: false });
      // Bounded by itself (SIGKILL after 5 s), and it needs no Redis to finish: it is the Redis.
      if (privateRedis) await step('private redis-server', () => privateRedis.stop(), { needsRedis: false });
    },
  };
}, { picksRedis: true });
