import type { Kysely } from 'kysely';
import type { Logger } from '@leadrouter/logging';
import type { Metrics } from '@leadrouter/metrics';
import { entryTimeMs, isCluster, LEDGER_BUCKETS, LEDGER_GROUP, parseAuditEntry, parseLedgerEntry, parseRejectionEntry, type LedgerAudit, type LedgerChange, type LedgerRejection, type RedisKeys, type RedisClient } from '@leadrouter/redis';
import type { LeadCompaction } from '@leadrouter/store';
import { applyChanges, type StoredHistory } from './apply.js';
import { applyRetention } from './retention.js';
import type { LedgerDatabase } from './schema.js';

export interface LedgerWriterOptions {
  /** A connection of its own: the writer blocks on it (XREADGROUP BLOCK). */
  redis: RedisClient;
  keys: RedisKeys;
  db: Kysely<LedgerDatabase>;
  /** This writer's name in the consumer group: unique per process. */
  consumer: string;
  metrics: Metrics;
  logger: Logger;
  batchSize?: number;
  blockMs?: number;
  /** Changes another writer took this long ago and never acknowledged (it died) are taken over. */
  claimIdleMs?: number;
  now?: () => number;
  /** Compacts in Redis the final leads whose history a commit completed (contract §10); none: Redis keeps them whole. */
  compaction?: LeadCompaction;
  /** The retention job (ledger.retentionDays, ledger.piiDays), run every `everyMs` (default hourly) and once at start. */
  retention?: { retentionDays: number; piiDays: number; everyMs?: number };
}

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

interface ReadEntry {
  stream: string;
  id: string;
  fields: readonly string[];
  change: LedgerChange | LedgerRejection | LedgerAudit | undefined;
}

/** `error` is kept with the entry in Redis; `kind` (an SQLSTATE or an error class) is all that reaches the log: messages may quote values, and values may be contact data. */
type DeadEntry = ReadEntry & { error: string; kind: string };

function errorKind(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `SQLSTATE ${code}` : err instanceof Error ? err.name : 'unknown';
}

/**
 * Whether PostgreSQL refused a statement for its data (SQLSTATE classes 22, data exception, and
 * 23, integrity violation) or the entry could not be turned into rows: retrying the same entry
 * cannot help. Anything else (a lost connection, a timeout, a server shutting down) is retried.
 */
