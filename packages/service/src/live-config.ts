import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { applyOverrides, ConfigError, configHash, parseConfigText, type ConfigProblem, type DestinationOverride, type ResolvedConfig } from '@leadrouter/config';
import type { Logger } from '@leadrouter/logging';
import type { Metrics } from '@leadrouter/metrics';
import { createRedis, isCluster, waitForRedis, type RedisKeys, type RedisClient } from '@leadrouter/redis';
import { AUDIT_MAX_BACKLOG, DestinationOverridesStore } from '@leadrouter/store';

export type ReloadResult = { ok: true; hash: string; changed: boolean } | { ok: false; hash: string; problems: ConfigProblem[] };

export interface LiveConfigOptions {
  redisUrl: string;
  keys: RedisKeys;
  /** The config the process started with. */
  config: ResolvedConfig;
  /** Its file, read again on a reload; without one (a test's config object) a reload is refused. */
  configFile?: string | undefined;
  /** The text the process started with, for its hash; read from the file when not given. */
  configText?: string;
  logger: Logger;
  /** One or more registries (the all-in-one has one; a test may start roles with their own). */
  metrics?: Metrics | Metrics[];
  /** How often the overrides are read again even without a message (ms, default 1000): a message missed while Redis reconnected is caught up within this. */
  pollMs?: number;
  /** For the audit entry of a reload: which process it was. */
  role?: string;
}

type Listener = (config: ResolvedConfig, previous: ResolvedConfig) => void;

/**
 * The config a process runs on, kept live (contract §11): the file's, with the operators' overrides
 * from Redis applied. Overrides are read again on each `overrides` message of the control channel
 * and every second; the file is read again on `reload` (POST /v1/admin/config/reload) and on SIGHUP.
 * A file that does not validate is refused with its problems and the running config stays.
 * Listeners hear of every change; what is in flight keeps what it already took from the config.
 */
