import { sql, type Kysely } from 'kysely';

/** The first schema: leads, their events, sales (room for shared sales) and audit events. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('leads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('supplier', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('geo', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('destination', 'text')
    .addColumn('payout', sql`double precision`)
    .addColumn('route', 'text')
    .addColumn('quality', sql`double precision`, (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sold_at', 'timestamptz')
    .addColumn('name', 'text')
    .addColumn('phone', 'text')
    .addColumn('phone_national', 'text')
    .addColumn('email', 'text')
    .addColumn('click_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('fields', 'jsonb', (c) => c.notNull())
    .addColumn('phone_digest', 'text', (c) => c.notNull())
    .addColumn('email_digest', 'text')
    .addColumn('last_seq', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // Newest first, by supplier or for everyone: the keyset order of GET /v1/leads.
  await db.schema.createIndex('leads_supplier_created').on('leads').columns(['supplier', 'created_at desc', 'id desc']).execute();
  await db.schema.createIndex('leads_created').on('leads').columns(['created_at desc', 'id desc']).execute();
  await db.schema.createIndex('leads_phone_digest').on('leads').column('phone_digest').execute();
  await db.schema.createIndex('leads_email_digest').on('leads').column('email_digest').execute();

  await db.schema
    .createTable('lead_events')
    .addColumn('lead_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('body', 'jsonb', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('lead_events_pk', ['lead_id', 'seq'])
    .execute();

  await db.schema
    .createTable('sales')
    .addColumn('lead_id', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('payout', sql`double precision`, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('sold_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('sales_pk', ['lead_id', 'destination'])
    .execute();
  await db.schema.createIndex('sales_destination_sold').on('sales').columns(['destination', 'sold_at']).execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_events', 'sales', 'lead_events', 'leads']) await db.schema.dropTable(table).execute();
}
