import type { Job } from 'bullmq';
import { deliverJobRound, tryStep, type DeliverJobData } from '@leadrouter/redis';
import { stillDelivering } from '@leadrouter/store';
import type { WorkerDeps } from './deps.js';
import { resumeCompactedLead, resumeEndedLead, resumeRecordedStep } from './resume-step.js';
import { tryDestination } from './try-destination.js';
import { advance } from './advance.js';

/**
 * One try of one lead at one destination (a job on that destination's own queue). A job may run
 * again after a crash, so before any send it checks what is already recorded: a job of an earlier
 * round is skipped, a lead that ended is only tidied up, and a try whose outcome was recorded
 * follows that decision without sending again. Otherwise the lead is sent (try-destination.ts).
 */
export function createDeliverProcessor(deps: WorkerDeps) {
  return async (job: Job<DeliverJobData>): Promise<void> => {
    const { leadId, index, attempt } = job.data;
    const loaded = await deps.lifecycle.load(leadId);
    if (!loaded) {
      await resumeCompactedLead(deps, leadId);
      return;
    }
    if (!loaded.plan) return;
    const { plan } = loaded;
    if (deliverJobRound(job) !== plan.round) {
      // A try of an earlier round (the lead was redelivered since; the job had failed or stalled
      // meanwhile): its round ended, with nothing held, and its step numbers mean nothing in the
      // new plan. Acting on it could offer the lead to a second buyer.
      deps.logger.info({ leadId, jobId: job.id, round: plan.round }, 'delivery job of an earlier round: skipped');
      return;
    }
    const destinationId = plan.candidates[index] as string;
    const destination = deps.destinations.get(destinationId);
    // Ended, or (a shared lead) sold to this destination already: a re-run after the sale.
    if (!stillDelivering(loaded) || loaded.sales[destinationId] !== undefined) return resumeEndedLead(deps, loaded, destinationId, plan.round);
    const step = tryStep(index, attempt);
    const decided = loaded.decisions[step];
    if (decided !== undefined) return resumeRecordedStep(deps, loaded, { index, attempt, step, decided, destinationId });
    if (!destination || !destination.enabled) {
      // A reload removed the destination, or an operator paused it (or a reload disabled it),
      // while this try waited (contract §11): it is skipped. Its cap slot goes back, and the lead
      // moves on along the plan it keeps. A request already sent is not called back.
      deps.logger.info({ leadId, destination: destinationId }, destination ? 'destination paused or disabled: skipped' : 'destination gone from the config: skipped');
      await deps.lifecycle.releaseCap(leadId, destinationId);
      return advance(deps, loaded.lead, plan, index + 1, step, loaded.attempts > 0);
    }
    return tryDestination(deps, loaded, destination, { index, attempt, step });
  };
}
