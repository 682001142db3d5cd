import { sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { SupplierPayoutTerms } from '@leadrouter/config';
import type { LeadsTable, LedgerDatabase } from './schema.js';

/** Filters of `GET /v1/leads` and its CSV export (contract §10). Supplier-scoped callers set `supplier` to their own. */
export interface LeadFilters {
  from?: Date;
  to?: Date;
  status?: string;
  source?: string;
  geo?: string;
  supplier?: string;
  destination?: string;
  route?: string;
  /** SHA-256 of the E.164 phone / the lower-cased email: search never sees the clear value. */
  phoneDigest?: string;
  emailDigest?: string;
}

/** A lead as search and export read it: every column but the digests and bookkeeping. */
export type LedgerLeadRow = Omit<Selectable<LeadsTable>, 'phone_digest' | 'email_digest' | 'last_seq' | 'updated_at' | 'phone_national'>;

/** A keyset position: the last row's creation time and id (newest first). */
export interface LeadCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(`${row.created_at.getTime()}.${row.id}`).toString('base64url');
}

export function decodeCursor(text: string): LeadCursor | undefined {
  const match = /^(\d+)\.([0-9A-Za-z]{1,64})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  return match ? { createdAt: new Date(Number(match[1])), id: match[2] as string } : undefined;
}

export function filtered<O>(query: SelectQueryBuilder<LedgerDatabase, 'leads', O>, f: LeadFilters): SelectQueryBuilder<LedgerDatabase, 'leads', O> {
  let q = query;
  if (f.from) q = q.where('created_at', '>=', f.from);
  if (f.to) q = q.where('created_at', '<', f.to);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.source) q = q.where(sql<string>`lower(source)`, '=', f.source.toLowerCase());
  if (f.geo) q = q.where('geo', '=', f.geo.toUpperCase());
  if (f.supplier) q = q.where('supplier', '=', f.supplier);
  // A shared lead's buyers (contract §9) are its sales: its own `destination` is empty.
  if (f.destination) {
    const d = f.destination;
    q = q.where((eb) => eb.or([eb('destination', '=', d), eb.and([eb('destination', 'is', null), eb.exists(eb.selectFrom('sales').select(sql`1`.as('one')).whereRef('sales.lead_id', '=', 'leads.id').where('sales.destination', '=', d))])]));
  }
  if (f.route) q = q.where('route', '=', f.route);
  if (f.phoneDigest) q = q.where('phone_digest', '=', f.phoneDigest);
  if (f.emailDigest) q = q.where('email_digest', '=', f.emailDigest);
  return q;
}

/**
 * The leads after `cursor` in the keyset order (newest first). A row comparison: the same rows as
 * `created_at < c OR (created_at = c AND id < i)` (neither is null), but PostgreSQL makes it a
 * bound of the (…, created_at DESC, id DESC) indexes, so a page starts where the last one ended.
 * The OR was a filter, so page n of an export read n pages.
 */
export function keysetAfter<O>(query: SelectQueryBuilder<LedgerDatabase, 'leads', O>, cursor: LeadCursor): SelectQueryBuilder<LedgerDatabase, 'leads', O> {
  return query.where(({ eb, refTuple, tuple }) => eb(refTuple('created_at', 'id'), '<', tuple(cursor.createdAt, cursor.id)));
}

/** One page of leads, newest first, after `cursor`; `nextCursor` when more may follow. */
export async function searchLeads(db: Kysely<LedgerDatabase>, filters: LeadFilters, page: { limit: number; cursor?: LeadCursor }): Promise<{ leads: LedgerLeadRow[]; nextCursor: string | null }> {
  let q = filtered(
    db
      .selectFrom('leads')
      .select(['id', 'supplier', 'source', 'geo', 'status', 'reason', 'destination', 'payout', 'route', 'quality', 'created_at', 'sold_at', 'name', 'phone', 'email', 'click_id', 'ip', 'fields']),
    filters,
  );
  if (page.cursor) q = keysetAfter(q, page.cursor);
  const rows: LedgerLeadRow[] = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const more = rows.length > page.limit;
  const leads = more ? rows.slice(0, page.limit) : rows;
  const last = leads[leads.length - 1];
  return { leads, nextCursor: more && last ? encodeCursor(last) : null };
}

/** A lead's ledger record and its history (up to event `throughSeq`), for `GET /v1/leads/:id` when Redis no longer holds it whole. */
export async function leadWithEvents(
  db: Kysely<LedgerDatabase>,
  id: string,
  options: { throughSeq?: number } = {},
): Promise<{ lead: LedgerLeadRow; events: Array<Record<string, unknown>> } | undefined> {
  const lead: LedgerLeadRow | undefined = await db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirst();
  if (!lead) return undefined;
  let events = db.selectFrom('lead_events').select('body').where('lead_id', '=', id);
  if (options.throughSeq !== undefined) events = events.where('seq', '<=', options.throughSeq);
  const rows = await events.orderBy('seq').execute();
  return { lead, events: rows.map((e) => e.body) };
}

