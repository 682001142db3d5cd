/** `npm run start:intake`: the intake API alone (contract §1). */
import { runRole } from '@leadrouter/service';
import { startIntake } from './start.js';

await runRole('intake', async ({ env, config, configFile, logger }) => startIntake({ env, config, configFile, logger }));
