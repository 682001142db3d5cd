import type { Lead } from '@leadrouter/lead';
import { sourceLabel } from '@leadrouter/metrics';
import { notificationKey } from '@leadrouter/redis';
import type { WorkerDeps } from './deps.js';

export async function finishUnsold(deps: WorkerDeps, lead: Lead, reason: string, route: string, round: number): Promise<void> {
  const at = deps.now().toISOString();
  const answer = await deps.lifecycle.markUnsold(lead, reason, route, { at, type: 'unsold', reason });
  if (answer === 'ok') {
    deps.metrics.leadsUnsold.inc({ reason, route: route || 'none' });
    deps.logger.info({ leadId: lead.id, reason, route }, 'lead unsold');
  }
  // Also when a re-run of this step finds the lead already unsold: the job id makes it one notification.
  if (answer === 'ok' || answer === 'unsold') await deps.notifier.notify(lead.supplier, lead.id, 'unsold', notificationKey.unsold(round));
}

/** Counts a sale that the state store has just recorded (once per lead). */
export function countSale(deps: WorkerDeps, lead: Lead, destination: string, route: string, payout: number, at: Date): void {
  deps.metrics.leadsSold.inc({ destination, supplier: lead.supplier, route, source: sourceLabel(lead.source, deps.config.routedSources) });
  deps.metrics.revenue.inc({ destination, supplier: lead.supplier }, payout);
  deps.metrics.timeToSale.observe(Math.max(0, at.getTime() - lead.createdAt) / 1000);
  deps.logger.info({ leadId: lead.id, destination, route }, 'lead sold');
}
