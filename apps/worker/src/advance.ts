import type { Lead } from '@leadrouter/lead';
import { capPeriods, staticSkipReason } from '@leadrouter/routing';
import { DELIVER_JOB_OPTIONS, type DeliverJobData } from '@leadrouter/redis';
import type { DeliveryPlan } from '@leadrouter/store';
import { DELIVERY_DEFAULTS, type WorkerDeps } from './deps.js';
import { finishUnsold } from './outcomes.js';

/**
 * Moves a lead to the next eligible candidate of its plan, from index `from` on: checks the
 * eligibility rules of contract §4 at this moment, reserves a cap slot, records the decision for
 * `step` (first decision wins, see DECIDE) and queues the delivery on that destination's queue.
 * With no eligible candidate left the lead ends unsold.
 */
export async function advance(deps: WorkerDeps, lead: Lead, plan: DeliveryPlan, from: number, step: string, attempted: boolean): Promise<void> {
  const now = deps.now();
  let chosen: number | undefined;
  for (let i = from; i < plan.candidates.length; i++) {
    const id = plan.candidates[i] as string;
    const destination = deps.destinations.get(id);
    if (!destination || staticSkipReason(destination, lead, now, new Set(plan.candidates.slice(0, from))) !== undefined) continue;
    const circuit = await deps.state.circuit(id, (destination.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs) + 5_000);
    if (circuit === 'open') continue;
    if (destination.caps && !(await deps.state.reserveCap(lead.id, id, destination.caps, capPeriods(destination, now)))) continue;
    chosen = i;
    break;
  }
  const wanted = chosen === undefined ? 'unsold' : `d:${chosen}`;
  const decision = await deps.state.decide(lead.id, step, wanted);
  if (chosen !== undefined && decision !== wanted) {
    // A re-run of this step reached another choice than the first run: the first one stands.
    await deps.state.releaseCap(lead.id, plan.candidates[chosen] as string);
  }
  if (decision === 'unsold') {
    await finishUnsold(deps, lead, attempted ? 'all_rejected' : 'no_eligible_destination', plan.route);
    return;
  }
  const index = Number(decision.slice(2));
  await queueDelivery(deps, lead.id, plan.candidates[index] as string, { leadId: lead.id, index, attempt: 0 }, 0);
}

/** Job ids are deterministic (lead, candidate, try), so a step that runs twice queues nothing twice. */
export async function queueDelivery(deps: WorkerDeps, leadId: string, destinationId: string, data: DeliverJobData, delayMs: number): Promise<void> {
  const queue = deps.deliverQueues.get(destinationId);
  if (!queue) throw new Error(`no delivery queue for destination ${destinationId}`);
  await queue.add('deliver', data, { ...DELIVER_JOB_OPTIONS, jobId: `${leadId}.${data.index}.${data.attempt}`, ...(delayMs > 0 ? { delay: delayMs } : {}) });
}
