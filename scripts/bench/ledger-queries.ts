/**
 * `node --import tsx scripts/bench/ledger-queries.ts [--leads 1000000] [--days 40] [--events 3] [--runs 5] [--explain all] [--export-budget 60] [--hold]`
 *
 * The lead ledger's queries at size, on a real PostgreSQL: a private server (startPostgres, never
 * the machine's own on 5432), the ledger's migrations, `--leads` leads seeded server-side over
 * `--days` days ending now (with their sales, `--events` events each and a few % of intake
 * rejections; secondary indexes built and the report rollup filled after the load, which is
 * quicker), VACUUM ANALYZE, then each query timed warm (one untimed run, then `--runs` timed ones:
 * median and max) through the real functions of @leadrouter/ledger (reportRows, searchLeads) and,
 * for the CSV export, the same page loop as GET /v1/leads/export.csv writing through csv-stringify
 * into a sink that discards. Checks that the report from the rollup agrees with the report from
 * the leads. Prints a table, the EXPLAIN (ANALYZE, BUFFERS) of the slowest query (of every query
 * with `--explain all`), and writes bench-results/ledger-queries.json. The server is stopped at
 * the end, on error and on SIGINT. Seeding a million leads takes about 1.5 minutes, the whole run 3.
 *
 * Targets (1,000,000 leads): 30-day report by day and supplier ≤ 300 ms; search by phone ≤ 20 ms;
 * first page of a filtered search ≤ 50 ms; export ≥ 50,000 rows/s.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import type { SupplierPayoutTerms } from '@leadrouter/config';
import { exportColumns, exportPage, migrateLedger, openLedger, reportRows, searchLeads, type LeadCursor, type LeadFilters, type Ledger, type LedgerDatabase } from '@leadrouter/ledger';
import { contactDigest } from '@leadrouter/store';
import { startPostgres, type OwnedPostgres } from '@leadrouter/testing';

const ROOT = resolve(import.meta.dirname, '../..');
const DAY_MS = 86_400_000;

interface Args {
  leads: number;
  days: number;
  events: number;
  runs: number;
  explainAll: boolean;
  /** Seconds an export may take before it is cut short (its rate so far is still reported). */
  exportBudgetSeconds: number;
  /** Keep the seeded server up at the end, until Ctrl-C, to look at plans by hand (psql on the printed URL). */
  hold: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const whole = (name: string, fallback: number, min: number): number => {
    const raw = get(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number ≥ ${min}`);
    return value;
  };
  return {
    leads: whole('leads', 1_000_000, 1000),
    // 40 days: the 30-day report then spans three quarters of the ledger, close to the worst case.
    days: whole('days', 40, 31),
    events: whole('events', 3, 0),
    runs: whole('runs', 5, 1),
    explainAll: get('explain') === 'all',
    exportBudgetSeconds: whole('export-budget', 60, 1),
    hold: argv.includes('--hold'),
  };
}

const args = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// The data: names as the product's config would have them, picked with a skew (a few big
// suppliers, sources and geos, a long tail), as real traffic is.

const SOURCES = [
  'Facebook', 'Google', 'TikTok', 'Bing', 'Taboola', 'Outbrain', 'Snapchat', 'Pinterest', 'LinkedIn', 'Twitter',
  'YouTube', 'Instagram', 'Reddit', 'Quora', 'Yahoo', 'Native', 'Email', 'SMS', 'Affiliate', 'Organic',
  'Referral', 'Display', 'Push', 'Zemanta', 'MGID', 'RevContent', 'Criteo', 'AdRoll', 'Amazon', 'Apple',
];
const GEOS = ['US', 'CA', 'GB', 'AU', 'DE', 'FR', 'MX', 'BR', 'IN', 'ES'];
const SUPPLIERS = Array.from({ length: 20 }, (_v, i) => `sup-${String(i + 1).padStart(2, '0')}`);
const DESTINATIONS = Array.from({ length: 10 }, (_v, i) => `buyer-${String(i + 1).padStart(2, '0')}`);
const ROUTES = Array.from({ length: 8 }, (_v, i) => `route-${i + 1}`);
/** What each supplier is owed per sold lead (config `supplierPayout`), for the report's CASE. */
const SUPPLIER_PAYOUTS: Record<string, SupplierPayoutTerms> = Object.fromEntries(SUPPLIERS.map((id, i) => [id, { fixed: 4 + (i % 5) }]));

const sqlArray = (values: readonly string[]): string => `ARRAY[${values.map((v) => `'${v}'`).join(',')}]::text[]`;

/**
 * One server-side statement per table (INSERT … SELECT FROM generate_series): no rows cross the
 * wire. random() is seeded first, in the same session, so every run seeds the same ledger.
 * Shares of statuses: delivered 42 %, unsold 24 %, accepted 12 %, converted 8 %, returned 8 %,
 * rejected 5 %, queued 1 %. Every lead with a destination has its sale (exclusive sales, as
 * applyChanges writes them), in the lead's status.
 */
function seedStatements(n: number, days: number, events: number, revenueColumns: boolean): Array<{ label: string; sql: string }> {
  const leads = `
    INSERT INTO leads (id, supplier, source, geo, status, reason, destination, payout, route, quality, created_at, sold_at,
                       name, phone, phone_national, email, click_id, ip, fields, phone_digest, email_digest, last_seq, updated_at)
    SELECT
      -- ULID-like: the creation time first (so ids sort by time, as ULIDs do), then randomness.
      upper(lpad(to_hex((extract(epoch FROM t.created_at) * 1000)::bigint), 12, '0') || substr(md5(t.i::text), 1, 14)),
      t.supplier, t.source, t.geo, t.status,
      CASE WHEN t.status = 'unsold' THEN (CASE WHEN t.r_reason < 0.3 THEN 'no_route' ELSE 'no_buyer' END) END,
      t.destination,
      CASE WHEN t.destination IS NOT NULL THEN round((t.base_payout * (0.8 + 0.4 * t.r_payout))::numeric, 2)::double precision END,
      CASE WHEN t.status = 'unsold' AND t.r_reason < 0.3 THEN NULL ELSE t.route END,
      round(t.r_quality::numeric, 3)::double precision,
      t.created_at,
      CASE WHEN t.destination IS NOT NULL THEN t.created_at + interval '2 seconds' END,
      'Lead ' || t.i,
      t.phone,
      '(' || substr(t.phone, 3, 3) || ') ' || substr(t.phone, 6, 3) || '-' || substr(t.phone, 9, 4),
      t.email,
      CASE WHEN t.r_click < 0.6 THEN substr(md5('click' || t.i), 1, 20) END,
      '10.' || (t.i % 250) || '.' || ((t.i / 250) % 250) || '.' || ((t.i / 62500) % 250),
      jsonb_build_object('zip', lpad((t.i % 99999)::text, 5, '0'), 'consent', true),
      encode(sha256(convert_to(t.phone, 'UTF8')), 'hex'),
      CASE WHEN t.email IS NOT NULL THEN encode(sha256(convert_to(lower(t.email), 'UTF8')), 'hex') END,
      ${events},
      t.created_at + interval '5 seconds'
    FROM (
      SELECT s.*,
        CASE WHEN s.status IN ('unsold', 'queued') THEN NULL ELSE (${sqlArray(DESTINATIONS)})[1 + floor(10 * power(s.r_dest, 1.5))::int] END AS destination,
        5 + 3 * floor(10 * power(s.r_dest, 1.5)) AS base_payout
      FROM (
        SELECT r.*,
          -- Spread evenly over the days, in order (as a ledger fills), ending now.
          now() - interval '${days} days' + (r.i - 1 + r.r_jitter) * interval '${days} days' / ${n} AS created_at,
          (${sqlArray(SUPPLIERS)})[1 + floor(20 * power(r.r_supplier, 2))::int] AS supplier,
          (${sqlArray(SOURCES)})[1 + floor(30 * power(r.r_source, 2))::int] AS source,
          (${sqlArray(GEOS)})[1 + floor(10 * power(r.r_geo, 2.5))::int] AS geo,
          CASE
            WHEN r.r_status < 0.42 THEN 'delivered' WHEN r.r_status < 0.66 THEN 'unsold' WHEN r.r_status < 0.78 THEN 'accepted'
            WHEN r.r_status < 0.86 THEN 'converted' WHEN r.r_status < 0.94 THEN 'returned' WHEN r.r_status < 0.99 THEN 'rejected'
            ELSE 'queued'
          END AS status,
          (${sqlArray(ROUTES)})[1 + floor(8 * r.r_route)::int] AS route,
          '+1' || (2012000000 + r.i) AS phone,
          CASE WHEN r.r_email < 0.7 THEN 'Lead' || r.i || '@Example.com' END AS email
        FROM (
          SELECT i, random() AS r_jitter, random() AS r_supplier, random() AS r_source, random() AS r_geo, random() AS r_status,
                 random() AS r_dest, random() AS r_payout, random() AS r_route, random() AS r_quality, random() AS r_email,
                 random() AS r_click, random() AS r_reason
          FROM generate_series(1, ${n}) AS i
        ) AS r
      ) AS s
    ) AS t`;
  // The money columns of migration 003 when the schema has them: booked at the payout, taken back whole on a return.
  const sales = revenueColumns
    ? `INSERT INTO sales (lead_id, destination, payout, status, sold_at, revenue_booked, revenue_taken_back)
       SELECT id, destination, payout, status, sold_at, payout, CASE WHEN status = 'returned' THEN payout ELSE 0 END FROM leads WHERE destination IS NOT NULL`
    : `INSERT INTO sales (lead_id, destination, payout, status, sold_at) SELECT id, destination, payout, status, sold_at FROM leads WHERE destination IS NOT NULL`;
  // received, then routed (delivered/unsold), then the postback's status when there was one.
  const leadEvents = `
    INSERT INTO lead_events (lead_id, seq, at, type, body, state)
    SELECT l.id, e.seq, l.created_at + (e.seq - 1) * interval '2 seconds', e.type,
           jsonb_build_object('type', e.type, 'at', (extract(epoch FROM l.created_at) * 1000)::bigint + (e.seq - 1) * 2000, 'source', l.source),
           jsonb_build_object('status', CASE WHEN e.seq = 1 THEN 'queued' ELSE l.status END, 'destination', COALESCE(l.destination, ''))
    FROM leads AS l
    CROSS JOIN LATERAL (VALUES (1, 'received'), (2, CASE WHEN l.destination IS NULL THEN 'unsold' ELSE 'delivered' END), (3, 'postback')) AS e(seq, type)
    WHERE e.seq <= ${events}`;
  const rejections = `
    INSERT INTO intake_rejections (entry_id, at, supplier, reason)
    SELECT (extract(epoch FROM r.at) * 1000)::bigint || '-' || r.i, r.at,
           (${sqlArray(SUPPLIERS)})[1 + floor(20 * power(random(), 2))::int],
           (ARRAY['invalid', 'rate_limited', 'duplicate', 'unauthorized'])[1 + floor(4 * random())::int]
    FROM (SELECT i, now() - interval '${days} days' + random() * interval '${days} days' AS at FROM generate_series(1, ${Math.round(n * 0.03)}) AS i) AS r`;
  return [
    { label: 'leads', sql: leads },
    { label: 'sales', sql: sales },
    ...(events > 0 ? [{ label: 'lead_events', sql: leadEvents }] : []),
    { label: 'intake_rejections', sql: rejections },
  ];
}

// ---------------------------------------------------------------------------------------------
// The export: the page loop of GET /v1/leads/export.csv (apps/intake-api/src/routes/ledger-reads.ts),
// as the admin runs it, through the same exportPage and csv-stringify.

const EXPORT_PAGE = 5000;

async function exportCsv(db: Kysely<LedgerDatabase>, filters: LeadFilters, budgetMs: number): Promise<{ rows: number; bytes: number; ms: number; complete: boolean }> {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  const finished = new Promise<void>((resolveFinished, reject) => {
    sink.once('finish', resolveFinished);
    sink.once('error', reject);
  });
  const started = performance.now();
  const csv = stringify({ header: true, columns: exportColumns(true) });
  csv.pipe(sink);
  let rows = 0;
  let complete = true;
  let cursor: LeadCursor | undefined;
  for (;;) {
    const page = await exportPage(db, filters, { limit: EXPORT_PAGE, ...(cursor ? { cursor } : {}) }, { admin: true, pii: false });
    for (const row of page.rows) {
      if (!csv.write(row)) await new Promise((resolveDrain) => csv.once('drain', resolveDrain));
      rows += 1;
    }
    if (!page.next) break;
    if (performance.now() - started > budgetMs) {
      complete = false;
      break;
    }
    cursor = page.next;
  }
  csv.end();
  await finished;
  return { rows, bytes, ms: performance.now() - started, complete };
}

// ---------------------------------------------------------------------------------------------
// Timing and plans

interface Timed {
  name: string;
  /** The target; none for a figure shown for information. */
  target?: { maxMs: number };
  medianMs: number;
  maxMs: number;
  runsMs: number[];
  /** Rows the query returned (first run): a query that matches nothing would time nothing. */
  rows: number;
  pass?: boolean;
  /** The statements the query sent (captured on a logging connection), for EXPLAIN. */
  statements: CompiledQuery[];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const round1 = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * The statements a query sends: the same function run once more on a Kysely whose log hook keeps
 * the compiled SQL and parameters, so EXPLAIN sees exactly what the ledger's code sends.
 */
class StatementRecorder {
  private recording: CompiledQuery[] | undefined;
  readonly db: Kysely<LedgerDatabase>;

  constructor(pool: pg.Pool) {
    this.db = new Kysely<LedgerDatabase>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') this.recording?.push(event.query);
      },
    });
  }

  async record(run: (db: Kysely<LedgerDatabase>) => Promise<unknown>): Promise<CompiledQuery[]> {
    this.recording = [];
    try {
      await run(this.db);
      return this.recording;
    } finally {
      this.recording = undefined;
    }
  }
}

async function timeQuery(
  ledger: Ledger,
  recorder: StatementRecorder,
  name: string,
  target: Timed['target'],
  run: (db: Kysely<LedgerDatabase>, attempt: number) => Promise<number>,
): Promise<Timed> {
  // attempt -1 is the untimed warm-up; each timed run may vary its input (the phone searches do).
  const rows = await run(ledger.db, -1);
  const runsMs: number[] = [];
  for (let attempt = 0; attempt < args.runs; attempt++) {
    const started = performance.now();
    await run(ledger.db, attempt);
    runsMs.push(round1(performance.now() - started));
  }
  const statements = await recorder.record((db) => run(db, 0));
  const timed: Timed = { name, medianMs: round1(median(runsMs)), maxMs: Math.max(...runsMs), runsMs, rows, statements };
  if (target) {
    timed.target = target;
    timed.pass = timed.medianMs <= target.maxMs;
  }
  process.stderr.write(`  ${name}: median ${timed.medianMs} ms, max ${timed.maxMs} ms, ${rows} rows\n`);
  return timed;
}

async function explain(client: pg.Client, statement: CompiledQuery): Promise<string> {
  // Parameters as the functions bind them (extended protocol): the plan is the one they get.
  const result = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, [...statement.parameters]);
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
}

// ---------------------------------------------------------------------------------------------

let server: OwnedPostgres | undefined;

function stopOnSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: stopping the private PostgreSQL\n`);
  server?.stopSync();
  process.exit(130);
}

