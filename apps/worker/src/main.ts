/** `npm run start:worker`: one worker process (run any number of them; contract §1). */
import { runRole } from '@leadrouter/service';
import { startWorker } from './start.js';

await runRole('worker', async ({ env, config, configFile, logger }) => startWorker({ env, config, configFile, logger }));
