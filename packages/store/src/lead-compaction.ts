import type { Redis } from 'ioredis';
import { FINAL_STATUSES } from '@leadrouter/lead';
import { LEAD_HASH as F, type RedisKeys } from '@leadrouter/redis';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/**
 * What a compacted lead keeps in its state hash (compact-lead.lua): what postbacks (status, sale,
 * money, learning marks, refused count) and supplier notifications (supplier, source, geo, click
 * id) read. The rest (plan, step decisions, cap holds, attempts, route, times, fields, history) is
 * the ledger's. Every byte here is kept per lead for `leads.retentionDays`.
 */
export const COMPACTED_FIELDS: readonly string[] = [F.supplier, F.status, F.source, F.geo, F.destination, F.payout, F.reason, 'seq', 'clickId', 'learnt', 'refusedPostbacks'];
/** Kept of an unsold lead only: an admin's redelivery reads its round, and learning its answer count. */
export const COMPACTED_UNSOLD_FIELDS: readonly string[] = [F.round, 'answered'];
const COMPACTED_PREFIXES: readonly string[] = ['learnMoved'];

/** A lead whose events 1..seq the ledger has stored, and its status there. */
export interface LedgerHeldLead {
  leadId: string;
  seq: number;
  status: string;
}

/**
 * Drops from Redis what the ledger now holds of final leads (contract §10): their fields and
 * history. Called by a ledger writer after each commit with the leads whose history it completed.
 */
export class LeadCompaction {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.compactLead]);
  }

  /** Compacts each final lead of `held` that has not changed since; returns how many were compacted. */
  async compact(held: readonly LedgerHeldLead[]): Promise<number> {
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
    return results.filter((r) => r === 'compacted').length;
  }
}
