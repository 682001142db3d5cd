import type { RedisClient } from '@leadrouter/redis';
import { FINAL_STATUSES, type LeadStatus } from '@leadrouter/lead';
import type { LeadStore } from '@leadrouter/store';

export interface LeadOutcome {
  result: 'delivered' | 'unsold';
  payout?: number;
  reason?: string;
}

/**
 * `?wait=SECONDS`: holds an answer until the lead is delivered or unsold. Workers publish each
 * final lead on one channel; this process keeps one subscriber connection and a map of waiters, so
 * waiting costs no polling. The status is read once after subscribing, for leads that finished
 * before the waiter was registered.
 */
export class OutcomeWaiter {
  private readonly waiters = new Map<string, Set<(outcome: LeadOutcome | undefined) => void>>();
  private subscribed: Promise<unknown> | undefined;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    private readonly store: LeadStore,
  ) {
    subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
  }

  async wait(leadId: string, seconds: number): Promise<LeadOutcome | undefined> {
    this.subscribed ??= this.subscriber.subscribe(this.channel).catch((err: unknown) => {
      this.subscribed = undefined;
      throw err;
    });
    return new Promise<LeadOutcome | undefined>((resolve) => {
      let settled = false;
      const finish = (outcome: LeadOutcome | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const set = this.waiters.get(leadId);
        set?.delete(finish);
        if (set?.size === 0) this.waiters.delete(leadId);
        resolve(outcome);
      };
      const timer = setTimeout(() => finish(undefined), seconds * 1000);
      let set = this.waiters.get(leadId);
      if (!set) this.waiters.set(leadId, (set = new Set()));
      set.add(finish);
      (this.subscribed as Promise<unknown>)
        .then(() => this.store.outcome(leadId))
        .then(({ status, payout, reason }) => {
          if (status && FINAL_STATUSES.has(status as LeadStatus)) finish(toOutcome(status, payout, reason ?? undefined));
        })
        .catch(() => undefined);
    });
  }

  /** Answers every pending wait with "no outcome yet" (the plain 202): used when shutting down. */
  releaseAll(): void {
    for (const set of [...this.waiters.values()]) for (const finish of [...set]) finish(undefined);
  }

  private onMessage(message: string): void {
    let parsed: { id?: string; status?: string; payout?: number | string | null; reason?: string };
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    const set = parsed.id ? this.waiters.get(parsed.id) : undefined;
    if (!set || !parsed.status) return;
    const outcome = toOutcome(parsed.status, parsed.payout ?? null, parsed.reason);
    for (const finish of [...set]) finish(outcome);
  }
}

function toOutcome(status: string, payout: number | string | null, reason?: string): LeadOutcome {
  if (status === 'unsold') return reason ? { result: 'unsold', reason } : { result: 'unsold' };
  const outcome: LeadOutcome = { result: 'delivered' };
  if (payout !== null && payout !== '' && Number.isFinite(Number(payout))) outcome.payout = Number(payout);
  return outcome;
}
