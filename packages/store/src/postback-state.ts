import { LOST_STATUSES, POSTBACK_TRANSITIONS } from '@leadrouter/lead';
import { leadBucket, type RedisClient, type RedisKeys } from '@leadrouter/redis';
import { DestinationEffects } from './destination-effects.js';
import type { LeadEvent } from './lead-store.js';
import { notificationEntry } from './notification-outbox.js';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/** `pending`: the lead is still queued with this destination in its plan: not sold to it (yet). */
export type PostbackResult = 'not_found' | 'pending' | 'duplicate' | 'invalid_transition' | 'applied';

export interface PostbackOutcome {
  result: PostbackResult;
  /** The lead's status after the call. */
  status: string;
  oldPayout: number;
  newPayout: number;
  /** The lead's source ('' when no lead matched), for the metric's bounded `source` label. */
  source: string;
  supplier: string;
  /** For an applied postback: its notification's entry in the outbox, to clear once it is queued. */
  outboxEntry?: string;
}

/** The last, on 'applied' only: the owed destination effect ('' when the postback teaches nothing). */
type PostbackReply = [string, string, string, string, string, string, string?];

/**
 * Refused postbacks (invalid, repeats, disallowed changes) a lead's history records at most: a
 * buyer retrying a bad postback for ever must not grow the lead without limit. Applied postbacks
 * are always recorded; the metrics count every postback.
 */
export const MAX_REFUSED_POSTBACKS_PER_LEAD = 100;

/** Applies postbacks to leads with the state machine of contract §5, in one atomic step each (postback.lua). */
export class PostbackState {
  private readonly scripts: ScriptRunner;

  private readonly effects: DestinationEffects;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
    /** Learnt price keep factor per sale: 1 - 1 / learning.priceMemory. */
    private readonly priceKeep: number,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.postback, SCRIPTS.recordRefusedPostback]);
    this.effects = new DestinationEffects(redis, keys);
  }

  async apply(
    leadId: string,
    destination: string,
    status: string,
    payout: number | undefined,
    eventId: string | undefined,
    event: Omit<LeadEvent, 'result'>,
    /** The supplier notification's key (its job id within the lead): the same for a repeat. */
    notificationKey: string,
  ): Promise<PostbackOutcome> {
    // Named with its buyer: for a shared lead (contract §9) the notification is of that sale.
    const outboxEntry = notificationEntry({ leadId, status, key: notificationKey, sale: destination });
    const [result, inForce, oldPayout, newPayout, source, supplier, owed] = await this.scripts.run<PostbackReply>(
      SCRIPTS.postback,
      [this.keys.lead(leadId), this.keys.leadEvents(leadId), this.keys.leadPostbackIds(leadId), this.keys.notifyOutbox(leadBucket(leadId)), this.keys.ledgerStreamOf(leadId), this.keys.owedEffects(leadBucket(leadId))],
      {
        leadId,
        destination,
        status,
        payout: payout === undefined ? '' : String(payout),
        eventId: eventId ?? '',
        event: JSON.stringify({ ...event, result: '__RESULT__' }),
        retentionMs: this.retentionMs,
        priceKeep: this.priceKeep,
        outboxEntry,
        refusedBound: MAX_REFUSED_POSTBACKS_PER_LEAD,
        transitions: POSTBACK_TRANSITIONS,
        lostStatuses: LOST_STATUSES,
        nowMs: Date.now(),
        ledgerOn: this.keys.ledgerOn,
      },
    );
    // The learning correction, in the destination's slot (housekeeping replays it should this process die first).
    if (owed) await this.effects.apply(owed);
    return {
      result: result as PostbackResult,
      status: inForce,
      oldPayout: Number(oldPayout || 0),
      newPayout: Number(newPayout || 0),
      source,
      supplier,
      ...(result === 'applied' ? { outboxEntry } : {}),
    };
  }

  /** For a postback refused as invalid: records it on the lead when the lead is this destination's (up to the bound); returns the lead's source then. */
  async recordRefused(leadId: string, destination: string, event: LeadEvent): Promise<string | undefined> {
    const source = await this.scripts.run<string | null>(SCRIPTS.recordRefusedPostback, [this.keys.lead(leadId), this.keys.leadEvents(leadId), this.keys.ledgerStreamOf(leadId)], {
      leadId,
      destination,
      event: JSON.stringify(event),
      refusedBound: MAX_REFUSED_POSTBACKS_PER_LEAD,
      ledgerOn: this.keys.ledgerOn,
    });
    return source ?? undefined;
  }
}
