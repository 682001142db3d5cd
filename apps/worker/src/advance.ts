import type { Lead } from '@leadrouter/lead';
import { capPeriods, staticSkipReason } from '@leadrouter/routing';
import { DELIVER_JOB_OPTIONS, deliverJobId, laneStartStep, parseDecision, type DeliverJobData } from '@leadrouter/redis';
import type { AdvanceCandidate, DeliveryPlan } from '@leadrouter/store';
import type { WorkerDeps } from './deps.js';
import { finishUnsold } from './outcomes.js';

/**
 * Moves a lead to the next eligible candidate of its plan, from index `from` on. The checks that
 * need no shared state (enabled, schedule, accepts, not tried) run here; circuit and caps are
 * checked, a cap slot reserved and the decision for `step` recorded in one Lua call (ADVANCE).
 * With no eligible candidate left the lead ends unsold.
 *
 * A shared lead (contract §9) moves one of its lanes: any candidate no lane took yet may be
 * chosen (advance.lua knows which were taken), so `from` does not apply; a lane that finds none
 * left just ends, and the lead ends unsold only with its last lane and no sale.
 */
export async function advance(deps: WorkerDeps, lead: Lead, plan: DeliveryPlan, from: number, step: string, attempted: boolean): Promise<void> {
  const now = deps.now();
  const shared = plan.lanes !== undefined;
  const first = shared ? 0 : from;
  const tried = new Set(plan.candidates.slice(0, first));
  const candidates: AdvanceCandidate[] = [];
  let probeLockMs = 0;
  for (let index = first; index < plan.candidates.length; index++) {
    const destination = deps.destinations.get(plan.candidates[index] as string);
    if (!destination || staticSkipReason(destination, lead, now, tried) !== undefined) continue;
    candidates.push({ index, destination: destination.id, caps: destination.caps, periods: capPeriods(destination, now) });
    probeLockMs = Math.max(probeLockMs, destination.timeoutMs + 5_000);
  }
  const decision = parseDecision(await deps.lifecycle.advance(lead.id, step, candidates, probeLockMs, shared));
  // The lane ended (in a sale, or with none left while others run): nothing more to do for it.
  if (decision.kind === 'ended' || decision.kind === 'sold') return;
  if (decision.kind === 'unsold') {
    // A shared lead's last lane may end before another lane's tries are known here: ask Redis.
    const tried = attempted || (shared && (await deps.lifecycle.attemptsMade(lead.id)) > 0);
    await finishUnsold(deps, lead, tried ? 'all_rejected' : 'no_eligible_destination', plan.route, plan.round);
    return;
  }
  // advance.lua records a candidate or 'unsold' (a 'retry' recorded for this step is followed before
  // advancing): anything else is a bug, and the job fails where an operator sees it.
  if (decision.kind !== 'candidate') throw new Error(`lead ${lead.id}: step ${step} is recorded as '${decision.kind}', not a choice of destination`);
  const { index } = decision;
  await queueDelivery(deps, lead.id, plan.candidates[index] as string, { leadId: lead.id, index, attempt: 0 }, 0, plan.round);
}

/** Job ids are deterministic (lead, candidate, try), so a step that runs twice queues nothing twice. */
export async function queueDelivery(deps: WorkerDeps, leadId: string, destinationId: string, data: DeliverJobData, delayMs: number, round: number): Promise<void> {
  const queue = deps.deliverQueues.get(destinationId);
  if (!queue) throw new Error(`no delivery queue for destination ${destinationId}`);
  const jobId = deliverJobId(leadId, round, data.index, data.attempt);
  await queue.add('deliver', { ...data, round }, { ...DELIVER_JOB_OPTIONS, jobId, ...(delayMs > 0 ? { delay: delayMs } : {}) });
}

/**
 * The route step's hand-over: the lead's first candidate, or each lane's of a shared lead (lane 0
 * first, so it takes the best). Also on a re-run: each lane's decision is recorded, so nothing is
 * queued twice, and a lane a crash kept from starting starts now.
 */
export async function startDelivery(deps: WorkerDeps, lead: Lead, plan: DeliveryPlan, attempted: boolean): Promise<void> {
  for (let lane = 0; lane < (plan.lanes ?? 1); lane++) await advance(deps, lead, plan, 0, laneStartStep(lane), attempted);
}
