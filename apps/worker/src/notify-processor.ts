import type { Job } from 'bullmq';
import { notificationUrl } from '@leadrouter/notify';
import type { NotifyJobData } from '@leadrouter/redis';
import type { WorkerDeps } from './deps.js';
import { sendDelivery } from './send.js';

/** A tracker gets this long to answer a notification. */
export const NOTIFY_TIMEOUT_MS = 5_000;

/**
 * Sends one supplier notification (contract §6): a GET of the supplier's `postbackUrl` with the
 * macros filled. Every try is a `notified` event on the lead; anything but a 2xx throws, so BullMQ
 * retries it with exponential backoff for a bounded number of tries.
 */
export function createNotifyProcessor(deps: WorkerDeps) {
  return async (job: Job<NotifyJobData>): Promise<void> => {
    // The running config's (a reload may change a supplier's postbackUrl).
    const suppliers = deps.config.suppliers;
    const { leadId, status, sale } = job.data;
    // Not the whole lead: a compacted one (contract §10) keeps in Redis only what this needs.
    const target = await deps.lifecycle.notificationTarget(leadId, sale);
    const supplier = target ? suppliers.find((s) => s.id === target.supplier) : undefined;
    if (!target || !supplier?.postbackUrl) return;
    const url = notificationUrl(supplier, target.lead, status);
    const result = await sendDelivery({ method: 'GET', url, headers: { 'user-agent': 'LeadRouter/0.1', 'x-lead-id': leadId } }, NOTIFY_TIMEOUT_MS);
    const ok = result.kind === 'reply' && result.reply.status >= 200 && result.reply.status < 300;
    const error = result.kind === 'failure' ? result.error : ok ? null : `HTTP ${result.reply.status}`;
    const mapped = ((supplier.postbackStatusMap ?? {}) as Record<string, string | undefined>)[status] ?? status;
    await deps.lifecycle.appendEvent(leadId, {
      at: deps.now().toISOString(),
      type: 'notified',
      status,
      sent: mapped,
      outcome: ok ? 'ok' : 'error',
      httpStatus: result.kind === 'reply' ? result.reply.status : null,
      durationMs: result.durationMs,
      error,
      try: job.attemptsMade + 1,
    });
    if (!ok) throw new Error(`notification not taken: ${error ?? 'unknown'}`);
  };
}
