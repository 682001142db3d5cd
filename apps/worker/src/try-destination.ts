import type { ResolvedDestination } from '@leadrouter/config';
import type { Lead } from '@leadrouter/lead';
import { buildRequest, capPeriods, classifyReply, decideAfterTry, parseRetryAfter, type AfterTry, type DeliveryRequest, type ReplyClass } from '@leadrouter/routing';
import type { AttemptRecord, LeadForDelivery } from '@leadrouter/store';
import { advance, queueDelivery } from './advance.js';
import type { WorkerDeps } from './deps.js';
import { countSale } from './outcomes.js';
import { ownFailure, sendDelivery, type SendResult } from './send.js';
import { notifySale } from './resume-step.js';

type MetricOutcome = 'accepted' | 'rejected' | 'error' | 'timeout';

/**
 * Sends the lead to the destination once, records the try and what follows from it in one Lua step
 * (record-attempt.lua), and follows the decision: sold, retried later, or on to the next candidate.
 */
export async function tryDestination(deps: WorkerDeps, loaded: LeadForDelivery, destination: ResolvedDestination, at: { index: number; attempt: number; step: string }): Promise<void> {
  const { lead } = loaded;
  const plan = loaded.plan as NonNullable<LeadForDelivery['plan']>;
  // A winning bid (contract §9) is the sale's revenue, and the post may name it.
  const won = plan.bids?.[destination.id];
  const payout = won?.bid ?? destination.payout;
  // Always set: a supplier's own field named `bid` or `ping_reference` never stands in for them.
  const request = tryBuildRequest(destination, lead, { bid: won?.bid ?? '', ping_reference: won?.reference ?? '' });
  const result = typeof request === 'string' ? ownFailure(request) : await sendDelivery(request, destination.timeoutMs);
  const verdict: ReplyClass = result.kind === 'reply' ? classifyReply(destination.response, result.reply) : { outcome: 'error', error: result.error };
  // A request we could not build or send never reached the buyer: it is not the buyer's failure
  // (the circuit ignores it) and would fail the same way again (no retry: the next candidate).
  const ownFault = result.kind === 'failure' && result.ownFault;
  countTry(deps, destination.id, result, verdict);
  const decision = decideAfterTry(
    { verdict, ownFault, retryAfterMs: result.kind === 'reply' ? parseRetryAfter(result.retryAfter) : undefined },
    at.attempt,
    destination.retry,
    deps.random,
  );
  const now = deps.now();
  const recorded = await deps.lifecycle.recordAttempt(attemptRecord(deps, { lead, destination, payout, route: plan.route, result, verdict, ownFault, decision, step: at.step, attempt: at.attempt, now, shared: plan.lanes !== undefined }));
  if (recorded.circuit) {
    deps.metrics.circuitOpen.set({ destination: destination.id }, recorded.circuit === 'opened' ? 1 : 0);
    deps.logger.warn({ destination: destination.id }, `circuit ${recorded.circuit}`);
  }
  if (decision.action === 'sold') {
    if (recorded.result === 'ok') countSale(deps, lead, destination.id, plan.route, payout, now);
    // Also when a re-run of this try finds the lead already sold: the job id makes it one notification.
    if (recorded.result === 'ok' || recorded.result === 'delivered') await notifySale(deps, loaded, destination.id, plan.round);
    // A shared lead whose lanes all ended, or whose lane moved on meanwhile: this slot is no sale's.
    else if (recorded.result === 'closed') await deps.lifecycle.releaseCap(lead.id, destination.id);
    return;
  }
  // Another run of this try sold the (shared) lead here: the lane ended in that sale.
  if (recorded.result === 'sold') return;
  if (decision.action === 'retry') {
    if (recorded.result === 'retry') {
      await queueDelivery(deps, lead.id, destination.id, { leadId: lead.id, index: at.index, attempt: at.attempt + 1 }, decision.delayMs, plan.round);
      return;
    }
    // A first run of this step (before a crash) decided to move on: follow it, without this slot.
    await deps.lifecycle.releaseCap(lead.id, destination.id);
  }
  await advance(deps, lead, plan, at.index + 1, at.step, true);
}

/** The request, or why it could not be built (a template LeadRouter cannot fill is its own fault). */
function tryBuildRequest(destination: ResolvedDestination, lead: Lead, extra: Record<string, string | number>): DeliveryRequest | string {
  try {
    return buildRequest(destination, lead, extra);
  } catch (err) {
    return `request could not be built: ${(err as Error).message}`;
  }
}

function countTry(deps: WorkerDeps, destination: string, result: SendResult, verdict: ReplyClass): void {
  const outcome: MetricOutcome = result.kind === 'failure' && result.timeout ? 'timeout' : verdict.outcome;
  deps.metrics.deliveryAttempts.inc({ destination, outcome });
  deps.metrics.deliveryDuration.observe({ destination }, result.durationMs / 1000);
}

/** What record-attempt.lua is told of one try: its event, the circuit verdict, the action, and what learning needs. */
function attemptRecord(
  deps: WorkerDeps,
  t: { lead: Lead; destination: ResolvedDestination; payout: number; route: string; result: SendResult; verdict: ReplyClass; ownFault: boolean; decision: AfterTry; step: string; attempt: number; now: Date; shared: boolean },
): AttemptRecord {
  const { verdict, destination } = t;
  return {
    leadId: t.lead.id,
    destination: destination.id,
    event: {
      at: t.now.toISOString(),
      type: 'attempt',
      destination: destination.id,
      outcome: verdict.outcome,
      httpStatus: t.result.kind === 'reply' ? t.result.reply.status : null,
      durationMs: t.result.durationMs,
      error: verdict.outcome === 'error' ? verdict.error : verdict.outcome === 'rejected' ? verdict.detail : null,
      try: t.attempt + 1,
    },
    circuit: t.ownFault ? 'untouched' : verdict.outcome === 'error' ? 'failure' : 'success',
    action: t.decision.action,
    circuitThreshold: destination.circuit.failures,
    circuitCooldownMs: destination.circuit.cooldownMs,
    payout: t.payout,
    route: t.route,
    step: t.step,
    outcome: verdict.outcome,
    day: capPeriods(destination, t.now).daily,
    geo: t.lead.geo,
    learningKeep: 1 - 1 / deps.config.learning.memory,
    priceKeep: 1 - 1 / deps.config.learning.priceMemory,
    shared: t.shared,
  };
}
