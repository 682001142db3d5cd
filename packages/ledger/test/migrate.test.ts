import { describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { freshDatabase } from '@leadrouter/testing';
import { migrateLedger, openLedger } from '../src/index.js';

/** Contract §10: migrations run at start, safe when several processes start at once. */
describe('migrations on PostgreSQL', () => {
  test('three processes migrating one empty database at once: each migration runs once, and all three start', async () => {
    const db = await freshDatabase();
    const ledgers = await Promise.all([1, 2, 3].map(() => openLedger({ databaseUrl: db.url })));
    try {
      await Promise.all(ledgers.map((l) => migrateLedger(l.db)));
      const first = ledgers[0];
      if (!first) throw new Error('no ledger');
      const ran = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(first.db);
      expect(ran.rows.map((r) => r.name)).toEqual(['001-initial', '002-intake-rejections', '003-revenue-booked', '004-query-indexes', '005-audit-entries']);
      // The schema is whole: the rollup's triggers exist once each.
      const triggers = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_trigger WHERE tgname LIKE '%_report_%'`.execute(first.db);
      expect(Number(triggers.rows[0]?.n)).toBe(8);
    } finally {
      await Promise.all(ledgers.map((l) => l.close()));
      await db.drop();
    }
  });
});
