import { FINAL_STATUSES } from '@leadrouter/lead';
import { LEAD_HASH as F, SALE_FIELD_PREFIX, allBuckets, leadBucket, type RedisClient, type RedisKeys } from '@leadrouter/redis';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/**
 * What a compacted lead keeps in its state hash (compact-lead.lua): what postbacks (status, sale,
 * money, learning marks, refused count), supplier notifications (supplier, source, geo, click
 * id) and the failed-jobs sweep and job re-runs (round: only there once a lead was redelivered)
 * read, and the cap marker of each buyer (its sale's hold, compact-lead-3.lua). The rest (plan,
 * step decisions, other cap markers, fences, attempts, route, times, fields, history) is the
 * ledger's. Every byte here is kept per lead for `leads.retentionDays`.
 */
export const COMPACTED_FIELDS: readonly string[] = [F.supplier, F.status, F.source, F.geo, F.destination, F.payout, F.reason, F.round, 'seq', 'clickId', 'learnt', 'refusedPostbacks'];
/** Kept of an unsold lead only: a redelivery's learning reads its answer count. */
export const COMPACTED_UNSOLD_FIELDS: readonly string[] = ['answered'];
/**
 * Learning marks (a shared lead's are per buyer: `learnt:<destination>`, and its answer counts
 * `answered:<destination>`, which a redelivery's learning reads) and a shared lead's sales.
 */
const COMPACTED_PREFIXES: readonly string[] = ['learnMoved', 'learnt', 'answered:', SALE_FIELD_PREFIX];

/** A lead whose events 1..seq the ledger has stored, and its status there. */
export interface LedgerHeldLead {
  leadId: string;
  seq: number;
  status: string;
}

/** How long a final lead stays whole after the ledger has it, by default (LEDGER_COMPACT_AFTER_MS). */
export const DEFAULT_COMPACT_AFTER_MS = 300_000;
const DUE_BATCH = 500;
/** A shared lead still delivering on other lanes is looked at again this much later, at least. */
const DELIVERING_RETRY_MS = 5_000;

/**
 * Drops from Redis what the ledger now holds of final leads (contract §10): their fields and
 * history. A ledger writer schedules the final leads whose history a commit completed; they are
 * compacted `afterMs` later. The wait is for what a crash can leave behind: a delivery or route
 * job re-run by BullMQ after its worker died (its stalled check, 30 s by default) reads the whole
 * lead to give back a cap slot or to make sure the supplier heard of the sale. The schedule is a
 * sorted set per lead bucket in Redis (`<prefix>:ledger-compact-due:{<bucket>}`), so a writer that dies loses none of it.
 */
export class LeadCompaction {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly afterMs: number = DEFAULT_COMPACT_AFTER_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.compactLead]);
  }

  /** Schedules the final leads of `held` for compaction (now, when `afterMs` is 0). */
  async schedule(held: readonly LedgerHeldLead[]): Promise<void> {
    const finals = held.filter((h) => FINAL_STATUSES.has(h.status as never));
    if (finals.length === 0) return;
    if (this.afterMs <= 0) {
      await this.compact(finals);
      return;
    }
    await this.scheduleAt(this.now() + this.afterMs, finals);
  }

  /** Each lead's entry goes to its own bucket's schedule (the lead's slot). */
  private async scheduleAt(due: number, held: readonly LedgerHeldLead[]): Promise<void> {
    const byBucket = new Map<number, LedgerHeldLead[]>();
    for (const h of held) {
      const bucket = leadBucket(h.leadId);
      byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), h]);
    }
    await Promise.all([...byBucket].map(([bucket, leads]) => this.redis.zadd(this.keys.compactionDue(bucket), ...leads.flatMap((h) => [due, member(h)]))));
  }

  /** Compacts the scheduled leads whose time has come, a batch per bucket at a time; returns how many were compacted. */
  async compactDue(): Promise<number> {
    const counts = await Promise.all(allBuckets().map((b) => this.compactDueIn(b)));
    return counts.reduce((sum, n) => sum + n, 0);
  }

  private async compactDueIn(bucket: number): Promise<number> {
    const key = this.keys.compactionDue(bucket);
    const members = await this.redis.zrangebyscore(key, '-inf', this.now(), 'LIMIT', 0, DUE_BATCH);
    if (members.length === 0) return 0;
    const held = members.flatMap((m): LedgerHeldLead[] => {
      const [leadId, seq, status] = m.split(':');
      return leadId && seq && status ? [{ leadId, seq: Number(seq), status }] : [];
    });
    const { compacted, delivering } = await this.compactOrPostpone(held);
    // Whatever the answer (compacted, or changed since: its newer change schedules it again), but a
    // shared lead still delivering, whose entry compactOrPostpone moved on in time.
    const postponed = new Set(delivering.map(member));
    const done = members.filter((m) => !postponed.has(m));
    if (done.length > 0) await this.redis.zrem(key, ...done);
    return compacted;
  }

  /** Compacts each final lead of `held` that has not changed since; returns how many were compacted. */
  async compact(held: readonly LedgerHeldLead[]): Promise<number> {
    return (await this.compactOrPostpone(held)).compacted;
  }

  private async compactOrPostpone(held: readonly LedgerHeldLead[]): Promise<{ compacted: number; delivering: LedgerHeldLead[] }> {
    const finals = held.filter((h) => FINAL_STATUSES.has(h.status as never));
    const finalStatuses = [...FINAL_STATUSES];
    // One auto-pipelined round trip for the batch: each call is its own atomic step.
    const results = await Promise.all(
      finals.map((h) =>
        this.scripts.run<string>(SCRIPTS.compactLead, [this.keys.lead(h.leadId), this.keys.leadData(h.leadId), this.keys.leadEvents(h.leadId)], {
          seq: h.seq,
          finalStatuses,
          keep: COMPACTED_FIELDS,
          keepPrefixes: COMPACTED_PREFIXES,
          keepIfUnsold: COMPACTED_UNSOLD_FIELDS,
        }),
      ),
    );
    // A shared lead whose other lanes still run (contract §9): its last lane may end with no change
    // the ledger hears of, so nothing would schedule it again. It is looked at again later.
    const delivering = finals.filter((_h, i) => results[i] === 'delivering');
    if (delivering.length > 0) {
      await this.scheduleAt(this.now() + Math.max(this.afterMs, DELIVERING_RETRY_MS), delivering);
    }
    return { compacted: results.filter((r) => r === 'compacted').length, delivering };
  }
}

/** A lead's entry in the compaction schedule. */
function member(h: LedgerHeldLead): string {
  return `${h.leadId}:${h.seq}:${h.status}`;
}
