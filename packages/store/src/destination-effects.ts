import { allBuckets, isCluster, leadBucket, type RedisClient, type RedisKeys } from '@leadrouter/redis';
import { ScriptRunner } from './script-runner.js';
import { SCRIPTS } from './scripts.js';

/**
 * A destination effect a lead's step owes (lua/includes/owed.lua): written in the lead's slot with
 * the step, applied in the destination's slot (destination-effects-10.lua). Only the fields the
 * keys depend on are typed here; the Lua side reads the rest.
 */
interface OwedEffect {
  id: string;
  lead: string;
  destination: string;
  day?: { day: string };
  hold?: { value: string | false };
  correction?: { marks: string };
}

/** destination-effects' reply: the circuit's change, 'applied' or 'seen', and what a loss's correction moved. */
type EffectReply = [number, string, string?, string?];

/** How long a destination remembers the effects it applied: longer than any replay can come late. */
export const RECEIPT_WINDOW_MS = 15 * 60_000;

/** The three counter keys of a cap hold (`<token>|h:<hour>|d:<day>|t`): the periods it counted. */
export function holdCounterKeys(keys: RedisKeys, destination: string, hold: string | false | undefined): [string, string, string] {
  const periods = typeof hold === 'string' ? hold.split('|').slice(1) : [];
  const hour = periods.find((p) => p.startsWith('h:')) ?? 'h:none';
  const day = periods.find((p) => p.startsWith('d:')) ?? 'd:none';
  return [keys.cap(destination, hour), keys.cap(destination, day), keys.cap(destination, 't')];
}

/**
 * Applies the destination effects that lead steps owe, and replays those a crash left behind
 * (contract §12). An effect is applied once: the destination keeps a receipt of each.
 */
export class DestinationEffects {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {
    this.scripts = new ScriptRunner(redis, [SCRIPTS.destinationEffects, SCRIPTS.destinationEffectsOwed, SCRIPTS.learnMoved]);
  }

  /**
   * Applies an owed effect (its entry as the lead's step returned it) and clears it; returns the
   * circuit's change. On one Redis the entry is cleared in the same step
   * (destination-effects-owed-11.lua); on a Redis Cluster it lives in the lead's slot, and is
   * cleared by a call of its own once applied.
   */
  async apply(entry: string): Promise<'opened' | 'closed' | undefined> {
    if (entry === '') return undefined;
    const effect = JSON.parse(entry) as OwedEffect;
    const owedKey = this.keys.owedEffects(leadBucket(effect.lead));
    const oneStep = !isCluster(this.redis);
    const args = { effect: entry, nowMs: this.now(), receiptWindowMs: RECEIPT_WINDOW_MS };
    const [change, , movedOverall, movedGeo] = oneStep
      ? await this.scripts.run<EffectReply>(SCRIPTS.destinationEffectsOwed, [...this.effectKeys(effect), owedKey], args)
      : await this.scripts.run<EffectReply>(SCRIPTS.destinationEffects, this.effectKeys(effect), args);
    if (movedOverall !== undefined && movedGeo !== undefined) {
      // A loss's correction: the lead keeps how much it moved, for its withdrawal (includes/learn.lua).
      await this.scripts.run<number>(SCRIPTS.learnMoved, [this.keys.lead(effect.lead)], { marks: effect.correction?.marks ?? '', moved: [movedOverall, movedGeo] });
    }
    if (!oneStep) await this.redis.zrem(owedKey, entry);
    return change === 1 ? 'opened' : change === -1 ? 'closed' : undefined;
  }

  /** Applies the effects owed for more than `olderThanMs` (their step's caller died before it could); returns how many. */
  async replayOwed(olderThanMs: number, limit: number): Promise<number> {
    const until = this.now() - olderThanMs;
    const perBucket = await Promise.all(allBuckets().map(async (b) => ({ b, entries: await this.redis.zrangebyscore(this.keys.owedEffects(b), '-inf', until, 'LIMIT', 0, limit) })));
    let count = 0;
    for (const { b, entries } of perBucket) {
      for (const entry of entries) {
        count += 1;
        try {
          await this.apply(entry);
        } catch (err) {
          // An entry that is not ours (or not JSON) can never apply: dropped, so it does not come back each round.
          if (!(err instanceof SyntaxError)) throw err;
          await this.redis.zrem(this.keys.owedEffects(b), entry);
        }
      }
    }
    return count;
  }

  private effectKeys(e: OwedEffect): string[] {
    const d = e.destination;
    return [
      this.keys.circuit(d),
      this.keys.circuitProbe(d),
      this.keys.destinationDay(d, e.day?.day ?? 'none'),
      this.keys.learned(d),
      this.keys.destinationReceipts(d),
      this.keys.capHolds(d),
      this.keys.capUnconfirmed(d),
      ...holdCounterKeys(this.keys, d, e.hold?.value),
    ];
  }
}
