import type { Kysely } from 'kysely';

/**
 * Audit events arrive from Redis like lead changes (set-override.lua, a reload): keyed by their
 * stream entry, so a batch applied twice (a writer dying before its acknowledgement) stores each
 * once; and read newest first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('entry_id', 'text').execute();
  await db.schema.createIndex('audit_events_entry').unique().on('audit_events').column('entry_id').execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_at').execute();
  await db.schema.dropIndex('audit_events_entry').execute();
  await db.schema.alterTable('audit_events').dropColumn('entry_id').execute();
}
