/** A Retry-After longer than this is not waited for: the next destination is tried instead. */
export const RETRY_AFTER_MAX_MS = 60_000;
/** Exponential backoff never waits longer than this between two tries of one destination. */
export const BACKOFF_CAP_MS = 300_000;

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (1 for the first retry): exponential from `backoffMs` with
 * equal jitter (half fixed, half random, so many leads failing together do not retry together),
 * capped at BACKOFF_CAP_MS. A destination's Retry-After is honoured when it is within
 * RETRY_AFTER_MAX_MS; beyond that, 'give_up' moves the lead on to the next destination.
 */
export function retryDelayMs(retry: number, backoffMs: number, random: () => number, retryAfterMs?: number): number | 'give_up' {
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > RETRY_AFTER_MAX_MS) return 'give_up';
    return Math.round(retryAfterMs + random() * Math.min(1000, retryAfterMs * 0.1));
  }
  const base = Math.min(BACKOFF_CAP_MS, backoffMs * 2 ** (retry - 1));
  return Math.round(base / 2 + random() * (base / 2));
}