export class LiveConfig {
  private fileConfig: ResolvedConfig;
  private overrides = new Map<string, DestinationOverride>();
  private overridesText = '[]';
  /** The install's reload generation last seen (a counter in Redis, raised by every broadcast reload). */
  private generation: string | null | undefined;
  private effective: ResolvedConfig;
  private fileHash: string;
  private readonly listeners = new Set<Listener>();
  private readonly redis: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly store: DestinationOverridesStore;
  private readonly metrics: Metrics[];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly o: LiveConfigOptions) {
    this.fileConfig = o.config;
    this.effective = o.config;
    this.fileHash = configHash(o.configText ?? readText(o.configFile) ?? JSON.stringify(o.config, jsonReplacer));
    // Fails fast (no offline queue): an operator's change is refused at once while Redis is down, and a poll never piles up.
    this.redis = createRedis(o.redisUrl, 'producer');
    this.subscriber = createRedis(o.redisUrl, 'consumer');
    this.store = new DestinationOverridesStore(this.redis, o.keys);
    this.metrics = o.metrics === undefined ? [] : Array.isArray(o.metrics) ? o.metrics : [o.metrics];
    this.showHash();
  }

  /** The config as it runs now: the file's with the overrides applied. */
  get current(): ResolvedConfig {
    return this.effective;
  }

  /** The file's config, before overrides (the admin view shows both). */
  get file(): ResolvedConfig {
    return this.fileConfig;
  }

  get hash(): string {
    return this.fileHash;
  }

  get overridesById(): ReadonlyMap<string, DestinationOverride> {
    return this.overrides;
  }

  get overridesStore(): DestinationOverridesStore {
    return this.store;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the overrides once (so the first lead already runs on them), then follows the control channel. */
  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      // A reload is read from the generation counter the message announces, once per generation.
      if (message === 'overrides' || message === 'reload') void this.refreshOverrides();
    });
    // Not awaited: with Redis down the process starts anyway (ioredis subscribes once it connects, and again after each reconnect).
    this.subscriber.subscribe(this.o.keys.controlChannel()).catch((err: Error) => this.o.logger.warn({ err: err.message }, 'control channel not subscribed: overrides are polled'));
    if (await waitForRedis(this.redis, 3_000)) await this.refreshOverrides();
    this.timer = setInterval(() => void this.refreshOverrides(), this.o.pollMs ?? 1_000);
    this.timer.unref();
  }

  /**
   * Reads the overrides again (listeners hear of it only when they changed), and the install's
   * reload generation: a reload announced while this process was not listening (reconnecting) is
   * caught up here.
   */
  refreshOverrides(): Promise<void> {
    this.refreshing = this.refreshing.then(async () => {
      let overrides: Map<string, DestinationOverride>;
      let generation: string | null;
      try {
        [overrides, generation] = await Promise.all([this.store.all(), this.redis.get(this.o.keys.reloadGeneration())]);
      } catch {
        return; // Redis unreachable: the overrides in hand stay until it is back.
      }
      const missedReload = this.generation !== undefined && generation !== this.generation;
      this.generation = generation;
      if (missedReload) this.reloadFile('api');
      const text = JSON.stringify([...overrides].sort(([a], [b]) => a.localeCompare(b)));
      if (text === this.overridesText) return;
      this.overridesText = text;
      this.overrides = overrides;
      this.update(this.fileConfig);
    });
    return this.refreshing;
  }

  /** Reads and checks the config file without taking it: what a reload would do, or every problem. */
  private checkFile(): { ok: true; hash: string; config: ResolvedConfig } | { ok: false; hash: string; problems: ConfigProblem[] } {
    const file = this.o.configFile;
    if (!file) return { ok: false, hash: this.fileHash, problems: [{ path: '', message: 'this process was started without a config file: nothing to read again' }] };
    try {
      const text = readFileSync(file, 'utf8');
      return { ok: true, hash: configHash(text), config: parseConfigText(text, process.env, file) };
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [{ path: '', message: `cannot read file: ${(err as Error).message}` }];
      return { ok: false, hash: this.fileHash, problems };
    }
  }

  /** Reads the config file again: taken when valid (listeners hear of it), refused with every problem when not. */
  reloadFile(trigger: 'api' | 'SIGHUP'): ReloadResult {
    const checked = this.checkFile();
    let result: ReloadResult;
    if (checked.ok) {
      const changed = checked.hash !== this.fileHash;
      // The same text is the same config: nothing to rebuild.
      if (changed) {
        this.fileHash = checked.hash;
        this.showHash();
        this.update(checked.config);
      }
      result = { ok: true, hash: checked.hash, changed };
      this.o.logger.info({ hash: result.hash, changed, trigger }, 'config reloaded');
    } else {
      result = checked;
      this.o.logger.error({ problems: checked.problems, trigger, runningHash: checked.hash }, 'config reload refused: the running config stays');
    }
    this.audit(result, trigger);
    return result;
  }

  /**
   * Asks every other process of the install to read its config file again: raises the reload generation
   * (which a process that misses the message reads within its next poll), then announces it.
   * Resolves to how many processes listened at once. Each process answers for its own file only.
   */
  async broadcastReload(): Promise<number> {
    // This process has read its file already (the caller did): its own poll must not read it again.
    this.generation = String(await this.redis.incr(this.o.keys.reloadGeneration()));
    const channel = this.o.keys.controlChannel();
    const heard = await this.redis.publish(channel, 'reload');
    if (!isCluster(this.redis)) return heard;
    // A cluster answers PUBLISH with the listeners of the node that took it; the message reaches
    // every node's, so each node is asked for its own (PUBSUB NUMSUB) and they are summed.
    const counts = await Promise.all(this.redis.nodes('all').map((node) => node.pubsub('NUMSUB', channel)));
    return counts.reduce((sum, reply) => sum + Number((reply as [string, number])[1] ?? 0), 0);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  private update(fileConfig: ResolvedConfig): void {
    const previous = this.effective;
    this.fileConfig = fileConfig;
    this.effective = applyOverrides(fileConfig, this.overrides);
    for (const listener of this.listeners) {
      try {
        listener(this.effective, previous);
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'a config listener failed');
      }
    }
  }

  private showHash(): void {
    for (const m of this.metrics) {
      m.configInfo.reset();
      m.configInfo.set({ hash: this.fileHash }, 1);
    }
  }

  /** Records a reload, taken or refused, as an audit event of the ledger (with this process and the hash). */
  private audit(result: ReloadResult, trigger: string): void {
    if (!this.o.keys.ledgerOn) return;
    const stream = this.o.keys.ledgerAudit();
    const details = { trigger, process: `${this.o.role ?? 'process'}@${hostname()}:${process.pid}`, ok: result.ok, hash: result.hash, ...(result.ok ? { changed: result.changed } : { problems: result.problems.length }) };
    this.redis
      .xadd(stream, 'MAXLEN', '~', AUDIT_MAX_BACKLOG, '*', 'action', result.ok ? 'config.reload' : 'config.reload.refused', 'target', this.o.configFile ?? '', 'details', JSON.stringify(details), 'at', new Date().toISOString())
      .catch((err: Error) => this.o.logger.warn({ err: err.message }, 'audit entry of a reload not written'));
  }
}

function readText(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A config object's JSON for its hash: Maps as their entries. */
function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Map ? [...value] : value;
}
