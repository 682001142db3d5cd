/** `npm run start:ledger`: a ledger writer alone (contract §1, §10); any number of them. */
import { runRole } from '@leadrouter/service';
import { startLedger } from './start.js';

await runRole('ledger', async ({ env, config, configFile, logger }) => startLedger({ env, logger, retention: config.ledger, config, configFile }));
