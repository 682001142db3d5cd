import type { Lead } from '@leadrouter/lead';
import { sourceLabel } from '@leadrouter/metrics';
import type { WorkerDeps } from './deps.js';

export async function finishUnsold(deps: WorkerDeps, lead: Lead, reason: string, route: string): Promise<void> {
  const at = deps.now().toISOString();
  if (await deps.state.markUnsold(lead, reason, route, { at, type: 'unsold', reason })) {
    deps.metrics.leadsUnsold.inc({ reason, route: route || 'none' });
    deps.logger.info({ leadId: lead.id, reason, route }, 'lead unsold');
  }
}

export async function finishSold(deps: WorkerDeps, lead: Lead, destination: string, route: string): Promise<boolean> {
  const payout = deps.destinations.get(destination)?.payout ?? 0;
  const at = deps.now();
  const sold = await deps.state.markSold(lead, destination, payout, route, { at: at.toISOString(), type: 'delivered', destination, payout });
  if (sold) {
    deps.metrics.leadsSold.inc({ destination, supplier: lead.supplier, route, source: sourceLabel(lead.source, deps.config.routedSources) });
    deps.metrics.revenue.inc({ destination, supplier: lead.supplier }, payout);
    deps.metrics.timeToSale.observe(Math.max(0, at.getTime() - lead.createdAt) / 1000);
    deps.logger.info({ leadId: lead.id, destination, route }, 'lead sold');
  }
  return sold;
}
