import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import * as initial from './migrations/001-initial.js';
import * as intakeRejections from './migrations/002-intake-rejections.js';
import * as revenueBooked from './migrations/003-revenue-booked.js';
import * as queryIndexes from './migrations/004-query-indexes.js';
import * as auditEntries from './migrations/005-audit-entries.js';
import type { LedgerDatabase } from './schema.js';

/**
 * Kysely over both engines: `pg` for a real PostgreSQL (DATABASE_URL), PGlite (PostgreSQL compiled
 * to WebAssembly, in this process) for the all-in-one's embedded ledger. One query layer, one
 * dialect of SQL, typed queries: the same code runs on both, and the tests run it on both.
 */
export interface Ledger {
  db: Kysely<LedgerDatabase>;
  engine: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export type LedgerLocation = { databaseUrl: string } | { pgliteDir: string };

/** Migrations in order, compiled in (no directory scan): a new one is added here under a sortable name. */
const MIGRATIONS: Record<string, Migration> = {
  '001-initial': initial,
  '002-intake-rejections': intakeRejections,
  '003-revenue-booked': revenueBooked,
  '004-query-indexes': queryIndexes,
  '005-audit-entries': auditEntries,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** A pool on a real PostgreSQL; it connects on first use, so PostgreSQL may be down when it is made. */
export function openLedgerPool(databaseUrl: string): Ledger {
  // pg's types: bigint ids as strings (JSON-safe), timestamptz as Date, jsonb parsed.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, connectionTimeoutMillis: 5_000 });
  // A pool's idle client that loses its server emits 'error'; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<LedgerDatabase>({ dialect: new PostgresDialect({ pool }) });
  return { db, engine: 'postgres', close: () => db.destroy() };
}

export async function openLedger(location: LedgerLocation): Promise<Ledger> {
  if ('databaseUrl' in location) return openLedgerPool(location.databaseUrl);
  mkdirSync(location.pgliteDir, { recursive: true });
  const pglite = new PGlite(location.pgliteDir);
  const db = new Kysely<LedgerDatabase>({ dialect: new PGliteDialect(pglite) });
  // The dialect's destroy() closes the PGlite instance too.
  return { db, engine: 'pglite', close: () => db.destroy() };
}

/**
 * Runs the migrations not yet applied. Kysely's migrator takes a lock row in its own table (in a
 * transaction, SELECT … FOR UPDATE) so several processes starting at once run each migration once.
 */
export async function migrateLedger(db: Kysely<LedgerDatabase>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`ledger migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`);
  }
}