function isDataError(err: unknown): boolean {
  if (err instanceof SyntaxError || err instanceof RangeError) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

const MAX_BACKOFF_MS = 10_000;
/** On a Redis Cluster (no blocking read over many slots), how long a writer waits when no stream had anything. */
const CLUSTER_POLL_MS = 100;
/** The dead-letter stream keeps about this many entries, the newest. */
const DEAD_LETTER_MAX = 100_000;

/**
 * A ledger writer (contract §10): reads the change streams of every lead bucket with one consumer
 * group, applies each batch to PostgreSQL in one transaction, and only then acknowledges and
 * deletes its entries. A writer that dies leaves its batch pending; it (or another writer, after
 * `claimIdleMs`) applies it again, which stores each change once. While PostgreSQL is down the
 * batch is retried with backoff and the streams hold the backlog; every other role goes on.
 */
export class LedgerWriter {
  private running = false;
  private loop: Promise<void> | undefined;
  private failures = 0;
  /** The lead buckets' change streams, then the intake's rejections, then the operators' audit events. */
  private readonly streams: string[];
  private readonly rejections: string;
  private readonly audit: string;

  constructor(private readonly o: LedgerWriterOptions) {
    this.rejections = o.keys.ledgerRejections();
    this.audit = o.keys.ledgerAudit();
    this.streams = [...Array.from({ length: LEDGER_BUCKETS }, (_, b) => o.keys.ledgerStream(b)), this.rejections, this.audit];
  }

  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<unknown> = Promise.resolve();

  /** A reload's `ledger.retentionDays` and `ledger.piiDays` (contract §11): the next retention pass uses them. */
  setRetention(retention: { retentionDays: number; piiDays: number }): void {
    if (this.o.retention) this.o.retention = { ...this.o.retention, ...retention };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
    if (this.o.retention) {
      const pass = (): void => {
        const retention = this.o.retention;
        if (!retention) return;
        this.retentionRun = applyRetention(this.o.db, retention).then(
          (done) => {
            if (done.removed > 0 || done.anonymised > 0) this.o.logger.info(done, 'ledger retention: old leads removed, contact data of older ones removed');
          },
          (err: Error) => this.o.logger.warn({ err: err.message }, 'ledger retention pass failed; the next one retries'),
        );
      };
      pass();
      this.retentionTimer = setInterval(pass, this.o.retention.everyMs ?? 3_600_000);
      this.retentionTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.retentionTimer);
    await this.loop;
    await this.retentionRun;
  }

  /** Age of the oldest change not yet applied, in seconds (0 when the streams are empty). */
  async lagSeconds(): Promise<number> {
    const now = (this.o.now ?? Date.now)();
    let oldest = now;
    // Every stream at once (each lives in its bucket's slot of a cluster): the writer asks after each round.
    for (const entries of await Promise.all(this.streams.map((stream) => this.o.redis.xrange(stream, '-', '+', 'COUNT', 1)))) {
      const [first] = entries;
      if (first) oldest = Math.min(oldest, entryTimeMs(first[0]));
    }
    return Math.max(0, (now - oldest) / 1000);
  }

  /** One round: this writer's pending changes first (left by a failure), then abandoned ones, then new ones. Returns how many it applied. */
  async round(): Promise<number> {
    await this.ensureGroups();
    const batch = (await this.read('0')) ?? [];
    if (batch.length === 0) batch.push(...(await this.claimAbandoned()));
    if (batch.length === 0) batch.push(...((await this.read('>', this.o.blockMs ?? 1_000)) ?? []));
    if (batch.length === 0) return 0;
    const { applied, held, dead } = await this.apply(batch);
    this.o.metrics.ledgerWrites.inc({ result: 'applied' }, applied);
    // Scheduled before the acknowledgement: a writer dying between the two schedules them again.
    if (this.o.compaction && held.length > 0) {
      await this.o.compaction.schedule(held).catch((err: Error) => {
        // The ledger has the leads; Redis keeps them whole a while longer (their next change retries).
        this.o.logger.warn({ err: err.message }, 'compaction of stored leads not scheduled');
      });
    }
    // A change no writer can store is set aside, whole, before it is acknowledged: kept for an
    // operator, never lost. One that could not be set aside (Redis full) stays pending, for later.
    const notSetAside = await this.setAside(dead);
    const byStream = new Map<string, string[]>();
    for (const { stream, id } of batch) if (!notSetAside.has(id)) byStream.set(stream, [...(byStream.get(stream) ?? []), id]);
    // A pipeline per stream (one slot each), all sent at once.
    await Promise.all([...byStream].map(([stream, ids]) => this.o.redis.pipeline().xack(stream, LEDGER_GROUP, ...ids).xdel(stream, ...ids).exec()));
    return applied;
  }

  /** Copies dead entries to the dead-letter stream (bounded: it is for an operator to read, not a store); returns the ids it could not copy. */
  private async setAside(dead: readonly DeadEntry[]): Promise<Set<string>> {
    if (dead.length === 0) return new Set();
    const pipeline = this.o.redis.pipeline();
    for (const entry of dead) pipeline.xadd(this.o.keys.ledgerDead(), 'MAXLEN', '~', DEAD_LETTER_MAX, '*', 'stream', entry.stream, 'id', entry.id, 'fields', JSON.stringify(entry.fields), 'error', entry.error);
    const results = (await pipeline.exec()) ?? [];
    return new Set(dead.filter((_entry, i) => results[i]?.[0] !== null).map((entry) => entry.id));
  }

  /**
   * Applies a batch in one transaction. When PostgreSQL refuses the batch for what is in it (a
   * data error, not a lost connection), each entry is applied alone, so that one bad entry cannot
   * hold back every change behind it: the ones PostgreSQL refuses again, and entries that are not
   * changes at all, are `dead`, to be set aside.
   */
  private async apply(batch: readonly ReadEntry[]): Promise<{ applied: number; held: StoredHistory[]; dead: DeadEntry[] }> {
    const dead: DeadEntry[] = batch.filter((e) => e.change === undefined).map((e) => ({ ...e, error: 'not a ledger change', kind: 'not a ledger change' }));
    const good = batch.filter((e) => e.change !== undefined);
    const split = (entries: readonly ReadEntry[]) => ({
      changes: entries.flatMap(({ change }) => (change && 'leadId' in change ? [change] : [])),
      rejections: entries.flatMap(({ change }) => (change && 'reason' in change && 'supplier' in change ? [change] : [])),
      audit: entries.flatMap(({ change }) => (change && 'action' in change ? [change] : [])),
    });
    const all = split(good);
    try {
      const held = await applyChanges(this.o.db, all.changes, all.rejections, all.audit);
      this.countDead(dead);
      return { applied: good.length, held, dead };
    } catch (err) {
      if (!isDataError(err)) throw err;
    }
    const held: StoredHistory[] = [];
    let applied = 0;
    for (const entry of good) {
      const one = split([entry]);
      try {
        held.push(...(await applyChanges(this.o.db, one.changes, one.rejections, one.audit)));
        applied += 1;
      } catch (err) {
        if (!isDataError(err)) throw err;
        dead.push({ ...entry, error: (err as Error).message, kind: errorKind(err) });
      }
    }
    this.countDead(dead);
    return { applied, held, dead };
  }

  private countDead(dead: readonly DeadEntry[]): void {
    if (dead.length === 0) return;
    this.o.metrics.ledgerWrites.inc({ result: 'dead' }, dead.length);
    this.o.logger.error({ entries: dead.map((d) => ({ stream: d.stream, id: d.id, kind: d.kind })) }, 'ledger changes PostgreSQL refuses set aside in the dead-letter stream');
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.round();
        await this.o.compaction?.compactDue();
        this.failures = 0;
      } catch (err) {
        this.failures += 1;
        this.o.metrics.ledgerWrites.inc({ result: 'error' });
        // First failure, then every tenth: PostgreSQL down for minutes must not flood the log.
        if (this.failures === 1 || this.failures % 10 === 0) {
          this.o.logger.warn({ err: (err as Error).message, failures: this.failures }, 'ledger batch not applied: kept in the stream, retrying');
        }
        await sleep(Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.failures, 6)), () => this.running);
      }
      await this.lagSeconds().then(
        (lag) => this.o.metrics.ledgerLag.set(lag),
        () => undefined,
      );
    }
  }

  private groupsReady = false;

  private async ensureGroups(): Promise<void> {
    if (this.groupsReady) return;
    for (const stream of this.streams) {
      await this.o.redis.xgroup('CREATE', stream, LEDGER_GROUP, '0', 'MKSTREAM').catch((err: Error) => {
        if (!err.message.includes('BUSYGROUP')) throw err;
      });
    }
    this.groupsReady = true;
  }

  private parse(stream: string, id: string, fields: readonly string[]): LedgerChange | LedgerRejection | LedgerAudit | undefined {
    if (stream === this.rejections) return parseRejectionEntry(id, fields);
    if (stream === this.audit) return parseAuditEntry(id, fields);
    return parseLedgerEntry(id, fields);
  }

  /**
   * Reads every stream: one XREADGROUP over all of them on a single Redis (blocking up to
   * `blockMs` for new entries); on a Redis Cluster, whose streams live in different slots, one
   * read per stream, all sent at once, and a short wait when none had anything.
   */
  private async read(from: '0' | '>', blockMs?: number): Promise<ReadEntry[] | undefined> {
    if (isCluster(this.o.redis)) {
      const replies = await Promise.all(this.streams.map((stream) => this.readGroup([stream], from)));
      const entries = replies.flatMap((reply) => this.entriesOf(reply));
      if (entries.length === 0 && blockMs !== undefined) await sleep(Math.min(blockMs, CLUSTER_POLL_MS), () => this.running);
      return entries;
    }
    return this.entriesOf(await this.readGroup(this.streams, from, blockMs));
  }

  private readGroup(streams: readonly string[], from: '0' | '>', blockMs?: number): Promise<StreamReply> {
    const args: Array<string | number> = ['GROUP', LEDGER_GROUP, this.o.consumer, 'COUNT', this.o.batchSize ?? 500];
    if (blockMs !== undefined) args.push('BLOCK', blockMs);
    args.push('STREAMS', ...streams, ...streams.map(() => from));
    return (this.o.redis.xreadgroup as (...a: Array<string | number>) => Promise<StreamReply>)(...args);
  }

  private entriesOf(reply: StreamReply): ReadEntry[] {
    return (reply ?? []).flatMap(([stream, entries]) => entries.map(([id, fields]) => ({ stream, id, fields: fields ?? [], change: this.parse(stream, id, fields ?? []) })));
  }

  private async claimAbandoned(): Promise<ReadEntry[]> {
    const claimed: ReadEntry[] = [];
    for (const stream of this.streams) {
      const [, entries] = (await this.o.redis.xautoclaim(stream, LEDGER_GROUP, this.o.consumer, this.o.claimIdleMs ?? 30_000, '0', 'COUNT', this.o.batchSize ?? 500)) as [string, Array<[string, string[]] | null>];
      for (const entry of entries) if (entry) claimed.push({ stream, id: entry[0], fields: entry[1] ?? [], change: this.parse(stream, entry[0], entry[1] ?? []) });
    }
    return claimed;
  }
}

/** Waits `ms`, waking early once `keepWaiting` turns false (a stop). */
async function sleep(ms: number, keepWaiting: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (keepWaiting() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
}