export const REPORT_DIMENSIONS = ['day', 'hour', 'supplier', 'source', 'geo', 'destination', 'route'] as const;
export type ReportDimension = (typeof REPORT_DIMENSIONS)[number];

export interface ReportRow {
  group: Partial<Record<ReportDimension, string | null>>;
  /** Refused at intake; they have a supplier and a time, not a source, geo, destination or route. */
  rejected: number;
  accepted: number;
  sold: number;
  unsold: number;
  returned: number;
  revenue: number;
  revenueReturned: number;
  netRevenue: number;
  /** What the suppliers are owed for these leads' sales that stand (not returned). */
  supplierPayout: number;
}

/**
 * The report of contract §10, grouped by any of the dimensions, over leads created in [from, to).
 * Day and hour are in `timezone`. Money comes from the sales, booked and taken back as the revenue
 * counters of §7 book it (sale and upward corrections; returns and downward corrections).
 */
export async function reportRows(
  db: Kysely<LedgerDatabase>,
  options: { from: Date; to: Date; groupBy: readonly ReportDimension[]; timezone: string; supplier?: string; supplierPayouts: Readonly<Record<string, SupplierPayoutTerms>> },
): Promise<ReportRow[]> {
  const expressions: Record<ReportDimension, ReturnType<typeof sql<string>>> = {
    day: sql<string>`to_char(l.created_at AT TIME ZONE ${options.timezone}, 'YYYY-MM-DD')`,
    hour: sql<string>`to_char(l.created_at AT TIME ZONE ${options.timezone}, 'YYYY-MM-DD"T"HH24')`,
    supplier: sql<string>`l.supplier`,
    source: sql<string>`l.source`,
    geo: sql<string>`l.geo`,
    destination: sql<string>`s.destination`,
    route: sql<string>`l.route`,
  };
  const dims = options.groupBy;
  const selects = dims.map((d) => sql`${expressions[d]} AS ${sql.ref(`g_${d}`)}`);
  // By position: an expression with a parameter (the timezone) repeated in GROUP BY would be a new
  // parameter there, which PostgreSQL cannot match with the one in SELECT.
  const positions = dims.map((_d, i) => sql.raw(String(i + 1)));
  const groupBy = dims.length > 0 ? sql`GROUP BY ${sql.join(positions)}` : sql``;
  const orderBy = dims.length > 0 ? sql`ORDER BY ${sql.join(positions)}` : sql``;
  const supplierFilter = options.supplier ? sql`AND l.supplier = ${options.supplier}` : sql``;
  const { fixed, share } = owedExpressions(options.supplierPayouts, sql`l.supplier`);
  const fromLeads = async (from: Date, to: Date): Promise<Array<Record<string, unknown>>> => (await sql<Record<string, unknown>>`
    SELECT ${sql.join([
      ...selects,
      sql`count(DISTINCT l.id) AS accepted`,
      sql`count(DISTINCT s.lead_id) AS sold`,
      sql`count(DISTINCT l.id) FILTER (WHERE l.status = 'unsold') AS unsold`,
      sql`count(DISTINCT s.lead_id) FILTER (WHERE s.status = 'returned') AS returned`,
      sql`COALESCE(sum(s.revenue_booked), 0) AS revenue`,
      sql`COALESCE(sum(s.revenue_taken_back), 0) AS revenue_returned`,
      // A fixed amount per sale that stands; a share of each sale's net revenue (a return takes it back).
      sql`COALESCE(sum(${fixed}) FILTER (WHERE s.lead_id IS NOT NULL AND s.status <> 'returned'), 0) + COALESCE(sum(${share} * (s.revenue_booked - s.revenue_taken_back)), 0) AS supplier_payout`,
    ])}
    FROM leads AS l LEFT JOIN sales AS s ON s.lead_id = l.id
    WHERE l.created_at >= ${from} AND l.created_at < ${to} ${supplierFilter}
    ${groupBy} ${orderBy}`.execute(db)).rows;
  const result = { rows: await fromLeadsOrRollup(db, options, fromLeads) };
  const rejected = await rejectedCounts(db, options);
  const key = (group: Record<string, unknown>): string => JSON.stringify(dims.map((d) => group[d] ?? null));
  const cents = (v: unknown): number => Math.round(Number(v ?? 0) * 100) / 100;
  const rows: ReportRow[] = result.rows.map((row) => {
    const revenue = cents(row.revenue);
    const revenueReturned = cents(row.revenue_returned);
    return {
      group: Object.fromEntries(dims.map((d) => [d, (row[`g_${d}`] as string | null) ?? null])),
      rejected: 0,
      accepted: Number(row.accepted),
      sold: Number(row.sold),
      unsold: Number(row.unsold),
      returned: Number(row.returned),
      revenue,
      revenueReturned,
      netRevenue: cents(revenue - revenueReturned),
      supplierPayout: cents(row.supplier_payout),
    };
  });
  const byGroup = new Map(rows.map((r) => [key(r.group), r]));
  for (const { group, count } of rejected) {
    const found = byGroup.get(key(group));
    if (found) found.rejected = count;
    else {
      const row: ReportRow = { group, rejected: count, accepted: 0, sold: 0, unsold: 0, returned: 0, revenue: 0, revenueReturned: 0, netRevenue: 0, supplierPayout: 0 };
      rows.push(row);
      byGroup.set(key(group), row);
    }
  }
  return rows.sort((a, b) => key(a.group).localeCompare(key(b.group)));
}

