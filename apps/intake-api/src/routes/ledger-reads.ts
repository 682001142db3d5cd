import { Router, type Request, type Response } from 'express';
import { stringify } from 'csv-stringify';
import { supplierPayoutsOf, type ResolvedConfig } from '@leadrouter/config';
import { decodeCursor, exportColumns, exportPage, REPORT_DIMENSIONS, reportRows, searchLeads, type LeadCursor, type LeadFilters, type Ledger, type LedgerLeadRow, type ReportDimension } from '@leadrouter/ledger';
import { isCountryCode, LEAD_STATUSES, maskEmail, maskPhone, type FieldError } from '@leadrouter/lead';
import type { Logger } from '@leadrouter/logging';
import { contactDigest } from '@leadrouter/store';
import { isAdminRequest, presentedKey, type SupplierDirectory } from '../auth.js';

export interface LedgerReadsDeps {
  config: ResolvedConfig;
  suppliers: SupplierDirectory;
  adminApiKey: string | undefined;
  /** Undefined when this process has no ledger (no DATABASE_URL): the endpoints answer 503. */
  ledger: Ledger | undefined;
  logger: Logger;
}

const MAX_LIMIT = 500;
const EXPORT_PAGE = 5000;
const DEFAULT_RANGE_MS = 30 * 86_400_000;

type Caller = { admin: true } | { admin: false; supplier: string };

/**
 * Search, export and reports over the lead ledger (contract §10). A supplier sees its own leads
 * only, without buyers or revenue; the admin sees everything and may filter by buyer, route,
 * phone and email (matched on digests).
 */
