import { sql, type Kysely } from 'kysely';

/**
 * What the ledger's reads need at size, as scripts/bench/ledger-queries.ts measured them on a million
 * leads (PostgreSQL 15, 2 cores):
 *
 * 1. Search filters as indexes in the keyset order (created_at DESC, id DESC) of GET /v1/leads:
 *    by source (as it is matched: lower(source)) and by geo. A page filtered on a common value walks
 *    one of them in order; a rare combination (a small source in a small geo) BitmapAnds them and
 *    sorts the few rows instead of scanning the table (first page: 290 ms → 26 ms). Status has none:
 *    a page of any status is found within a few thousand newest rows, and an index on it would be
 *    rewritten on every postback.
 *
 * 2. An hourly rollup for the reports: `report_hourly` (UTC hour × supplier) holds each group's
 *    counts and money, so a report by day, hour and/or supplier (in a timezone whose offsets are
 *    whole hours) reads a few thousand rows instead of joining every lead of the range with its
 *    sales (30 days by day and supplier: 3.6 s → 0.07 s). No index helps that join: joining the
 *    750,000 leads of 30 days with their sales alone takes half a second on two cores.
 *    Cost: `report_lead_facts`, about a fifth of the size of `leads`, and ~0.1 ms per lead written
 *    (measured on applyChanges batches of 100 leads).
 *    It is kept exact by triggers, whoever writes leads or sales (applyChanges, retention, a
 *    migration, by hand): each statement's changed leads are recomputed from the tables and their
 *    difference with `report_lead_facts` (what each lead last added to the rollup) is added to it.
 *    Recomputing from the tables, rather than from the transition rows, keeps it exact however
 *    statements and their triggers combine (an INSERT … ON CONFLICT DO UPDATE fires two, each
 *    seeing the statement's end state), and a lead's "sold" / "returned" are counted once however
 *    many sales it has, as the report's count(DISTINCT) does.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX leads_source_created ON leads (lower(source), created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX leads_geo_created ON leads (geo, created_at DESC, id DESC)`.execute(db);

  // What each lead adds to the rollup; money in numeric, so that adding and taking back never drifts.
  await sql`
    CREATE TABLE report_lead_facts (
      lead_id text PRIMARY KEY,
      hour timestamptz NOT NULL,
      supplier text NOT NULL,
      unsold boolean NOT NULL,
      sold boolean NOT NULL,
      returned boolean NOT NULL,
      standing_sales bigint NOT NULL,
      revenue_booked numeric NOT NULL,
      revenue_taken_back numeric NOT NULL
    )`.execute(db);
  await sql`
    CREATE TABLE report_hourly (
      hour timestamptz NOT NULL,
      supplier text NOT NULL,
      leads bigint NOT NULL,
      unsold bigint NOT NULL,
      sold bigint NOT NULL,
      returned bigint NOT NULL,
      standing_sales bigint NOT NULL,
      revenue_booked numeric NOT NULL,
      revenue_taken_back numeric NOT NULL,
      PRIMARY KEY (hour, supplier)
    )`.execute(db);

  // A lead's facts from the tables, as the report reads them: the lead's hour (UTC) and supplier,
  // unsold by its status, and over its sales (any number): sold if any, returned if any is, the
  // sales that stand (for supplierPayout) and the money. LATERAL: a lookup per lead, so refreshing
  // a few leads reads only their sales.
  await sql`
    CREATE VIEW report_lead_facts_now AS
    SELECT l.id AS lead_id, date_trunc('hour', l.created_at, 'UTC') AS hour, l.supplier, l.status = 'unsold' AS unsold,
           s.sales > 0 AS sold, s.returned > 0 AS returned, s.standing AS standing_sales,
           COALESCE(s.booked, 0) AS revenue_booked, COALESCE(s.taken_back, 0) AS revenue_taken_back
    FROM leads AS l
    CROSS JOIN LATERAL (
      SELECT count(*) AS sales, count(*) FILTER (WHERE status = 'returned') AS returned, count(*) FILTER (WHERE status <> 'returned') AS standing,
             sum(revenue_booked::numeric) AS booked, sum(revenue_taken_back::numeric) AS taken_back
      FROM sales WHERE sales.lead_id = l.id
    ) AS s`.execute(db);

  await sql`
    CREATE FUNCTION report_refresh(ids text[]) RETURNS void LANGUAGE plpgsql
    -- Planned for each call, with its ids: PL/pgSQL would otherwise keep a generic plan made while the
    -- tables were small (a fresh ledger), and go on scanning them whole once they are not.
    SET plan_cache_mode = force_custom_plan AS $$
    DECLARE
      emptied_hours timestamptz[];
      emptied_suppliers text[];
    BEGIN
      -- One refresh of a lead at a time: a concurrent transaction changing the same lead waits for
      -- this one, then sees its facts (READ COMMITTED: each statement here takes a new snapshot).
      PERFORM 1 FROM leads WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
      WITH now_ AS (SELECT * FROM report_lead_facts_now WHERE lead_id = ANY(ids)),
      was AS (SELECT * FROM report_lead_facts WHERE lead_id = ANY(ids)),
      changed AS (
        SELECT n.lead_id AS n_id, n.hour AS n_hour, n.supplier AS n_supplier, n.unsold AS n_unsold, n.sold AS n_sold, n.returned AS n_returned,
               n.standing_sales AS n_standing, n.revenue_booked AS n_booked, n.revenue_taken_back AS n_taken_back,
               w.lead_id AS w_id, w.hour AS w_hour, w.supplier AS w_supplier, w.unsold AS w_unsold, w.sold AS w_sold, w.returned AS w_returned,
               w.standing_sales AS w_standing, w.revenue_booked AS w_booked, w.revenue_taken_back AS w_taken_back
        FROM now_ AS n FULL JOIN was AS w ON w.lead_id = n.lead_id
        WHERE (n.hour, n.supplier, n.unsold, n.sold, n.returned, n.standing_sales, n.revenue_booked, n.revenue_taken_back)
              IS DISTINCT FROM (w.hour, w.supplier, w.unsold, w.sold, w.returned, w.standing_sales, w.revenue_booked, w.revenue_taken_back)
      ),
      put AS (
        INSERT INTO report_lead_facts AS f (lead_id, hour, supplier, unsold, sold, returned, standing_sales, revenue_booked, revenue_taken_back)
        SELECT n_id, n_hour, n_supplier, n_unsold, n_sold, n_returned, n_standing, n_booked, n_taken_back FROM changed WHERE n_id IS NOT NULL
        ON CONFLICT (lead_id) DO UPDATE SET hour = excluded.hour, supplier = excluded.supplier, unsold = excluded.unsold, sold = excluded.sold,
          returned = excluded.returned, standing_sales = excluded.standing_sales, revenue_booked = excluded.revenue_booked, revenue_taken_back = excluded.revenue_taken_back
      ),
      gone AS (
        DELETE FROM report_lead_facts AS f USING changed WHERE changed.n_id IS NULL AND f.lead_id = changed.w_id
      ),
      delta AS (
        SELECT hour, supplier, sum(leads) AS leads, sum(unsold) AS unsold, sum(sold) AS sold, sum(returned) AS returned,
               sum(standing_sales) AS standing_sales, sum(revenue_booked) AS revenue_booked, sum(revenue_taken_back) AS revenue_taken_back
        FROM (
          SELECT n_hour AS hour, n_supplier AS supplier, 1 AS leads, n_unsold::int AS unsold, n_sold::int AS sold, n_returned::int AS returned,
                 n_standing AS standing_sales, n_booked AS revenue_booked, n_taken_back AS revenue_taken_back
          FROM changed WHERE n_id IS NOT NULL
          UNION ALL
          SELECT w_hour, w_supplier, -1, -(w_unsold::int), -(w_sold::int), -(w_returned::int), -w_standing, -w_booked, -w_taken_back
          FROM changed WHERE w_id IS NOT NULL
        ) AS d
        GROUP BY hour, supplier
      ),
      up AS (
        -- In key order, so that concurrent writers lock rollup rows in one order.
        INSERT INTO report_hourly AS r (hour, supplier, leads, unsold, sold, returned, standing_sales, revenue_booked, revenue_taken_back)
        SELECT * FROM delta
        WHERE (leads, unsold, sold, returned, standing_sales, revenue_booked, revenue_taken_back) <> (0, 0, 0, 0, 0, 0, 0)
        ORDER BY hour, supplier
        ON CONFLICT (hour, supplier) DO UPDATE SET leads = r.leads + excluded.leads, unsold = r.unsold + excluded.unsold, sold = r.sold + excluded.sold,
          returned = r.returned + excluded.returned, standing_sales = r.standing_sales + excluded.standing_sales,
          revenue_booked = r.revenue_booked + excluded.revenue_booked, revenue_taken_back = r.revenue_taken_back + excluded.revenue_taken_back
        RETURNING r.hour, r.supplier, r.leads
      )
      SELECT array_agg(hour), array_agg(supplier) INTO emptied_hours, emptied_suppliers FROM up WHERE leads = 0;
      -- A group whose last lead went (retention) goes too; every other count of a group without leads is 0.
      IF emptied_hours IS NOT NULL THEN
        DELETE FROM report_hourly AS r USING unnest(emptied_hours, emptied_suppliers) AS e(hour, supplier)
        WHERE r.hour = e.hour AND r.supplier = e.supplier AND r.leads = 0;
      END IF;
    END $$`.execute(db);

  // Statement-level, with transition tables: one refresh per statement, of the leads it changed.
  await sql`
    CREATE FUNCTION report_leads_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids text[];
    BEGIN
      -- The ledger writer refreshes once per transaction itself (apply.ts): every other writer (retention, by hand) is followed here.
      IF current_setting('leadrouter.rollup_deferred', true) = 'on' THEN RETURN NULL; END IF;
      IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT id FROM new_rows);
      ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT id FROM old_rows);
      ELSE
        -- Only what the rollup reads: most updates (status after a postback, anonymisation) change none of it.
        ids := ARRAY(
          SELECT n.id FROM new_rows AS n LEFT JOIN old_rows AS o ON o.id = n.id
          WHERE o.id IS NULL OR o.created_at <> n.created_at OR o.supplier <> n.supplier OR (o.status = 'unsold') <> (n.status = 'unsold')
          UNION
          SELECT o.id FROM old_rows AS o LEFT JOIN new_rows AS n ON n.id = o.id WHERE n.id IS NULL);
      END IF;
      IF cardinality(ids) > 0 THEN PERFORM report_refresh(ids); END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION report_sales_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids text[];
    BEGIN
      -- The ledger writer refreshes once per transaction itself (apply.ts): every other writer (retention, by hand) is followed here.
      IF current_setting('leadrouter.rollup_deferred', true) = 'on' THEN RETURN NULL; END IF;
      IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT lead_id FROM new_rows);
      ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT lead_id FROM old_rows);
      ELSE
        -- The sales' key, returned or not and money: a postback that re-sends a status changes none of it.
        ids := ARRAY(
          SELECT n.lead_id FROM new_rows AS n LEFT JOIN old_rows AS o ON o.lead_id = n.lead_id AND o.destination = n.destination
          WHERE o.lead_id IS NULL OR (o.status = 'returned') <> (n.status = 'returned')
             OR o.revenue_booked <> n.revenue_booked OR o.revenue_taken_back <> n.revenue_taken_back
          UNION
          SELECT o.lead_id FROM old_rows AS o LEFT JOIN new_rows AS n ON n.lead_id = o.lead_id AND n.destination = o.destination WHERE n.lead_id IS NULL);
      END IF;
      IF cardinality(ids) > 0 THEN PERFORM report_refresh(ids); END IF;
      RETURN NULL;
    END $$`.execute(db);
  // Transition tables allow one event per trigger: three per table.
  for (const table of ['leads', 'sales'] as const) {
    const fn = sql.raw(table === 'leads' ? 'report_leads_changed' : 'report_sales_changed');
    const t = sql.raw(table);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_report_insert`)} AFTER INSERT ON ${t} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_report_update`)} AFTER UPDATE ON ${t} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_report_delete`)} AFTER DELETE ON ${t} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`.execute(db);
  }

  // From scratch: the backfill here, and after a TRUNCATE (which fires no row changes).
  await sql`
    CREATE FUNCTION report_rebuild() RETURNS void LANGUAGE sql AS $$
      DELETE FROM report_hourly;
      DELETE FROM report_lead_facts;
      INSERT INTO report_lead_facts SELECT * FROM report_lead_facts_now;
      INSERT INTO report_hourly (hour, supplier, leads, unsold, sold, returned, standing_sales, revenue_booked, revenue_taken_back)
      SELECT hour, supplier, count(*), count(*) FILTER (WHERE unsold), count(*) FILTER (WHERE sold), count(*) FILTER (WHERE returned),
             sum(standing_sales), sum(revenue_booked), sum(revenue_taken_back)
      FROM report_lead_facts GROUP BY hour, supplier;
    $$`.execute(db);
  await sql`
    CREATE FUNCTION report_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM report_rebuild();
      RETURN NULL;
    END $$`.execute(db);
  await sql`CREATE TRIGGER leads_report_truncate AFTER TRUNCATE ON leads FOR EACH STATEMENT EXECUTE FUNCTION report_truncated()`.execute(db);
  await sql`CREATE TRIGGER sales_report_truncate AFTER TRUNCATE ON sales FOR EACH STATEMENT EXECUTE FUNCTION report_truncated()`.execute(db);
  await sql`SELECT report_rebuild()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['leads', 'sales']) {
    for (const event of ['insert', 'update', 'delete', 'truncate']) await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${table}_report_${event}`)} ON ${sql.raw(table)}`.execute(db);
  }
  for (const fn of ['report_truncated()', 'report_rebuild()', 'report_sales_changed()', 'report_leads_changed()', 'report_refresh(text[])']) await sql`DROP FUNCTION IF EXISTS ${sql.raw(fn)}`.execute(db);
  await sql`DROP VIEW IF EXISTS report_lead_facts_now`.execute(db);
  await sql`DROP TABLE IF EXISTS report_hourly`.execute(db);
  await sql`DROP TABLE IF EXISTS report_lead_facts`.execute(db);
  await sql`DROP INDEX IF EXISTS leads_geo_created`.execute(db);
  await sql`DROP INDEX IF EXISTS leads_source_created`.execute(db);
}
