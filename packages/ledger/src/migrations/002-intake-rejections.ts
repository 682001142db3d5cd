import type { Kysely } from 'kysely';

/** Intake rejections, for the reports' `rejected`: keyed by their stream entry, so a repeat is stored once. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('intake_rejections')
    .addColumn('entry_id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('supplier', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('intake_rejections_at').on('intake_rejections').columns(['at', 'supplier']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('intake_rejections').execute();
}
