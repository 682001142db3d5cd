import type { ServiceEnv } from '@leadrouter/config';
import { migrateLedger, openLedger, type Ledger } from '@leadrouter/ledger';
import type { Logger } from '@leadrouter/logging';

/** DATABASE_URL's PostgreSQL, else PGlite under ./.data/ledger (contract §10); migrated, and said in the log. */
export async function openAllInOneLedger(env: Pick<ServiceEnv, 'databaseUrl' | 'ledgerDir'>, logger: Logger): Promise<Ledger> {
  const ledger = await openLedger(env.databaseUrl ? { databaseUrl: env.databaseUrl } : { pgliteDir: env.ledgerDir });
  await migrateLedger(ledger.db);
  if (env.databaseUrl) logger.info('lead ledger: the PostgreSQL of DATABASE_URL');
  else logger.info({ dir: env.ledgerDir }, 'lead ledger: embedded PostgreSQL (PGlite), no DATABASE_URL given');
  return ledger;
}
