import type { ReplyClass } from './classify-reply.js';
import { retryDelayMs } from './retry.js';

/** What one try of a lead at a destination came to, as the decision needs it. */
export interface TryOutcome {
  verdict: ReplyClass;
  /** LeadRouter could not build or send the request: the buyer never saw it, and a retry would fail the same way. */
  ownFault: boolean;
  /** The destination's Retry-After, in ms from now, when it sent one. */
  retryAfterMs: number | undefined;
}

export type AfterTry = { action: 'sold' } | { action: 'retry'; delayMs: number } | { action: 'next' };

/**
 * The delivery chain's rule after a try (contract §4): an acceptance sells the lead; a rejection
 * moves on at once; an error is retried up to `retry.attempts` times with backoff (a Retry-After
 * within bounds honoured, a longer one moving on), then moves on; a request of our own making that
 * failed moves on at once. `attempt` is the try's number from 0. Pure: the random draw (jitter) is
 * injected.
 */
export function decideAfterTry(outcome: TryOutcome, attempt: number, retry: { attempts: number; backoffMs: number }, random: () => number): AfterTry {
  if (outcome.verdict.outcome === 'accepted') return { action: 'sold' };
  if (outcome.verdict.outcome === 'rejected' || outcome.ownFault || attempt >= retry.attempts) return { action: 'next' };
  const delay = retryDelayMs(attempt + 1, retry.backoffMs, random, outcome.retryAfterMs);
  return delay === 'give_up' ? { action: 'next' } : { action: 'retry', delayMs: delay };
}
