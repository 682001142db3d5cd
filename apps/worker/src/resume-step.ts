import { notificationKey, parseDecision } from '@leadrouter/redis';
import { soldTo, type LeadForDelivery } from '@leadrouter/store';
import { advance, queueDelivery } from './advance.js';
import type { WorkerDeps } from './deps.js';

/**
 * A delivery job for a lead that is no longer `queued` (or whose destination left the config): a
 * job left over from a crash. Nothing is sent.
 */
export async function resumeEndedLead(deps: WorkerDeps, loaded: LeadForDelivery, destinationId: string, round: number): Promise<void> {
  const { lead } = loaded;
  if (soldTo(loaded, destinationId)) {
    // The lead was sold to this destination (by this try, before a crash, or by another try of the
    // same destination): the cap slot is the sale's, also after postbacks moved the status on.
    // While it is still `delivered`, make sure the supplier hears of the sale (the job id makes a
    // second notification impossible). A shared lead's sale is heard of on its own.
    const sale = loaded.sales[destinationId];
    if (sale ? sale.status === 'delivered' : loaded.status === 'delivered') await notifySale(deps, loaded, destinationId, round);
    return;
  }
  // Sold elsewhere or ended meanwhile: give back what this step held.
  await deps.lifecycle.releaseCap(lead.id, destinationId);
}

/**
 * A job re-run (after its worker died) for a lead compacted since (the ledger has its fields; a
 * long outage of every worker outlasted LEDGER_COMPACT_AFTER_MS): nothing is sent, but the
 * supplier still hears how it ended, once (the job id of the notification). Returns whether the
 * lead was there, compacted.
 */
export async function resumeCompactedLead(deps: WorkerDeps, leadId: string): Promise<boolean> {
  const ended = await deps.lifecycle.endedState(leadId);
  if (!ended) return false;
  const shared = Object.entries(ended.sales);
  if (shared.length > 0) {
    // A shared lead (contract §9): each of its sales is heard of on its own.
    for (const [buyer, sale] of shared) if (sale.status === 'delivered') await notifyDelivered(deps, ended.supplier, leadId, ended.round, buyer);
  } else if (ended.status === 'delivered') await notifyDelivered(deps, ended.supplier, leadId, ended.round);
  if (ended.status === 'unsold') await deps.notifier.notify(ended.supplier, leadId, 'unsold', notificationKey.unsold(ended.round));
  return true;
}

/**
 * A re-run of a try whose outcome was already recorded (the worker died after recording it):
 * follow the recorded decision, never sending the lead to the buyer again.
 */
export async function resumeRecordedStep(
  deps: WorkerDeps,
  loaded: LeadForDelivery,
  at: { index: number; attempt: number; step: string; decided: string; destinationId: string },
): Promise<void> {
  const plan = loaded.plan;
  if (!plan) return;
  const decision = parseDecision(at.decided);
  if (decision.kind === 'sold') return;
  if (decision.kind === 'retry') {
    await queueDelivery(deps, loaded.lead.id, at.destinationId, { leadId: loaded.lead.id, index: at.index, attempt: at.attempt + 1 }, 0, plan.round);
    return;
  }
  // 'next' (the try ended; where to is still to choose) or a choice already made: advance records
  // the first and returns the second.
  await advance(deps, loaded.lead, plan, at.index + 1, at.step, true);
}

/** The supplier hears of a sale once (the job id): of each sale, with its own payout, for a shared lead (contract §9). */
export async function notifySale(deps: WorkerDeps, loaded: LeadForDelivery, destination: string, round: number): Promise<void> {
  await notifyDelivered(deps, loaded.lead.supplier, loaded.lead.id, round, loaded.plan?.lanes !== undefined ? destination : undefined);
}

/** A `delivered` notification: of the lead's one sale, or of a shared lead's sale to `sharedBuyer`. */
async function notifyDelivered(deps: WorkerDeps, supplier: string, leadId: string, round: number, sharedBuyer?: string): Promise<void> {
  await deps.notifier.notify(supplier, leadId, 'delivered', notificationKey.delivered(round, sharedBuyer), sharedBuyer);
}
