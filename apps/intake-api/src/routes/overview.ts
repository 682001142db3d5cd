import { Router } from 'express';
import { supplierPayoutsOf, type ResolvedConfig } from '@leadrouter/config';
import { reportRows, startOfLocalDay, type Ledger, type ReportRow } from '@leadrouter/ledger';
import type { Logger } from '@leadrouter/logging';
import { requireAdmin } from './admin.js';

export interface OverviewDeps {
  config: ResolvedConfig;
  adminApiKey: string | undefined;
  ledger: Ledger | undefined;
  logger: Logger;
}

interface Figures {
  received: number;
  sold: number;
  unsold: number;
  netRevenue: number;
}

function figures(rows: readonly ReportRow[]): Figures {
  const sum = (pick: (r: ReportRow) => number): number => rows.reduce((total, r) => total + pick(r), 0);
  return { received: sum((r) => r.accepted + r.rejected), sold: sum((r) => r.sold), unsold: sum((r) => r.unsold), netRevenue: Math.round(sum((r) => r.netRevenue) * 100) / 100 };
}

/**
 * The console's overview figures (contract §11): leads received, sold and unsold, and net revenue,
 * in the last hour and today (the reports' zone), by supplier and by destination, from the ledger.
 * By destination, `received` and `unsold` belong to no destination: those rows count sales only.
 */
export function overviewRoutes(deps: OverviewDeps): Router {
  const router = Router();
  router.get('/v1/admin/overview', requireAdmin(deps.adminApiKey), async (_req, res) => {
    const ledger = deps.ledger;
    if (!ledger) {
      res.status(503).json({ ok: false, reason: 'unavailable', message: 'this process has no lead ledger: set DATABASE_URL' });
      return;
    }
    try {
      const now = new Date();
      const timezone = deps.config.reportsTimezone;
      const supplierPayouts = supplierPayoutsOf(deps.config.suppliers);
      const period = async (from: Date) => {
        const [bySupplier, byDestination] = await Promise.all([
          reportRows(ledger.db, { from, to: now, groupBy: ['supplier'], timezone, supplierPayouts }),
          reportRows(ledger.db, { from, to: now, groupBy: ['destination'], timezone, supplierPayouts }),
        ]);
        return {
          from: from.toISOString(),
          to: now.toISOString(),
          total: figures(bySupplier),
          bySupplier: bySupplier.map((r) => ({ supplier: r.group.supplier ?? null, ...figures([r]) })),
          byDestination: byDestination.filter((r) => r.group.destination).map((r) => ({ destination: r.group.destination as string, sold: r.sold, netRevenue: figures([r]).netRevenue })),
        };
      };
      const [lastHour, today] = await Promise.all([period(new Date(now.getTime() - 3_600_000)), startOfLocalDay(ledger.db, timezone, now).then(period)]);
      res.json({ at: now.toISOString(), timezone, lastHour, today });
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'overview read failed');
      res.status(503).setHeader('Retry-After', '1').json({ ok: false, reason: 'unavailable' });
    }
  });
  return router;
}