/** Per supplier, as SQL: its fixed amount per standing sale, and its share of a sale's net revenue (0 for the other kind). */
function owedExpressions(terms: Readonly<Record<string, SupplierPayoutTerms>>, supplier: ReturnType<typeof sql>) {
  const entries = Object.entries(terms);
  const caseOf = (pick: (t: SupplierPayoutTerms) => number) => {
    const used = entries.filter(([, t]) => pick(t) !== 0);
    return used.length > 0 ? sql`CASE ${supplier} ${sql.join(used.map(([id, t]) => sql`WHEN ${id} THEN ${pick(t)}::double precision`), sql` `)} ELSE 0 END` : sql`0`;
  };
  return { fixed: caseOf((t) => ('fixed' in t ? t.fixed : 0)), share: caseOf((t) => ('share' in t ? t.share : 0)) };
}

/** The dimensions `report_hourly` (migration 004) holds: a report by these alone may read it. */
const ROLLUP_DIMENSIONS: ReadonlySet<ReportDimension> = new Set(['day', 'hour', 'supplier']);
const HOUR_MS = 3_600_000;

/**
 * The report's groups from `fromLeads` (the join of leads and sales) or, for the whole UTC hours of
 * the range, from the hourly rollup: the same counts and money, from a few thousand rows instead of
 * every lead of the range. The rollup is used when every dimension is one it holds and, when
 * grouping by day or hour, the timezone's offsets are whole hours over the range (else a UTC hour
 * would straddle two local days or hours); the partial hours at either end come from the leads.
 * Each lead is in exactly one of those parts, so the parts' groups add up.
 */
async function fromLeadsOrRollup(
  db: Kysely<LedgerDatabase>,
  options: { from: Date; to: Date; groupBy: readonly ReportDimension[]; timezone: string; supplier?: string; supplierPayouts: Readonly<Record<string, SupplierPayoutTerms>> },
  fromLeads: (from: Date, to: Date) => Promise<Array<Record<string, unknown>>>,
): Promise<Array<Record<string, unknown>>> {
  const { from, to, groupBy: dims } = options;
  const first = new Date(Math.ceil(from.getTime() / HOUR_MS) * HOUR_MS);
  const last = new Date(Math.floor(to.getTime() / HOUR_MS) * HOUR_MS);
  if (!dims.every((d) => ROLLUP_DIMENSIONS.has(d)) || !(first < last)) return fromLeads(from, to);
  if (dims.some((d) => d === 'day' || d === 'hour')) {
    const check = await sql<{ whole: boolean | null }>`
      SELECT bool_and(to_char(h AT TIME ZONE ${options.timezone}, 'MI:SS') = '00:00') AS whole
      FROM generate_series(${first}::timestamptz, ${last}::timestamptz, interval '1 hour') AS h`.execute(db);
    if (check.rows[0]?.whole !== true) return fromLeads(from, to);
  }
  const parts = [
    from < first ? await fromLeads(from, first) : [],
    await fromRollup(db, options, first, last),
    last < to ? await fromLeads(last, to) : [],
  ];
  // Groups of the three parts added up: every column but the group's is a count or a sum.
  const merged = new Map<string, Record<string, unknown>>();
  for (const row of parts.flat()) {
    const key = JSON.stringify(dims.map((d) => row[`g_${d}`] ?? null));
    const into = merged.get(key);
    if (!into) {
      merged.set(key, { ...row });
      continue;
    }
    for (const [column, value] of Object.entries(row)) {
      if (!column.startsWith('g_')) into[column] = Number(into[column] ?? 0) + Number(value ?? 0);
    }
  }
  return [...merged.values()];
}

