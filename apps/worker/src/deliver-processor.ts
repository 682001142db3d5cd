import type { Job } from 'bullmq';
import { buildRequest, classifyReply, parseRetryAfter, retryDelayMs, type ReplyClass } from '@leadrouter/routing';
import type { DeliverJobData } from '@leadrouter/redis';
import { advance, queueDelivery } from './advance.js';
import { DELIVERY_DEFAULTS, type WorkerDeps } from './deps.js';
import { finishSold } from './outcomes.js';
import { sendDelivery, type SendResult } from './send.js';

type Outcome = 'accepted' | 'rejected' | 'error' | 'timeout';

/**
 * One try of one lead at one destination (a job on that destination's own queue). Accepted: the
 * lead is sold. Rejected: the next candidate at once. Error: retried with backoff up to
 * `retry.attempts` times, then the next candidate. Every try is an `attempt` event.
 */
export function createDeliverProcessor(deps: WorkerDeps) {
  return async (job: Job<DeliverJobData>): Promise<void> => {
    const { leadId, index, attempt } = job.data;
    const loaded = await deps.state.load(leadId);
    if (!loaded?.plan) return;
    const { lead, plan } = loaded;
    const destinationId = plan.candidates[index] as string;
    const destination = deps.destinations.get(destinationId);
    if (loaded.status !== 'queued' || !destination) {
      // Sold or ended meanwhile (a job left over from a crash): give back what this step held.
      await deps.state.releaseCap(leadId, destinationId);
      return;
    }
    const timeoutMs = destination.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs;
    const result = await sendDelivery(buildRequest(destination, lead), timeoutMs);
    const verdict: ReplyClass =
      result.kind === 'reply' ? classifyReply(destination.response, result.reply) : { outcome: 'error', error: result.error };
    const outcome: Outcome = result.kind === 'failure' && result.timeout ? 'timeout' : verdict.outcome;
    await recordAttempt(deps, leadId, destinationId, outcome, verdict, result, attempt);

    const healthy = verdict.outcome !== 'error';
    const change = await deps.state.recordCircuit(destinationId, healthy, DELIVERY_DEFAULTS.circuitThreshold, DELIVERY_DEFAULTS.circuitCooldownMs);
    if (change) {
      deps.metrics.circuitOpen.set({ destination: destinationId }, change === 'opened' ? 1 : 0);
      deps.logger.warn({ destination: destinationId }, `circuit ${change}`);
    }

    const step = `${index}.${attempt}`;
    if (verdict.outcome === 'accepted') {
      await finishSold(deps, lead, destinationId, plan.route);
      return;
    }
    if (verdict.outcome === 'error') {
      const retries = destination.retry?.attempts ?? DELIVERY_DEFAULTS.retryAttempts;
      const retryAfterMs = result.kind === 'reply' ? parseRetryAfter(result.retryAfter) : undefined;
      const delay = attempt < retries ? retryDelayMs(attempt + 1, destination.retry?.backoffMs ?? DELIVERY_DEFAULTS.backoffMs, deps.random, retryAfterMs) : 'give_up';
      if (delay !== 'give_up' && (await deps.state.decide(leadId, step, 'retry')) === 'retry') {
        await queueDelivery(deps, leadId, destinationId, { leadId, index, attempt: attempt + 1 }, delay);
        return;
      }
    }
    await deps.state.releaseCap(leadId, destinationId);
    await advance(deps, lead, plan, index + 1, step, true);
  };
}

async function recordAttempt(
  deps: WorkerDeps,
  leadId: string,
  destination: string,
  outcome: Outcome,
  verdict: ReplyClass,
  result: SendResult,
  attempt: number,
): Promise<void> {
  deps.metrics.deliveryAttempts.inc({ destination, outcome });
  deps.metrics.deliveryDuration.observe({ destination }, result.durationMs / 1000);
  await deps.state.appendEvent(
    leadId,
    {
      at: deps.now().toISOString(),
      type: 'attempt',
      destination,
      outcome: verdict.outcome,
      httpStatus: result.kind === 'reply' ? result.reply.status : null,
      durationMs: result.durationMs,
      error: verdict.outcome === 'error' ? verdict.error : verdict.outcome === 'rejected' ? verdict.detail : null,
      try: attempt + 1,
    },
    true,
  );
}