export function ledgerReadRoutes(deps: LedgerReadsDeps): Router {
  const router = Router();

  const caller = (req: Request, res: Response): Caller | undefined => {
    const key = presentedKey(req);
    if (isAdminRequest(req, res, deps.adminApiKey)) return { admin: true };
    const supplier = deps.suppliers.authenticate(key);
    if (supplier) return { admin: false, supplier: supplier.id };
    res.status(401).json({ status: 'rejected', reason: 'unauthorized' });
    return undefined;
  };
  const ledgerOr503 = (res: Response): Ledger | undefined => {
    if (deps.ledger) return deps.ledger;
    res.status(503).json({ reason: 'unavailable', message: 'this process has no lead ledger: set DATABASE_URL' });
    return undefined;
  };
  const invalid = (res: Response, errors: FieldError[]): void => {
    res.status(400).json({ status: 'rejected', reason: 'invalid', errors });
  };
  const failed = (res: Response, err: unknown): void => {
    deps.logger.warn({ err: (err as Error).message }, 'ledger read failed');
    if (!res.headersSent) res.status(503).setHeader('Retry-After', '1').json({ reason: 'unavailable' });
    else res.destroy();
  };

  router.get('/v1/leads', async (req, res) => {
    const who = caller(req, res);
    const ledger = who && ledgerOr503(res);
    if (!who || !ledger) return;
    const parsed = parseFilters(req.query, who);
    const limit = parseLimit(req.query.limit, parsed.errors);
    const cursor = typeof req.query.cursor === 'string' ? decodeCursor(req.query.cursor) : undefined;
    if (req.query.cursor !== undefined && !cursor) parsed.errors.push({ field: 'cursor', message: 'is not a cursor this API gave' });
    if (parsed.errors.length > 0) return invalid(res, parsed.errors);
    try {
      const page = await searchLeads(ledger.db, parsed.filters, { limit, ...(cursor ? { cursor } : {}) });
      res.json({ leads: page.leads.map((row) => leadSummary(row, who.admin, false)), nextCursor: page.nextCursor });
    } catch (err) {
      failed(res, err);
    }
  });

  router.get('/v1/leads/export.csv', async (req, res) => {
    const who = caller(req, res);
    const ledger = who && ledgerOr503(res);
    if (!who || !ledger) return;
    const parsed = parseFilters(req.query, who);
    if (parsed.errors.length > 0) return invalid(res, parsed.errors);
    const pii = who.admin && req.query.pii === '1';
    const columns = exportColumns(who.admin);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="leads.csv"');
    const csv = stringify({ header: true, columns, cast: { string: spreadsheetSafe } });
    csv.pipe(res);
    try {
      // Page by page (keyset), so an export of millions of leads is never held in memory whole.
      let cursor: LeadCursor | undefined;
      do {
        const page = await exportPage(ledger.db, parsed.filters, { limit: EXPORT_PAGE, ...(cursor ? { cursor } : {}) }, { admin: who.admin, pii });
        for (const row of page.rows) {
          if (!csv.write(row)) await new Promise((resolve) => csv.once('drain', resolve));
        }
        cursor = page.next;
      } while (cursor);
      csv.end();
    } catch (err) {
      csv.destroy();
      failed(res, err);
    }
  });

  /** The report's rows as the caller may see them (a supplier: its own, without buyers or money but its payout), or undefined when already answered. */
  const report = async (req: Request, res: Response) => {
    const who = caller(req, res);
    const ledger = who && ledgerOr503(res);
    if (!who || !ledger) return undefined;
    const errors: FieldError[] = [];
    const to = parseTime(req.query.to, 'to', errors) ?? new Date();
    const from = parseTime(req.query.from, 'from', errors) ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
    const groupBy = parseGroupBy(req.query.groupBy, errors);
    if (!who.admin && groupBy.includes('destination')) errors.push({ field: 'groupBy', message: 'destination is not available to suppliers' });
    if (errors.length > 0) {
      invalid(res, errors);
      return undefined;
    }
    try {
      const supplierPayouts = supplierPayoutsOf(deps.config.suppliers);
      const rows = await reportRows(ledger.db, { from, to, groupBy, timezone: deps.config.reportsTimezone, supplierPayouts, ...(who.admin ? {} : { supplier: who.supplier }) });
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        groupBy,
        timezone: deps.config.reportsTimezone,
        admin: who.admin,
        rows: rows.map((r): Record<string, string | number | null | undefined> => {
          const base = { ...r.group, received: r.accepted + r.rejected, rejected: r.rejected, accepted: r.accepted, sold: r.sold, unsold: r.unsold, returned: r.returned, acceptanceRate: ratio(r.sold, r.accepted) };
          if (!who.admin) return { ...base, supplierPayout: r.supplierPayout };
          const margin = Math.round((r.netRevenue - r.supplierPayout) * 100) / 100;
          return { ...base, revenue: r.revenue, revenueReturned: r.revenueReturned, netRevenue: r.netRevenue, supplierPayout: r.supplierPayout, margin, epl: ratio(r.netRevenue, r.accepted) };
        }),
      };
    } catch (err) {
      failed(res, err);
      return undefined;
    }
  };

  router.get('/v1/reports', async (req, res) => {
    const answer = await report(req, res);
    if (!answer) return;
    const { admin: _admin, ...body } = answer;
    res.json(body);
  });

  /** The same report as CSV (the console's download): one row per group, the group's columns first. */
  router.get('/v1/reports.csv', async (req, res) => {
    const answer = await report(req, res);
    if (!answer) return;
    const figures = answer.admin
      ? ['received', 'rejected', 'accepted', 'sold', 'unsold', 'returned', 'acceptanceRate', 'revenue', 'revenueReturned', 'netRevenue', 'supplierPayout', 'margin', 'epl']
      : ['received', 'rejected', 'accepted', 'sold', 'unsold', 'returned', 'acceptanceRate', 'supplierPayout'];
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="leadrouter-report-${answer.from.slice(0, 10)}-${answer.to.slice(0, 10)}.csv"`);
    const csv = stringify({ header: true, columns: [...answer.groupBy, ...figures], cast: { string: spreadsheetSafe } });
    csv.pipe(res);
    for (const row of answer.rows) csv.write(row);
    csv.end();
  });

  return router;
}

/**
 * A text cell a spreadsheet will not run: suppliers choose sources and fields, and a cell starting
 * with `=`, `+`, `-`, `@`, a tab or a return is a formula to Excel and LibreOffice (OWASP's "CSV
 * injection"). Such a cell gets a leading apostrophe, which spreadsheets show as text. A signed
 * number (a phone in E.164, `+14155550123`) is no formula and is left as it is.
 */
export function spreadsheetSafe(value: string): string {
  if (/^[+-][\d .()-]*$/.test(value)) return value;
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 10_000) / 10_000;
}

/** A lead as search shows it (the export's rows are exportPage's, the same values): contact data masked (unless the admin asks for it), buyers and money for the admin only. */
function leadSummary(row: LedgerLeadRow, admin: boolean, pii: boolean): Record<string, unknown> {
  return {
    id: row.id,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    quality: row.quality,
    createdAt: row.created_at.toISOString(),
    supplier: row.supplier,
    name: row.name,
    phone: row.phone === null ? null : pii ? row.phone : maskPhone(row.phone),
    email: row.email === null ? null : pii ? row.email : maskEmail(row.email),
    geo: row.geo,
    source: row.source,
    click_id: row.click_id,
    fields: row.fields,
    ...(admin ? { destination: row.destination, payout: row.payout, route: row.route } : {}),
  };
}

const ADMIN_ONLY_FILTERS = ['supplier', 'destination', 'route', 'phone', 'email'] as const;

function parseFilters(query: Request['query'], who: Caller): { filters: LeadFilters; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string' || value.length > 256) {
      errors.push({ field: name, message: 'must be one value of at most 256 characters' });
      return undefined;
    }
    return value;
  };
  const filters: LeadFilters = {};
  const from = parseTime(query.from, 'from', errors);
  const to = parseTime(query.to, 'to', errors);
  if (from) filters.from = from;
  if (to) filters.to = to;
  const status = text('status');
  if (status !== undefined) {
    if ((LEAD_STATUSES as readonly string[]).includes(status)) filters.status = status;
    else errors.push({ field: 'status', message: `must be one of ${LEAD_STATUSES.join(', ')}` });
  }
  const source = text('source');
  if (source !== undefined) filters.source = source;
  const geo = text('geo');
  if (geo !== undefined) {
    if (isCountryCode(geo.toUpperCase())) filters.geo = geo.toUpperCase();
    else errors.push({ field: 'geo', message: 'must be an ISO 3166-1 alpha-2 country code' });
  }
  if (!who.admin) {
    for (const name of ADMIN_ONLY_FILTERS) if (query[name] !== undefined) errors.push({ field: name, message: 'is for the admin only' });
    filters.supplier = who.supplier;
    return { filters, errors };
  }
  const supplier = text('supplier');
  const destination = text('destination');
  const route = text('route');
  const phone = text('phone');
  const email = text('email');
  if (supplier !== undefined) filters.supplier = supplier;
  if (destination !== undefined) filters.destination = destination;
  if (route !== undefined) filters.route = route;
  // Exact matches on digests: the E.164 phone, the lower-cased email; search never sees clear text.
  if (phone !== undefined) filters.phoneDigest = contactDigest(phone.replace(/[\s().-]/g, ''));
  if (email !== undefined) filters.emailDigest = contactDigest(email.trim().toLowerCase());
  return { filters, errors };
}

function parseLimit(raw: unknown, errors: FieldError[]): number {
  if (raw === undefined) return 50;
  const limit = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    errors.push({ field: 'limit', message: `must be a whole number from 1 to ${MAX_LIMIT}` });
    return 50;
  }
  return limit;
}

function parseTime(raw: unknown, field: string, errors: FieldError[]): Date | undefined {
  if (raw === undefined || raw === '') return undefined;
  const ms = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) {
    errors.push({ field, message: 'must be an ISO 8601 time' });
    return undefined;
  }
  return new Date(ms);
}

function parseGroupBy(raw: unknown, errors: FieldError[]): ReportDimension[] {
  if (raw === undefined || raw === '') return [];
  const parts = typeof raw === 'string' ? raw.split(',').map((p) => p.trim()) : [];
  const unknown = parts.filter((p) => !(REPORT_DIMENSIONS as readonly string[]).includes(p));
  if (typeof raw !== 'string' || unknown.length > 0) {
    errors.push({ field: 'groupBy', message: `must be a comma-separated list of ${REPORT_DIMENSIONS.join(', ')}` });
    return [];
  }
  return [...new Set(parts)] as ReportDimension[];
}
