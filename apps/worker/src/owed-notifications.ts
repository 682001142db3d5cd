import type { WorkerDeps } from './deps.js';

/** An outbox entry younger than this is left to the postback service that wrote it. */
export const OWED_NOTIFICATION_AFTER_MS = 10_000;
/** An entry that still cannot be queued after this long is dropped, with an error in the log. */
export const OWED_NOTIFICATION_GIVE_UP_MS = 24 * 3600 * 1000;
const PER_ROUND = 500;

/**
 * Queues the supplier notifications of applied postbacks that the postback service did not
 * (it died after the status change, or Redis refused the queueing). The job id comes from the
 * entry, so one that was queued after all is not sent twice. An entry whose lead has expired, or
 * that is not ours, is dropped. One entry that cannot be queued is logged and left for the next
 * round (for a day at most): it never holds up the others or the rest of housekeeping.
 */
export async function queueOwedNotifications(deps: WorkerDeps, afterMs = OWED_NOTIFICATION_AFTER_MS): Promise<number> {
  let queued = 0;
  for (const { entry, ageMs, notification, supplier } of await deps.notificationOutbox.stale(afterMs, PER_ROUND)) {
    try {
      if (notification && supplier) {
        await deps.notifier.notify(supplier, notification.leadId, notification.status, notification.key, notification.sale);
        deps.logger.warn({ leadId: notification.leadId, status: notification.status }, 'queued a supplier notification that the postback service had left in its outbox');
        queued += 1;
      }
      await deps.notificationOutbox.done(entry);
    } catch (err) {
      const give = ageMs > OWED_NOTIFICATION_GIVE_UP_MS;
      deps.logger[give ? 'error' : 'warn']({ leadId: notification?.leadId, status: notification?.status, err: (err as Error).message }, give ? 'dropped a supplier notification that could not be queued for a day' : 'could not queue a supplier notification from the outbox; next round tries again');
      if (give) await deps.notificationOutbox.done(entry).catch(() => undefined);
    }
  }
  return queued;
}
