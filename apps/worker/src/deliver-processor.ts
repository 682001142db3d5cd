import type { Job } from 'bullmq';
import type { DestinationConfig } from '@leadrouter/config';
import type { Lead } from '@leadrouter/lead';
import { buildRequest, capPeriods, classifyReply, parseRetryAfter, retryDelayMs, type DeliveryRequest, type ReplyClass } from '@leadrouter/routing';
import { deliverJobRound, type DeliverJobData } from '@leadrouter/redis';
import type { AttemptAction } from '@leadrouter/store';
import { advance, queueDelivery } from './advance.js';
import { DELIVERY_DEFAULTS, type WorkerDeps } from './deps.js';
import { countSale } from './outcomes.js';
import { ownFailure, sendDelivery } from './send.js';

type Outcome = 'accepted' | 'rejected' | 'error' | 'timeout';

/**
 * One try of one lead at one destination (a job on that destination's own queue). Accepted: the
 * lead is sold. Rejected: the next candidate at once. Error: retried with backoff up to
 * `retry.attempts` times, then the next candidate. Every try is an `attempt` event.
 */
export function createDeliverProcessor(deps: WorkerDeps) {
  return async (job: Job<DeliverJobData>): Promise<void> => {
    const { leadId, index, attempt } = job.data;
    const loaded = await deps.lifecycle.load(leadId);
    if (!loaded?.plan) return;
    const { lead, plan } = loaded;
    if (deliverJobRound(job) !== (plan.round ?? 0)) {
      // A try of an earlier round (the lead was redelivered since; the job had failed or stalled
      // meanwhile): its round ended, with nothing held, and its step numbers mean nothing in the
      // new plan. Acting on it could offer the lead to a second buyer.
      deps.logger.info({ leadId, jobId: job.id, round: plan.round ?? 0 }, 'delivery job of an earlier round: skipped');
      return;
    }
    const destinationId = plan.candidates[index] as string;
    const destination = deps.destinations.get(destinationId);
    if (loaded.status !== 'queued' || !destination) {
      if (loaded.destination === destinationId) {
        // The lead was sold to this destination (by this try, before a crash, or by another try of
        // the same destination): the cap slot is the sale's, also after postbacks moved the status
        // on. While it is still `delivered`, make sure the supplier hears of the sale (the job id
        // makes a second notification impossible).
        if (loaded.status === 'delivered') await deps.notifier.notify(lead.supplier, leadId, 'delivered', `delivered.${plan.round ?? 0}`);
        return;
      }
      // Sold elsewhere or ended meanwhile (a job left over from a crash): give back what this step held.
      await deps.lifecycle.releaseCap(leadId, destinationId);
      return;
    }
    const step = `${index}.${attempt}`;
    const decided = loaded.decisions[step];
    if (decided !== undefined) {
      // A re-run of a try whose outcome was already recorded (the worker died after recording it):
      // follow the recorded decision without sending the lead to the buyer again.
      if (decided === 'retry') await queueDelivery(deps, leadId, destinationId, { leadId, index, attempt: attempt + 1 }, 0, plan.round ?? 0);
      else await advance(deps, lead, plan, index + 1, step, true);
      return;
    }
    const request = tryBuildRequest(destination, lead);
    const result = typeof request === 'string' ? ownFailure(request) : await sendDelivery(request, destination.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs);
    const verdict: ReplyClass =
      result.kind === 'reply' ? classifyReply(destination.response, result.reply) : { outcome: 'error', error: result.error };
    // A request we could not build or send never reached the buyer: it is not the buyer's failure
    // (the circuit ignores it) and would fail the same way again (no retry: the next candidate).
    const ownFault = result.kind === 'failure' && result.ownFault;
    const outcome: Outcome = result.kind === 'failure' && result.timeout ? 'timeout' : verdict.outcome;
    deps.metrics.deliveryAttempts.inc({ destination: destinationId, outcome });
    deps.metrics.deliveryDuration.observe({ destination: destinationId }, result.durationMs / 1000);

    let action: AttemptAction = 'next';
    let delay: number | 'give_up' = 'give_up';
    if (verdict.outcome === 'accepted') action = 'sold';
    else if (verdict.outcome === 'error' && !ownFault && attempt < (destination.retry?.attempts ?? DELIVERY_DEFAULTS.retryAttempts)) {
      const retryAfterMs = result.kind === 'reply' ? parseRetryAfter(result.retryAfter) : undefined;
      delay = retryDelayMs(attempt + 1, destination.retry?.backoffMs ?? DELIVERY_DEFAULTS.backoffMs, deps.random, retryAfterMs);
      if (delay !== 'give_up') action = 'retry';
    }
    const at = deps.now();
    const recorded = await deps.lifecycle.recordAttempt({
      leadId,
      destination: destinationId,
      event: {
        at: at.toISOString(),
        type: 'attempt',
        destination: destinationId,
        outcome: verdict.outcome,
        httpStatus: result.kind === 'reply' ? result.reply.status : null,
        durationMs: result.durationMs,
        error: verdict.outcome === 'error' ? verdict.error : verdict.outcome === 'rejected' ? verdict.detail : null,
        try: attempt + 1,
      },
      circuit: ownFault ? 'untouched' : verdict.outcome === 'error' ? 'failure' : 'success',
      action,
      circuitThreshold: destination.circuit?.failures ?? DELIVERY_DEFAULTS.circuitThreshold,
      circuitCooldownMs: destination.circuit?.cooldownMs ?? DELIVERY_DEFAULTS.circuitCooldownMs,
      payout: destination.payout ?? 0,
      route: plan.route,
      step,
      outcome: verdict.outcome,
      day: capPeriods(destination, at).daily,
      geo: lead.geo,
      learningKeep: 1 - 1 / deps.config.learning.memory,
      priceKeep: 1 - 1 / deps.config.learning.priceMemory,
    });
    if (recorded.circuit) {
      deps.metrics.circuitOpen.set({ destination: destinationId }, recorded.circuit === 'opened' ? 1 : 0);
      deps.logger.warn({ destination: destinationId }, `circuit ${recorded.circuit}`);
    }
    if (action === 'sold') {
      if (recorded.result === 'ok') countSale(deps, lead, destinationId, plan.route, destination.payout ?? 0, at);
      // Also when a re-run of this try finds the lead already sold: the job id makes it one notification.
      if (recorded.result === 'ok' || recorded.result === 'delivered') await deps.notifier.notify(lead.supplier, leadId, 'delivered', `delivered.${plan.round ?? 0}`);
      return;
    }
    if (action === 'retry') {
      if (recorded.result === 'retry') {
        await queueDelivery(deps, leadId, destinationId, { leadId, index, attempt: attempt + 1 }, delay as number, plan.round ?? 0);
        return;
      }
      // A first run of this step (before a crash) decided to move on: follow it, without this slot.
      await deps.lifecycle.releaseCap(leadId, destinationId);
    }
    await advance(deps, lead, plan, index + 1, step, true);
  };
}

/** The request, or why it could not be built (a template LeadRouter cannot fill is its own fault). */
function tryBuildRequest(destination: DestinationConfig, lead: Lead): DeliveryRequest | string {
  try {
    return buildRequest(destination, lead);
  } catch (err) {
    return `request could not be built: ${(err as Error).message}`;
  }
}
