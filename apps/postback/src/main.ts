/** `npm run start:postback`: the postback service alone (contract §1). */
import { runRole } from '@leadrouter/service';
import { startPostback } from './start.js';

await runRole('postback', async ({ env, config, configFile, logger }) => startPostback({ env, config, configFile, logger }));