async function main(): Promise<void> {
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  // Whatever ends the process (an uncaught error included), the server does not outlive it; stopSync is idempotent.
  process.once('exit', () => server?.stopSync());

  const settings = {
    // The harness's 16 MB suits tests; a ledger server has far more. 512 MB holds the hot part of
    // a million leads, as a production cache would; the rest are PostgreSQL's defaults (work_mem 4 MB).
    shared_buffers: '512MB',
    maintenance_work_mem: '256MB',
    // Seeding writes a few GB of WAL: no checkpoint storm in the middle of it.
    max_wal_size: '8GB',
    checkpoint_timeout: '30min',
    // A benchmark must not race autovacuum: the script VACUUM ANALYZEs itself once the data is in.
    autovacuum: 'off',
  };
  // The machine is shared: the load before and after goes with the figures.
  const loadBefore = loadavg().map((l) => Math.round(l * 100) / 100);
  process.stderr.write('== starting a private PostgreSQL\n');
  server = await startPostgres({ database: 'leadrouter_bench', settings });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const ledger = await openLedger({ databaseUrl: server.url });
  const recorderPool = new pg.Pool({ connectionString: server.url, max: 2 });
  const recorder = new StatementRecorder(recorderPool);
  try {
    const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
    await migrateLedger(ledger.db);
    const migrations = (await client.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')).rows.map((r) => r.name);
    process.stderr.write(`== PostgreSQL ${version}; migrations: ${migrations.join(', ')}\n`);

    process.stderr.write(`== seeding ${args.leads} leads over ${args.days} days\n`);
    const seed: Record<string, number> = {};
    const seedStarted = performance.now();
    await client.query('SELECT setseed(0.42)');
    const revenueColumns = (await client.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'sales' AND column_name = 'revenue_booked'")).rowCount === 1;
    // A bulk load is quickest into bare tables: the migrations' secondary indexes are dropped and
    // built again afterwards from their own definitions (pg_indexes), and the tables' triggers (the
    // report rollup's, migration 004) are off for this session: the rollup is rebuilt once at the
    // end, as that migration's backfill does. Constraint indexes (primary keys) stay.
    const secondary = (
      await client.query<{ indexname: string; indexdef: string }>(
        `SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = 'public' AND i.tablename IN ('leads', 'sales', 'lead_events', 'intake_rejections')
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = format('%I', i.indexname)::regclass)`,
      )
    ).rows;
    for (const index of secondary) await client.query(`DROP INDEX ${index.indexname}`);
    await client.query('SET session_replication_role = replica');
    for (const statement of seedStatements(args.leads, args.days, args.events, revenueColumns)) {
      const started = performance.now();
      const result = await client.query(statement.sql);
      seed[`${statement.label}Seconds`] = round1((performance.now() - started) / 1000);
      seed[statement.label] = result.rowCount ?? 0;
      process.stderr.write(`  ${statement.label}: ${result.rowCount} rows, ${seed[`${statement.label}Seconds`]} s\n`);
    }
    await client.query('RESET session_replication_role');
    const indexesStarted = performance.now();
    for (const index of secondary) await client.query(index.indexdef);
    seed.indexesSeconds = round1((performance.now() - indexesStarted) / 1000);
    process.stderr.write(`  ${secondary.length} secondary indexes: ${seed.indexesSeconds} s\n`);
    const rollup = (await client.query<{ fn: string | null }>("SELECT to_regprocedure('report_rebuild()')::text AS fn")).rows[0]?.fn != null;
    if (rollup) {
      const rollupStarted = performance.now();
      await client.query('SELECT report_rebuild()');
      seed.rollupSeconds = round1((performance.now() - rollupStarted) / 1000);
      process.stderr.write(`  report rollup rebuilt: ${seed.rollupSeconds} s\n`);
    }
    const vacuumStarted = performance.now();
    // The whole database: the rollup's tables too (autovacuum is off, see the settings).
    await client.query('VACUUM (ANALYZE)');
    seed.vacuumAnalyzeSeconds = round1((performance.now() - vacuumStarted) / 1000);
    seed.totalSeconds = round1((performance.now() - seedStarted) / 1000);
    process.stderr.write(`  vacuum analyze: ${seed.vacuumAnalyzeSeconds} s; seeding in all ${seed.totalSeconds} s\n`);
    const sizes = (
      await client.query<{ relname: string; size: string }>(
        `SELECT c.relname, pg_size_pretty(pg_total_relation_size(c.oid)) AS size FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY pg_total_relation_size(c.oid) DESC`,
      )
    ).rows;

    // Inputs taken from the data, so that every search finds something.
    const to = new Date();
    const from = new Date(to.getTime() - 30 * DAY_MS);
    const inWindow = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM leads WHERE created_at >= $1 AND created_at < $2', [from, to])).rows[0]?.n);
    const phones = (await client.query<{ phone: string }>(`SELECT phone FROM leads TABLESAMPLE BERNOULLI (1) REPEATABLE (7) LIMIT ${args.runs + 1}`)).rows.map((r) => r.phone);
    const topSource = SOURCES[0] as string;
    // A source and geo from the long tail: few matches, so the first page must look far back.
    const tailSource = SOURCES[SOURCES.length - 1] as string;
    const tailGeo = GEOS[GEOS.length - 1] as string;
    const supplier = SUPPLIERS[3] as string;

    process.stderr.write(`== queries (one warm-up, then ${args.runs} timed runs each); the 30-day window holds ${inWindow} leads\n`);
    const timed: Timed[] = [];
    const page = async (db: Kysely<LedgerDatabase>, filters: LeadFilters): Promise<number> => (await searchLeads(db, filters, { limit: 50 })).leads.length;
    const report = (options: { supplier?: string; groupBy: Array<'day' | 'supplier' | 'destination' | 'source'> }) => async (db: Kysely<LedgerDatabase>) =>
      (await reportRows(db, { from, to, timezone: 'UTC', supplierPayouts: SUPPLIER_PAYOUTS, ...options })).length;

    timed.push(await timeQuery(ledger, recorder, 'report 30 d by day, supplier', { maxMs: 300 }, report({ groupBy: ['day', 'supplier'] })));
    timed.push(await timeQuery(ledger, recorder, 'report 30 d by day, one supplier', undefined, report({ groupBy: ['day'], supplier })));
    timed.push(await timeQuery(ledger, recorder, 'report 30 d by destination', undefined, report({ groupBy: ['destination'] })));
    timed.push(
      await timeQuery(ledger, recorder, 'search by phone (digest)', { maxMs: 20 }, (db, attempt) => page(db, { phoneDigest: contactDigest(phones[attempt + 1] ?? phones[0] ?? '') })),
    );
    timed.push(await timeQuery(ledger, recorder, 'search by phone, no match', { maxMs: 20 }, (db) => page(db, { phoneDigest: contactDigest('+19999999999') })));
    timed.push(await timeQuery(ledger, recorder, `first page status=delivered source=${topSource.toLowerCase()}`, { maxMs: 50 }, (db) => page(db, { status: 'delivered', source: topSource.toLowerCase() })));
    timed.push(await timeQuery(ledger, recorder, `first page status=delivered source=${topSource} geo=${GEOS[1]}`, { maxMs: 50 }, (db) => page(db, { status: 'delivered', source: topSource, geo: GEOS[1] as string })));
    timed.push(await timeQuery(ledger, recorder, `first page geo=${tailGeo}`, { maxMs: 50 }, (db) => page(db, { geo: tailGeo })));
    timed.push(
      await timeQuery(ledger, recorder, `first page status=returned source=${tailSource} geo=${tailGeo}`, { maxMs: 50 }, (db) => page(db, { status: 'returned', source: tailSource, geo: tailGeo })),
    );
    timed.push(await timeQuery(ledger, recorder, `first page supplier=${supplier} status=unsold (30 d)`, { maxMs: 50 }, (db) => page(db, { supplier, status: 'unsold', from, to })));
    timed.push(await timeQuery(ledger, recorder, 'first page, no filter', { maxMs: 50 }, (db) => page(db, {})));

    process.stderr.write('== CSV export\n');
    const exports: Array<{ name: string; rows: number; seconds: number; rowsPerSecond: number; megabytes: number; complete: boolean; pass: boolean }> = [];
    const runExport = async (name: string, filters: LeadFilters): Promise<void> => {
      const result = await exportCsv(ledger.db, filters, args.exportBudgetSeconds * 1000);
      const rowsPerSecond = Math.round(result.rows / (result.ms / 1000));
      const entry = { name, rows: result.rows, seconds: round1(result.ms / 1000), rowsPerSecond, megabytes: round1(result.bytes / 2 ** 20), complete: result.complete, pass: rowsPerSecond >= 50_000 };
      exports.push(entry);
      process.stderr.write(`  ${name}: ${entry.rows} rows in ${entry.seconds} s = ${rowsPerSecond} rows/s${result.complete ? '' : ' (cut short at the budget)'}\n`);
    };
    await runExport(`source=${topSource}`, { source: topSource });
    await runExport(`source=${topSource} (again, warm)`, { source: topSource });
    await runExport('the whole ledger', {});
    // The page query of the export, deep in the ledger: each page must cost the same wherever it is.
    const deep = (await client.query<{ created_at: Date; id: string }>('SELECT created_at, id FROM leads ORDER BY created_at, id LIMIT 1 OFFSET $1', [Math.floor(args.leads / 10)])).rows[0];
    if (deep) {
      timed.push(
        await timeQuery(ledger, recorder, 'export page (1000) deep in the ledger', undefined, async (db) => (await searchLeads(db, {}, { limit: EXPORT_PAGE, cursor: { createdAt: deep.created_at, id: deep.id } })).leads.length),
      );
      timed.push(
        await timeQuery(ledger, recorder, `export page (1000) deep in the ledger, source=${topSource}`, undefined, async (db) =>
          (await searchLeads(db, { source: topSource }, { limit: EXPORT_PAGE, cursor: { createdAt: deep.created_at, id: deep.id } })).leads.length,
        ),
      );
    }

    // The report by day and supplier (from the rollup, when there is one) must agree with the same
    // report by day, supplier and geo (geo is not in the rollup: from the join of leads and sales)
    // added up over geo: counts exactly, money to the cent of each row added.
    process.stderr.write('== report check: by day and supplier against by day, supplier and geo\n');
    const byDaySupplier = await reportRows(ledger.db, { from, to, groupBy: ['day', 'supplier'], timezone: 'UTC', supplierPayouts: SUPPLIER_PAYOUTS });
    const byGeo = await reportRows(ledger.db, { from, to, groupBy: ['day', 'supplier', 'geo'], timezone: 'UTC', supplierPayouts: SUPPLIER_PAYOUTS });
    const METRICS = ['rejected', 'accepted', 'sold', 'unsold', 'returned', 'revenue', 'revenueReturned', 'supplierPayout'] as const;
    const added = new Map<string, { rows: number } & Record<(typeof METRICS)[number], number>>();
    for (const row of byGeo) {
      const key = `${row.group.day}|${row.group.supplier}`;
      const into = added.get(key) ?? { rows: 0, rejected: 0, accepted: 0, sold: 0, unsold: 0, returned: 0, revenue: 0, revenueReturned: 0, supplierPayout: 0 };
      into.rows += 1;
      for (const m of METRICS) into[m] += row[m];
      added.set(key, into);
    }
    const disagreements: string[] = [];
    for (const row of byDaySupplier) {
      const key = `${row.group.day}|${row.group.supplier}`;
      const other = added.get(key);
      added.delete(key);
      for (const m of METRICS) {
        const tolerance = m === 'revenue' || m === 'revenueReturned' || m === 'supplierPayout' ? 0.005 * (other?.rows ?? 1) + 1e-6 : 0;
        if (Math.abs(row[m] - (other?.[m] ?? 0)) > tolerance) disagreements.push(`${key} ${m}: ${row[m]} vs ${other?.[m] ?? 0}`);
      }
    }
    for (const key of added.keys()) disagreements.push(`${key}: only by geo`);
    const reportCheck = { groups: byDaySupplier.length, disagreements: disagreements.length, first: disagreements.slice(0, 5) };
    process.stderr.write(`  ${byDaySupplier.length} groups, ${disagreements.length} disagreements${disagreements.length > 0 ? `: ${disagreements.slice(0, 5).join('; ')}` : ''}\n`);

    // The slowest of the timed queries (by median) and, when that one has no target, the slowest of
    // those with one; every query with --explain all.
    const byMedian = [...timed].sort((a, b) => b.medianMs - a.medianMs);
    const slowest = byMedian[0] as Timed;
    const slowestTargeted = byMedian.find((q) => q.target !== undefined);
    const explained: Array<{ name: string; plans: string[] }> = [];
    for (const q of args.explainAll ? timed : [...new Set([slowest, ...(slowestTargeted ? [slowestTargeted] : [])])]) {
      const plans: string[] = [];
      for (const statement of q.statements) plans.push(await explain(client, statement));
      explained.push({ name: q.name, plans });
    }

    // The table.
    const lines = [
      `PostgreSQL ${version}, ${args.leads} leads over ${args.days} days (${inWindow} in the 30-day window), ${cpus().length} cores, load average ${loadBefore.join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} now`,
      '',
      `${'query'.padEnd(62)} ${'median ms'.padStart(10)} ${'max ms'.padStart(8)} ${'rows'.padStart(6)}  target`,
      ...timed.map((q) => {
        const target = q.target ? `≤ ${q.target.maxMs} ms ${q.pass ? 'ok' : 'MISSED'}` : '';
        return `${q.name.padEnd(62)} ${String(q.medianMs).padStart(10)} ${String(q.maxMs).padStart(8)} ${String(q.rows).padStart(6)}  ${target}`;
      }),
      '',
      `${'export'.padEnd(62)} ${'rows/s'.padStart(10)} ${'rows'.padStart(8)} ${'s'.padStart(6)}  target`,
      ...exports.map((e) => `${e.name.padEnd(62)} ${String(e.rowsPerSecond).padStart(10)} ${String(e.rows).padStart(8)} ${String(e.seconds).padStart(6)}  ≥ 50000 rows/s ${e.pass ? 'ok' : 'MISSED'}${e.complete ? '' : ' (cut short)'}`),
    ];
    lines.push('', `report check (by day, supplier against by day, supplier, geo added up): ${reportCheck.groups} groups, ${reportCheck.disagreements} disagreements`);
    for (const e of explained) {
      const which = e.name === slowest.name ? ' (the slowest)' : e.name === slowestTargeted?.name ? ' (the slowest with a target)' : '';
      lines.push('', `EXPLAIN (ANALYZE, BUFFERS) of "${e.name}"${which}:`);
      for (const plan of e.plans) lines.push(plan, '');
    }
    process.stdout.write(`${lines.join('\n')}\n`);

    const results = {
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), loadAverageBefore: loadBefore, loadAverageAfter: loadavg().map((l) => Math.round(l * 100) / 100) },
      postgres: { version, settings, migrations },
      data: { leads: args.leads, days: args.days, eventsPerLead: args.events, inReportWindow: inWindow, seed, sizes },
      runs: args.runs,
      queries: timed.map(({ statements, ...q }) => ({ ...q, sql: statements.map((s) => s.sql) })),
      exports,
      reportCheck,
      explain: explained,
    };
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    const file = join(ROOT, 'bench-results', 'ledger-queries.json');
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stderr.write(`\nwritten to ${file}\n`);
    if (args.hold) {
      process.stderr.write(`holding: psql ${server.url} (Ctrl-C stops the server)\n`);
      await new Promise(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
    await recorder.db.destroy().catch(() => undefined);
    await ledger.close().catch(() => undefined);
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