/** The rollup's groups over [from, to), whole UTC hours, in the columns of reportRows' query of the leads. */
async function fromRollup(
  db: Kysely<LedgerDatabase>,
  options: { groupBy: readonly ReportDimension[]; timezone: string; supplier?: string; supplierPayouts: Readonly<Record<string, SupplierPayoutTerms>> },
  from: Date,
  to: Date,
): Promise<Array<Record<string, unknown>>> {
  const expressions: Partial<Record<ReportDimension, ReturnType<typeof sql<string>>>> = {
    day: sql<string>`to_char(r.hour AT TIME ZONE ${options.timezone}, 'YYYY-MM-DD')`,
    hour: sql<string>`to_char(r.hour AT TIME ZONE ${options.timezone}, 'YYYY-MM-DD"T"HH24')`,
    supplier: sql<string>`r.supplier`,
  };
  const dims = options.groupBy;
  const positions = dims.map((_d, i) => sql.raw(String(i + 1)));
  const { fixed, share } = owedExpressions(options.supplierPayouts, sql`r.supplier`);
  const result = await sql<Record<string, unknown>>`
    SELECT ${sql.join([
      ...dims.map((d) => {
        const expression = expressions[d];
        if (!expression) throw new Error(`the report rollup has no ${d}`);
        return sql`${expression} AS ${sql.ref(`g_${d}`)}`;
      }),
      sql`sum(r.leads) AS accepted`,
      sql`sum(r.sold) AS sold`,
      sql`sum(r.unsold) AS unsold`,
      sql`sum(r.returned) AS returned`,
      sql`sum(r.revenue_booked) AS revenue`,
      sql`sum(r.revenue_taken_back) AS revenue_returned`,
      sql`sum(r.standing_sales * ${fixed} + ${share} * (r.revenue_booked - r.revenue_taken_back)) AS supplier_payout`,
    ])}
    FROM report_hourly AS r
    WHERE r.hour >= ${from} AND r.hour < ${to} AND r.leads > 0 ${options.supplier ? sql`AND r.supplier = ${options.supplier}` : sql``}
    ${dims.length > 0 ? sql`GROUP BY ${sql.join(positions)}` : sql``}`.execute(db);
  return result.rows;
}

/** Intake rejections in the same groups: by day, hour and supplier; the other dimensions are null for them. */
async function rejectedCounts(
  db: Kysely<LedgerDatabase>,
  options: { from: Date; to: Date; groupBy: readonly ReportDimension[]; timezone: string; supplier?: string },
): Promise<Array<{ group: Partial<Record<ReportDimension, string | null>>; count: number }>> {
  const expression = (d: ReportDimension) =>
    d === 'day'
      ? sql<string>`to_char(r.at AT TIME ZONE ${options.timezone}, 'YYYY-MM-DD')`
      : d === 'hour'
        ? sql<string>`to_char(r.at AT TIME ZONE ${options.timezone}, 'YYYY-MM-DD"T"HH24')`
        : d === 'supplier'
          ? sql<string>`r.supplier`
          : sql<string>`NULL::text`;
  const dims = options.groupBy;
  const positions = dims.map((_d, i) => sql.raw(String(i + 1)));
  const supplierFilter = options.supplier ? sql`AND r.supplier = ${options.supplier}` : sql``;
  const result = await sql<Record<string, unknown>>`
    SELECT ${sql.join([...dims.map((d) => sql`${expression(d)} AS ${sql.ref(`g_${d}`)}`), sql`count(*) AS n`])}
    FROM intake_rejections AS r
    WHERE r.at >= ${options.from} AND r.at < ${options.to} ${supplierFilter}
    ${dims.length > 0 ? sql`GROUP BY ${sql.join(positions)}` : sql``}`.execute(db);
  return result.rows.map((row) => ({ group: Object.fromEntries(dims.map((d) => [d, (row[`g_${d}`] as string | null) ?? null])), count: Number(row.n) }));
}

/** The operators' changes (contract §11), newest first: what, to what, when, with their details. */
export async function auditEvents(db: Kysely<LedgerDatabase>, options: { limit: number; target?: string }): Promise<Array<{ at: Date; action: string; target: string | null; details: Record<string, unknown> }>> {
  let query = db.selectFrom('audit_events').select(['at', 'action', 'target', 'details']).orderBy('at', 'desc').orderBy('id', 'desc').limit(options.limit);
  if (options.target !== undefined) query = query.where('target', '=', options.target);
  return query.execute();
}

/** When the local day of `at` began in `timezone` (the reports' zone): what "today" means in the console. */
export async function startOfLocalDay(db: Kysely<LedgerDatabase>, timezone: string, at: Date): Promise<Date> {
  const { rows } = await sql<{ start: Date }>`SELECT (date_trunc('day', ${at.toISOString()}::timestamptz AT TIME ZONE ${timezone}) AT TIME ZONE ${timezone}) AS start`.execute(db);
  const start = rows[0]?.start;
  return start instanceof Date ? start : new Date(String(start));
}
