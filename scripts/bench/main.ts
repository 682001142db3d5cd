/**
 * `npm run bench [-- --duration 10 --connections 100 --only intake|intake-variants|e2e|ledger-outage|auction|ab --half-runs 5 --profile]`
 * (`--only ab --baseline DIR --rounds 3`: see abRounds; `--only e2e --ledger off|on`: one of the two runs)
 *
 * Intake: autocannon posts valid leads (distinct phones, an Idempotency-Key each) through
 * `--connections` connections for `--duration` seconds, first to a bare Express 5 app with
 * express.json() answering 202 (the ceiling Express sets), then to LeadRouter's intake with dedupe,
 * idempotency and rate limiting on. End to end: a bare BullMQ + got worker as the ceiling, then
 * the all-in-one selling to a local mock buyer, twice: without the ledger (LEADROUTER_LEDGER=off)
 * and with it on a private PostgreSQL. Each: sold per second, time to sale p50/p99 at half that
 * rate (posted evenly paced), Redis memory per sold lead (after compaction, with the ledger), and
 * with the ledger its lag at half rate and how long it took to catch up after the burst.
 * Everything runs on this machine, each
 * server in its own process; results are printed and written to bench-results/. `--profile` writes
 * CPU profiles of the intake and of the all-in-one to bench-results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { openLedger } from '@leadrouter/ledger';
import { freePort, LEDGER_BUCKETS, redisKeys, startRedisCluster, startRedisServer } from '@leadrouter/redis';
import { startPostgres } from '@leadrouter/testing';
import { metricsHeaders } from '../lib/system.js';

const ROOT = resolve(import.meta.dirname, '../..');
const args = parseArgs(process.argv.slice(2));
const KEY = 'bench-key-1';

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
}

function parseArgs(argv: string[]): { duration: number; connections: number; only?: string; profile: boolean; outageRate: number; halfRuns: number; cluster: boolean; baseline?: string; rounds: number; ledger?: string } {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return { duration: Number(get('duration') ?? 10), connections: Number(get('connections') ?? 100), only: get('only'), profile: argv.includes('--profile'), outageRate: Number(get('outage-rate') ?? 300), halfRuns: Math.max(1, Math.round(Number(get('half-runs') ?? 5))), cluster: argv.includes('--cluster'), baseline: get('baseline'), rounds: Math.max(1, Math.round(Number(get('rounds') ?? 3))), ledger: get('ledger') };
}

function version(pkg: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The Node flags a checkout's npm script starts the process with (`exec node <flags> --import tsx
 * …` in its package.json): the bench runs each server as `npm start` would, flags included.
 */
function nodeFlags(root: string, script: string): string[] {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const match = /\bnode\s+(.*?)\s*--import tsx\b/.exec(scripts[script] ?? '');
  return match?.[1] ? match[1].split(/\s+/) : [];
}

const children: ChildProcess[] = [];

/**
 * One of LeadRouter's servers as its npm script starts it (its Node flags included), from the
 * checkout at `root`, on 127.0.0.1; `profile` writes its CPU profile to bench-results/.
 */
function spawnServer(script: string, file: string, env: Record<string, string>, options: { root?: string; profile?: boolean } = {}): ChildProcess {
  const root = options.root ?? ROOT;
  const profileArgs = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench-results')}`] : [];
  const child = spawn(process.execPath, [...nodeFlags(root, script), ...profileArgs, '--import', 'tsx', file], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

function spawnAllInOne(env: Record<string, string>, options: { root?: string; profile?: boolean } = {}): ChildProcess {
  return spawnServer('start', 'apps/all-in-one/src/main.ts', env, options);
}
function startChild(file: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolvePort({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${file} exited early (${code})`)));
  });
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

let phoneCounter = 0;
function nextLead(): string {
  phoneCounter += 1;
  return JSON.stringify({ name: 'Bench Lead', phone: `+1415${String(2000000 + phoneCounter)}`, geo: 'US', source: 'Facebook', email: 'bench@example.com' });
}

async function load(title: string, url: string, options: { overallRate?: number; onId?: (id: string) => void; idempotencyKey?: boolean } = {}): Promise<LoadResult> {
  process.stderr.write(`\n== ${title}: ${args.connections} connections, ${args.duration} s${options.overallRate ? `, ${options.overallRate} req/s` : ''}\n`);
  let instance: autocannon.Instance | undefined;
  const result = await new Promise<autocannon.Result>((resolveResult, reject) => {
    instance = autocannon({
    url,
    method: 'POST',
    connections: args.connections,
    duration: args.duration,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: nextLead(), headers: options.idempotencyKey === false ? req.headers : { ...req.headers, 'idempotency-key': `bench-${phoneCounter}` } }),
        ...(options.onId
          ? {
              onResponse: (status: number, body: string) => {
                if (status === 202) options.onId?.((JSON.parse(body) as { id: string }).id);
              },
            }
          : {}),
      },
    ],
    }, (err, done) => (err ? reject(err) : resolveResult(done)));
    autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false });
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/**
 * Posts leads at an even pace, one every 1/rate s, without waiting for answers (an open load, as
 * suppliers post), and reports the intake's answer times. autocannon's `overallRate` is not used
 * for this: it lets each connection send its quota for the second back to back at the start of the
 * second, so the leads would arrive in one burst a second, and time to sale would measure how long
 * that burst takes to drain rather than how long a lead takes.
 */
async function pacedLoad(
  title: string,
  url: string,
  rate: number,
  onId: (id: string) => void,
  durationSeconds = args.duration,
  request: { body: () => string; ok: (status: number, answer: { id?: string; status?: string }) => boolean } = { body: nextLead, ok: (status, answer) => status === 202 && answer.id !== undefined },
): Promise<{ sent: number; p50Ms: number; p99Ms: number; non202: number }> {
  process.stderr.write(`\n== ${title}: ${rate} leads/s evenly paced, ${durationSeconds} s\n`);
  const total = rate * durationSeconds;
  const answerMs: number[] = [];
  let non202 = 0;
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sentAt = performance.now();
    const body = request.body();
    inFlight.push(
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'idempotency-key': `bench-${phoneCounter}` }, body })
        .then(async (res) => {
          const answer = (await res.json()) as { id?: string; status?: string };
          answerMs.push(performance.now() - sentAt);
          if (request.ok(res.status, answer)) onId(answer.id ?? '');
          else non202 += 1;
        })
        .catch(() => {
          non202 += 1;
        }),
    );
    if (i % rate === 0) process.stderr.write(`  ${Math.round(i / rate)}/${durationSeconds} s\r`);
  }
  await Promise.all(inFlight);
  answerMs.sort((a, b) => a - b);
  return { sent: total, p50Ms: Math.round(percentile(answerMs, 50)), p99Ms: Math.round(percentile(answerMs, 99)), non202 };
}

/** The bench's supplier (no rate limit to speak of) and dedupe, in every config it writes. */
const SUPPLIER_YAML = `
dedupe: { window: 30d, scope: supplier, by: [phone] }
suppliers:
  - id: bench
    apiKeys: ["${KEY}"]
    rateLimit: { perSecond: 1000000, burst: 2000000 }
`;

/**
 * The scale-out run's config: six buyers (the mock buyer behind six destinations) in an even
 * weighted split, as an install with several buyers has. One destination would put every lead's
 * delivery queue, caps and circuit on one shard of a cluster (its tags), whatever the cluster.
 */
function scaleOutYaml(buyerUrl: string): string {
  const ids = [1, 2, 3, 4, 5, 6].map((n) => `buyer${n}`);
  return `${SUPPLIER_YAML}destinations:
${ids.map((id) => `  - { id: ${id}, url: "${buyerUrl}", concurrency: 50, timeoutMs: 5000, payout: 10 }`).join('\n')}
routes:
  - id: all
    match: { source: [Facebook] }
    strategy: weighted
    destinations: [${ids.map((id) => `{ id: ${id}, weight: 1 }`).join(', ')}]
`;
}

function configYaml(buyerUrl: string): string {
  return `${SUPPLIER_YAML}destinations:
  - { id: buyer, url: "${buyerUrl}", concurrency: 100, timeoutMs: 5000, payout: 10 }
routes:
  - id: all
    match: { source: [Facebook] }
    destinations: [{ id: buyer }]
`;
}

async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  return Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'lr-bench-'));
  const redis = await startRedisServer({ dir: join(work, 'redis'), appendOnly: true });
  const client = new Redis(redis.url);
  const report: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    versions: {
      node: process.version,
      express: version('express'),
      bullmq: version('bullmq'),
      ioredis: version('ioredis'),
      got: version('got'),
      autocannon: version('autocannon'),
      redis: ((await client.info('server')).match(/redis_version:(\S+)/) ?? [])[1],
    },
    settings: { duration: args.duration, connections: args.connections, redis: 'appendonly yes, appendfsync everysec' },
  };
  const buyer = await startChild('scripts/bench/mock-buyer.ts', {});
  const buyerUrl = `http://127.0.0.1:${buyer.port}/leads`;
  const configFile = join(work, 'leadrouter.yaml');
  writeFileSync(configFile, configYaml(buyerUrl));
  try {
    if (args.cluster) {
      const scaleOutConfig = join(work, 'scale-out.yaml');
      writeFileSync(scaleOutConfig, scaleOutYaml(buyerUrl));
      report.scaleOut = await scaleOut(redis.url, client, scaleOutConfig, work);
    }
    if (!args.cluster && (args.only === undefined || args.only === 'intake' || args.only === 'intake-variants')) {
      const bare = await startChild('scripts/bench/bare-express.ts', {});
      const bareResult = await load('bare Express 5 + express.json() answering 202', `http://127.0.0.1:${bare.port}/v1/leads`);
      await stopChild(bare.child);
      const naive = await startChild('scripts/bench/naive-peer.ts', { REDIS_URL: redis.url });
      const naiveCpuBefore = await redisCpuSeconds(client);
      const naiveResult = await load('naive peer: Express + express.json() + ajv on the lead schema + one BullMQ add', `http://127.0.0.1:${naive.port}/v1/leads`);
      const naiveRedisCpu = (await redisCpuSeconds(client)) - naiveCpuBefore;
      await stopChild(naive.child);
      await client.flushall();
      const full = await intakeRun(client, redis.url, configFile, 'LeadRouter intake (validation, dedupe, idempotency, rate limit, store + queue)', { idempotencyKey: true, profile: args.profile });
      report.intake = {
        bareExpress: bareResult,
        naivePeer: naiveResult,
        leadrouter: full.result,
        ratio: +(full.result.requestsPerSecond / bareResult.requestsPerSecond).toFixed(3),
        ratioToNaivePeer: +(full.result.requestsPerSecond / naiveResult.requestsPerSecond).toFixed(3),
        // Redis shares this machine's two cores with the intake and the load generator.
        redisCpuSecondsPerSecond: full.redisCoresBusy,
        redisMicrosecondsPerLead: full.redisMicrosecondsPerLead,
        naivePeerRedisMicrosecondsPerLead: Math.round((naiveRedisCpu * 1e6) / Math.max(1, naiveResult.total)),
      };
      if (args.only === 'intake-variants') {
        // What each of the intake's duties costs: the same run with one of them off at a time.
        const variants: Record<string, Awaited<ReturnType<typeof intakeRun>>> = {};
        const withoutDedupe = join(work, 'no-dedupe.yaml');
        writeFileSync(withoutDedupe, configYaml(buyerUrl).replace(/^dedupe:.*$/m, ''));
        const withoutLimit = join(work, 'no-limit.yaml');
        writeFileSync(withoutLimit, configYaml(buyerUrl).replace(/^ {4}rateLimit:.*$/m, ''));
        const withoutAll = join(work, 'none.yaml');
        writeFileSync(withoutAll, configYaml(buyerUrl).replace(/^dedupe:.*$/m, '').replace(/^ {4}rateLimit:.*$/m, ''));
        variants.noIdempotencyKey = await intakeRun(client, redis.url, configFile, 'intake, no Idempotency-Key', { idempotencyKey: false });
        variants.noDedupe = await intakeRun(client, redis.url, withoutDedupe, 'intake, no dedupe', { idempotencyKey: true });
        variants.noRateLimit = await intakeRun(client, redis.url, withoutLimit, 'intake, no rate limit', { idempotencyKey: true });
        variants.none = await intakeRun(client, redis.url, withoutAll, 'intake, none of the three', { idempotencyKey: false });
        report.intakeVariants = variants;
      }
    }
    if (args.only === 'ab') {
      if (!args.baseline) throw new Error('--only ab needs --baseline DIR: a checkout of the commit to compare with, with its node_modules');
      report.ab = await abRounds(client, redis.url, configFile, args.baseline);
    }
    if (args.only === 'auction') {
      report.auction = await auctionBench(redis.url, client, work);
    } else if (args.only === 'ledger-outage') {
      report.ledgerOutage = await ledgerOutage(redis.url, configFile, client);
    } else if (!args.cluster && (args.only === undefined || args.only === 'e2e')) {
      process.stderr.write('\n== bare BullMQ + got worker (20,000 jobs, concurrency 50)\n');
      const bareWorker = await new Promise<{ perSecond: number }>((res, rej) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/bare-worker.ts'], {
          cwd: ROOT,
          env: { ...process.env, NODE_OPTIONS: '', REDIS_URL: redis.url, BUYER_URL: buyerUrl, JOBS: '20000' },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => (code === 0 ? res(JSON.parse(out.trim()) as { perSecond: number }) : rej(new Error(`bare worker exited ${code}`))));
      });
      await client.flushall();
      // The same run without and with the ledger (#13's target: with it, at least 0.9 of without).
      // `--ledger off` (or `on`) runs one of the two, for a quicker look.
      const off = args.ledger === 'on' ? undefined : await endToEnd(redis.url, configFile, client, Math.round(bareWorker.perSecond), 'off');
      await client.flushall();
      const on = args.ledger === 'off' ? undefined : await endToEnd(redis.url, configFile, client, Math.round(bareWorker.perSecond), 'postgres');
      report.e2e = on;
      report.e2eWithoutLedger = off;
      if (on && off) report.ledgerOnToOff = +(Number(on.soldPerSecond) / Math.max(1, Number(off.soldPerSecond))).toFixed(3);
    }
  } finally {
    for (const child of children) await stopChild(child);
    client.disconnect();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const file = join(ROOT, 'bench-results', `bench-${Date.now()}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  process.stdout.write(`\nwritten to ${file}\n`);
}

/** One run of LeadRouter's intake alone, on `configFile`: its load result and Redis's CPU per lead. */
async function intakeRun(client: Redis, redisUrl: string, configFile: string, title: string, options: { idempotencyKey: boolean; profile?: boolean; root?: string }): Promise<{ result: LoadResult; redisCoresBusy: number; redisMicrosecondsPerLead: number }> {
  const port = await freePort();
  const intakeEnv = { REDIS_URL: redisUrl, LEADROUTER_CONFIG: configFile, LEADROUTER_PREFIX: 'bi', INTAKE_PORT: String(port) };
  const intake = spawnServer('start:intake', 'apps/intake-api/src/main.ts', intakeEnv, options);
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`);
    const cpuBefore = await redisCpuSeconds(client);
    const result = await load(title, `http://127.0.0.1:${port}/v1/leads`, { idempotencyKey: options.idempotencyKey });
    const redisCpu = (await redisCpuSeconds(client)) - cpuBefore;
    return { result, redisCoresBusy: +(redisCpu / args.duration).toFixed(2), redisMicrosecondsPerLead: Math.round((redisCpu * 1e6) / Math.max(1, result.total)) };
  } finally {
    await stopChild(intake);
    await client.flushall();
  }
}

/**
 * `--only ab --baseline DIR [--rounds 3]`: this checkout against another (a commit before a change,
 * with its own node_modules), alternately in one session, so that the machine's drift hits both
 * alike: the intake alone, then the all-in-one's burst (no ledger), each round. Ratios per round
 * and their median.
 */
async function abRounds(client: Redis, redisUrl: string, configFile: string, baseline: string): Promise<Record<string, unknown>> {
  const rounds: Array<{ intake: [number, number]; sold: [number, number] }> = [];
  for (let round = 1; round <= args.rounds; round++) {
    const intake: number[] = [];
    const sold: number[] = [];
    for (const [name, root] of [['baseline', resolve(baseline)], ['this checkout', ROOT]] as const) {
      intake.push((await intakeRun(client, redisUrl, configFile, `round ${round}, ${name}: intake`, { idempotencyKey: true, root })).result.requestsPerSecond);
      sold.push((await scaleOutRun(`round ${round}, ${name}`, { REDIS_URL: redisUrl }, [client], configFile, root)).soldPerSecond);
      await client.flushall();
    }
    rounds.push({ intake: [intake[0] ?? 0, intake[1] ?? 0], sold: [sold[0] ?? 0, sold[1] ?? 0] });
  }
  const median = (xs: number[]): number => +percentile([...xs].sort((a, b) => a - b), 50).toFixed(3);
  return {
    baseline,
    rounds,
    intakeRatioMedian: median(rounds.map((r) => r.intake[1] / r.intake[0])),
    soldRatioMedian: median(rounds.map((r) => r.sold[1] / r.sold[0])),
  };
}

/**
 * `--cluster` (issue #16): the same end-to-end burst (all-in-one, no ledger, the mock buyer) on the
 * single Redis and on a local Redis Cluster of three masters, each with AOF everysec as the single
 * one has: throughput, and each Redis's CPU (used_cpu_sys + used_cpu_user, from INFO) per sold lead.
 */
async function scaleOut(singleUrl: string, singleClient: Redis, configFile: string, work: string): Promise<Record<string, unknown>> {
  const single = await scaleOutRun('single Redis', { REDIS_URL: singleUrl }, [singleClient], configFile);
  const cluster = await startRedisCluster({ dir: join(work, 'cluster'), masters: 3, appendOnly: true });
  const shardClients = cluster.masters.map((m) => new Redis(m.url));
  try {
    const clustered = await scaleOutRun('3-master Redis Cluster', { REDIS_CLUSTER_NODES: cluster.nodes }, shardClients, configFile);
    const singleUs = single.redisMicrosecondsPerSoldLead[0] ?? 1;
    const busiest = Math.max(...clustered.redisMicrosecondsPerSoldLead);
    return {
      single,
      cluster: clustered,
      throughputRatio: +(clustered.soldPerSecond / Math.max(1, single.soldPerSecond)).toFixed(3),
      busiestShardToSingle: +(busiest / singleUs).toFixed(3),
      clusterTotalToSingle: +(clustered.redisMicrosecondsPerSoldLead.reduce((a, b) => a + b, 0) / singleUs).toFixed(3),
    };
  } finally {
    for (const c of shardClients) c.disconnect();
    await cluster.stop();
  }
}

async function scaleOutRun(title: string, redisEnv: Record<string, string>, nodes: Redis[], configFile: string, root = ROOT): Promise<{ soldPerSecond: number; sold: number; intake: LoadResult; redisMicrosecondsPerSoldLead: number[]; redisCoresBusy: number[] }> {
  const [intakePort, postbackPort, workerPort] = [await freePort(), await freePort(), await freePort()];
  const aio = spawnAllInOne({ LEADROUTER_LEDGER: 'off', ...redisEnv, LEADROUTER_CONFIG: configFile, LEADROUTER_PREFIX: 'bs', INTAKE_PORT: String(intakePort), POSTBACK_PORT: String(postbackPort), WORKER_PORT: String(workerPort) }, { root });
  try {
    await waitReady(`http://127.0.0.1:${intakePort}/readyz`);
    // Summed over the series: one per destination.
    const soldCount = async (): Promise<number> =>
      [...(await (await fetch(`http://127.0.0.1:${workerPort}/metrics`, { headers: metricsHeaders() })).text()).matchAll(/^leadrouter_leads_sold_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    const cpuBefore = await Promise.all(nodes.map(redisCpuSeconds));
    const started = performance.now();
    const ids: string[] = [];
    const intake = await load(`scale-out, ${title}: all-in-one selling to the mock buyer`, `http://127.0.0.1:${intakePort}/v1/leads`, { onId: (id) => ids.push(id) });
    let sold = await soldCount();
    while (sold < ids.length && performance.now() - started < (args.duration + 120) * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      sold = await soldCount();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await Promise.all(nodes.map(redisCpuSeconds));
    const used = cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0));
    return {
      soldPerSecond: Math.round(sold / seconds),
      sold,
      intake,
      redisMicrosecondsPerSoldLead: used.map((s) => Math.round((s * 1e6) / Math.max(1, sold))),
      redisCoresBusy: used.map((s) => +(s / seconds).toFixed(3)),
    };
  } finally {
    await stopChild(aio);
  }
}

/**
 * How the end-to-end run keeps its ledger: `off` (LEADROUTER_LEDGER=off: the cost of the ledger is
 * the difference), or a private PostgreSQL with the all-in-one's writer on it (`postgres`).
 */
type LedgerMode = 'off' | 'postgres';

async function endToEnd(redisUrl: string, configFile: string, client: Redis, bareWorkerPerSecond: number, mode: LedgerMode): Promise<Record<string, unknown>> {
  const [intakePort, postbackPort, workerPort] = [await freePort(), await freePort(), await freePort()];
  const postgres = mode === 'postgres' ? await startPostgres() : undefined;
  const prefix = `be${mode === 'off' ? 'o' : 'p'}`;
  const aio = spawnAllInOne(
    {
      // Compaction a second after the ledger has a lead (default 5 min): the run measures what it saves.
      ...(postgres ? { DATABASE_URL: postgres.url, LEDGER_COMPACT_AFTER_MS: '1000' } : { LEADROUTER_LEDGER: 'off' }),
      REDIS_URL: redisUrl,
      LEADROUTER_CONFIG: configFile,
      LEADROUTER_PREFIX: prefix,
      INTAKE_PORT: String(intakePort),
      POSTBACK_PORT: String(postbackPort),
      WORKER_PORT: String(workerPort),
    },
    { profile: args.profile },
  );
  try {
    await waitReady(`http://127.0.0.1:${intakePort}/readyz`);
    const memoryBefore = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    const metricsText = async (): Promise<string> => (await fetch(`http://127.0.0.1:${workerPort}/metrics`, { headers: metricsHeaders() })).text();
    const soldCount = async (): Promise<number> => Number(/leadrouter_leads_sold_total\{[^}]*\} (\d+)/.exec(await metricsText())?.[1] ?? 0);
    const ledgerLag = async (): Promise<number> => Number(/^leadrouter_ledger_lag_seconds (\S+)$/m.exec(await metricsText())?.[1] ?? 0);
    const ids: string[] = [];
    const started = performance.now();
    const cpuBeforeBurst = processCpuMs(aio.pid);
    const burst = await load(`end to end, ledger ${mode}: all-in-one selling to the mock buyer (throughput)`, `http://127.0.0.1:${intakePort}/v1/leads`, { onId: (id) => ids.push(id) });
    let sold = await soldCount();
    while (sold < ids.length) {
      await new Promise((r) => setTimeout(r, 100));
      sold = await soldCount();
      if (performance.now() - started > (args.duration + 120) * 1000) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const soldPerSecond = Math.round(sold / seconds);
    const burstCpuMsPerLead = +((processCpuMs(aio.pid) - cpuBeforeBurst) / Math.max(1, sold)).toFixed(2);
    // With the ledger, Redis keeps each final lead compacted once the writer has stored it: wait for that.
    const caughtUp = performance.now();
    if (postgres) while ((await ledgerLag()) > 0 && performance.now() - caughtUp < 120_000) await new Promise((r) => setTimeout(r, 250));
    const ledgerCatchUpSeconds = postgres ? +((performance.now() - caughtUp) / 1000).toFixed(1) : undefined;
    // Compaction runs a second after the ledger has a lead, on the writer's next round.
    await new Promise((r) => setTimeout(r, postgres ? 3500 : 1500));
    const memoryAfter = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
    // The 24-hour idempotency records (one per lead: the bench sends a key with each) are not the lead's.
    const idempotencyBytes = await bytesOf(client, `${prefix}:idem:*`);

    const half = Math.max(1, Math.round(soldPerSecond / 2));
    const paced: string[] = [];
    const lagSamples: number[] = [];
    const sampler = setInterval(() => void ledgerLag().then((lag) => lagSamples.push(lag), () => undefined), 250);
    // Issue #17: one run of the half-load phase is noise on this machine; `--half-runs` (5) of them
    // give a median and a spread. Each run waits for its own leads to sell before the next starts.
    const runs: Array<{ p50: number; p99: number; samples: number; cpuMsPerLead: number; segments?: Record<string, { p50: number; p99: number }> }> = [];
    let pairs: Array<{ createdAt: number; ms: number }> = [];
    let pacedIntake: Awaited<ReturnType<typeof pacedLoad>> | undefined;
    for (let run = 1; run <= args.halfRuns; run++) {
      const before = paced.length;
      const cpuBefore = processCpuMs(aio.pid);
      const intakeAnswers = await pacedLoad(`end to end at half that rate (${half}/s), ledger ${mode}: time to sale, run ${run} of ${args.halfRuns}`, `http://127.0.0.1:${intakePort}/v1/leads`, half, (id) => paced.push(id));
      pacedIntake ??= intakeAnswers;
      // Every lead of the burst and of the runs so far sold, this run's included.
      while ((await soldCount()) < sold + paced.length) await new Promise((r) => setTimeout(r, 100));
      const cpuMsPerLead = +((processCpuMs(aio.pid) - cpuBefore) / Math.max(1, paced.length - before)).toFixed(2);
      const own = postgres ? await saleTimesFromLedger(postgres.url, paced.slice(before)) : await saleTimesFromRedis(client, prefix, paced.slice(before));
      const sorted = own.map((p) => p.ms).sort((a, b) => a - b);
      runs.push({ p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length, cpuMsPerLead, ...(postgres ? {} : { segments: await saleSegments(client, prefix, paced.slice(before)) }) });
      pairs = pairs.concat(own);
    }
    clearInterval(sampler);
    const times = pairs.map((p) => p.ms).sort((a, b) => a - b);
    const p99s = runs.map((r) => r.p99).sort((a, b) => a - b);
    // p99 of each second of the run, by arrival: tells a tail spread evenly from one made by a few stalls.
    const firstAt = pairs.reduce((min, p) => Math.min(min, p.createdAt), Infinity);
    const bySecond: number[][] = [];
    for (const p of pairs) (bySecond[Math.floor((p.createdAt - firstAt) / 1000)] ??= []).push(p.ms);
    const p99BySecond = bySecond.filter(Boolean).map((ms) => percentile(ms.sort((a, b) => a - b), 99));
    const lags = lagSamples.sort((a, b) => a - b);
    return {
      ledger: mode,
      // The all-in-one's CPU (user + system) per lead: in the burst (a backlog: BullMQ and the
      // pipelines batch) and in each half-load run (leads one by one).
      cpuMsPerLead: { burst: burstCpuMsPerLead, halfLoadRuns: runs.map((r) => r.cpuMsPerLead) },
      bareBullmqGotPerSecond: bareWorkerPerSecond,
      accepted: ids.length,
      intake: burst,
      sold,
      soldPerSecond,
      ratioToBareWorker: +(soldPerSecond / bareWorkerPerSecond).toFixed(3),
      halfRate: half,
      halfRateIntake: pacedIntake as NonNullable<typeof pacedIntake>,
      timeToSaleMs: { p50: percentile(times, 50), p99: percentile(times, 99), samples: times.length, p99BySecond },
      // Median and spread of the runs' p99s, and how many runs met #17's 100 ms.
      timeToSaleRuns: { runs, p99Median: percentile(p99s, 50), p99Min: p99s[0] ?? 0, p99Max: p99s.at(-1) ?? 0, runsAtMost100Ms: p99s.filter((p) => p <= 100).length },
      redisBytesPerSoldLead: Math.round((memoryAfter - memoryBefore - idempotencyBytes) / Math.max(1, sold)),
      idempotencyBytesPerLead: Math.round(idempotencyBytes / Math.max(1, sold)),
      ...(postgres ? { ledgerLagSeconds: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? 0, samples: lags.length }, ledgerCatchUpSeconds } : {}),
    };
  } finally {
    await stopChild(aio);
    await postgres?.stop();
  }
}

/**
 * #13's outage target: leads paced at `--outage-rate` (300/s) for 60 s with the ledger's PostgreSQL
 * down (pg_ctl stop -m immediate), then up again; how long until the lag is under 2 s, and whether
 * every lead arrived.
 */
async function ledgerOutage(redisUrl: string, configFile: string, client: Redis): Promise<Record<string, unknown>> {
  const rate = args.outageRate;
  const outageSeconds = 60;
  const postgres = await startPostgres();
  const [intakePort, postbackPort, workerPort] = [await freePort(), await freePort(), await freePort()];
  const aio = spawnAllInOne({ DATABASE_URL: postgres.url, REDIS_URL: redisUrl, LEADROUTER_CONFIG: configFile, LEADROUTER_PREFIX: 'bo', INTAKE_PORT: String(intakePort), POSTBACK_PORT: String(postbackPort), WORKER_PORT: String(workerPort) });
  try {
    await waitReady(`http://127.0.0.1:${intakePort}/readyz`);
    const lag = async (): Promise<number> => Number(/^leadrouter_ledger_lag_seconds (\S+)$/m.exec(await (await fetch(`http://127.0.0.1:${workerPort}/metrics`, { headers: metricsHeaders() })).text())?.[1] ?? 0);
    await postgres.takeDown('immediate');
    const ids: string[] = [];
    const intake = await pacedLoad(`ledger outage: ${rate} leads/s with PostgreSQL down`, `http://127.0.0.1:${intakePort}/v1/leads`, rate, (id) => ids.push(id), outageSeconds);
    const lagAtEnd = await lag();
    const backlog = (await Promise.all(Array.from({ length: LEDGER_BUCKETS }, (_, b) => client.xlen(redisKeys('bo').ledgerStream(b))))).reduce((a, n) => a + n, 0);
    await postgres.bringUp();
    const upAt = performance.now();
    const lagSeries: Array<[number, number]> = [];
    let underTwoAfter: number | undefined;
    while (performance.now() - upAt < 180_000) {
      const seconds = (performance.now() - upAt) / 1000;
      const now = await lag();
      lagSeries.push([+seconds.toFixed(1), now]);
      if (now < 2 && underTwoAfter === undefined) underTwoAfter = +seconds.toFixed(1);
      if (now === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const ledger = await openLedger({ databaseUrl: postgres.url });
    const stored = Number((await ledger.db.selectFrom('leads').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst())?.n ?? 0);
    await ledger.close();
    return { rate, outageSeconds, accepted: ids.length, intake, lagAtEndOfOutageSeconds: lagAtEnd, backlogEntries: backlog, lagUnderTwoSecondsAfter: underTwoAfter ?? null, leadsInLedger: stored, lagSeries };
  } finally {
    await stopChild(aio);
    await postgres.stop();
  }
}

/** A process's CPU time so far (user + system, ms) from /proc (Linux); 0 where there is none. */
function processCpuMs(pid: number | undefined): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks (100 per second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** MEMORY USAGE summed over the keys matching `pattern` (SCAN, so the bench never blocks Redis). */
async function bytesOf(client: Redis, pattern: string): Promise<number> {
  let total = 0;
  for await (const keys of client.scanStream({ match: pattern, count: 1000 })) {
    const pipeline = client.pipeline();
    for (const key of keys as string[]) pipeline.memory('USAGE', key);
    for (const [, bytes] of (await pipeline.exec()) ?? []) total += Number(bytes ?? 0);
  }
  return total;
}

/** A child that prints one JSON line and exits 0. */
function jsonChild<T>(file: string, env: Record<string, string>): Promise<T> {
  return new Promise<T>((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => (code === 0 ? res(JSON.parse(out.trim()) as T) : rej(new Error(`${file} exited ${code}`))));
  });
}

const AUCTION_DEADLINE_MS = 1000;

function auctionYaml(biddersUrl: string): string {
  const bidders = [0, 1, 2, 3, 4].map(
    (b) => `  - { id: b${b}, url: "${biddersUrl}/b${b}/post", body: { name: "{{name}}", phone: "{{phone}}", price: "{{bid}}" }, concurrency: 100, timeoutMs: 5000, response: { accept: { status: [200], path: status, equals: sold } }, ping: { url: "${biddersUrl}/b${b}/ping", timeoutMs: 800, response: { bid: { path: price } } } }`,
  );
  return `
dedupe: { window: 30d, scope: supplier, by: [phone] }
suppliers:
  - id: bench
    apiKeys: ["${KEY}"]
    rateLimit: { perSecond: 1000000, burst: 2000000, pingsPerSecond: 1000000 }
    supplierPayout: 4
destinations:
${bidders.join('\n')}
routes:
  - id: auction
    match: { source: [Facebook] }
    strategy: auction
    auction: { deadlineMs: ${AUCTION_DEADLINE_MS}, rank: bid }
    destinations: [${[0, 1, 2, 3, 4].map((b) => `{ id: b${b} }`).join(', ')}]
`;
}

/**
 * Issue #15's auction targets: five bidders answering pings in 20-50 ms (mock-bidders.ts), an
 * all-in-one (no ledger) with one auction route. Measures the auction path's HTTP requests per
 * second (pings plus posts) against a bare got client doing the same five pings and one post with
 * as many auctions in flight (bare-auction.ts), time to sale at half the rate sold, and supplier
 * pings' answer times at that rate.
 */
async function auctionBench(redisUrl: string, client: Redis, work: string): Promise<Record<string, unknown>> {
  const bidders = await startChild('scripts/bench/mock-bidders.ts', {});
  const biddersUrl = `http://127.0.0.1:${bidders.port}`;
  process.stderr.write('\n== bare got client: five pings and one post per auction, 50 auctions in flight\n');
  const bare = await jsonChild<{ requestsPerSecond: number; auctionsPerSecond: number }>('scripts/bench/bare-auction.ts', { BIDDERS_URL: biddersUrl, CONCURRENCY: '50', DURATION: String(args.duration) });
  const configFile = join(work, 'auction.yaml');
  writeFileSync(configFile, auctionYaml(biddersUrl));
  const [intakePort, postbackPort, workerPort] = [await freePort(), await freePort(), await freePort()];
  const prefix = 'ba';
  const aio = spawnAllInOne({ LEADROUTER_LEDGER: 'off', REDIS_URL: redisUrl, LEADROUTER_CONFIG: configFile, LEADROUTER_PREFIX: prefix, INTAKE_PORT: String(intakePort), POSTBACK_PORT: String(postbackPort), WORKER_PORT: String(workerPort) });
  try {
    await waitReady(`http://127.0.0.1:${intakePort}/readyz`);
    const metricsText = async (): Promise<string> => (await fetch(`http://127.0.0.1:${workerPort}/metrics`, { headers: metricsHeaders() })).text();
    const total = (text: string, name: string): number => text.split('\n').filter((l) => l.startsWith(`${name}{`)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    const ids: string[] = [];
    const before = await metricsText();
    const started = performance.now();
    const burst = await load('auction path: all-in-one pinging five bidders and posting to the best (throughput)', `http://127.0.0.1:${intakePort}/v1/leads`, { onId: (id) => ids.push(id) });
    let sold = 0;
    while (sold < ids.length && performance.now() - started < (args.duration + 120) * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      sold = total(await metricsText(), 'leadrouter_leads_sold_total');
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await metricsText();
    const httpRequests = total(after, 'leadrouter_pings_total') - total(before, 'leadrouter_pings_total') + total(after, 'leadrouter_delivery_attempts_total') - total(before, 'leadrouter_delivery_attempts_total');
    const requestsPerSecond = Math.round(httpRequests / seconds);
    const soldPerSecond = Math.round(sold / seconds);
    const half = Math.max(1, Math.round(soldPerSecond / 2));
    const paced: string[] = [];
    const soldBeforePaced = total(await metricsText(), 'leadrouter_leads_sold_total');
    const pacedIntake = await pacedLoad(`auction path at half that rate (${half}/s): time to sale`, `http://127.0.0.1:${intakePort}/v1/leads`, half, (id) => paced.push(id));
    const waitedFrom = performance.now();
    while (total(await metricsText(), 'leadrouter_leads_sold_total') < soldBeforePaced + paced.length && performance.now() - waitedFrom < 60_000) await new Promise((r) => setTimeout(r, 100));
    const times = (await saleTimesFromRedis(client, prefix, paced)).map((p) => p.ms).sort((a, b) => a - b);
    let bids = 0;
    const pingAnswers = await pacedLoad(`supplier pings at ${half}/s`, `http://127.0.0.1:${intakePort}/v1/pings`, half, () => (bids += 1), args.duration, {
      body: () => JSON.stringify({ geo: 'US', source: 'Facebook', zip: '94107' }),
      ok: (status, answer) => status === 200 && answer.status === 'bid',
    });
    const pings = { sent: pingAnswers.sent, p50Ms: pingAnswers.p50Ms, p99Ms: pingAnswers.p99Ms, bids, other: pingAnswers.non202 };
    return {
      deadlineMs: AUCTION_DEADLINE_MS,
      bareGot: { requestsPerSecond: Math.round(bare.requestsPerSecond), auctionsPerSecond: Math.round(bare.auctionsPerSecond) },
      leadrouter: { intake: burst, sold, soldPerSecond, requestsPerSecond },
      ratioToBareGot: +(requestsPerSecond / bare.requestsPerSecond).toFixed(3),
      halfRate: half,
      halfRateIntake: pacedIntake,
      timeToSaleMs: { p50: percentile(times, 50), p99: percentile(times, 99), samples: times.length, target: AUCTION_DEADLINE_MS + 100 },
      supplierPings: { ...pings, target: AUCTION_DEADLINE_MS + 50 },
    };
  } finally {
    await stopChild(aio);
    await stopChild(bidders.child);
  }
}

/** Creation and sale times of leads still whole in Redis (no ledger: nothing compacts them). */
/**
 * Where a lead's time to sale goes, from its events (ms, p50 and p99 over `ids`): stored to routed
 * (the route queue's wait and the route step), routed to the delivery's start (the delivery
 * queue's wait), and the buyer's answer. (The sale is recorded with its attempt, in one step: it
 * adds nothing after the answer.)
 */
async function saleSegments(client: Redis, prefix: string, ids: readonly string[]): Promise<Record<string, { p50: number; p99: number }>> {
  const keys = redisKeys(prefix);
  const lists = await Promise.all(ids.map((id) => client.lrange(keys.leadEvents(id), 0, -1)));
  const segments: Record<string, number[]> = { toRouted: [], routedToAttempt: [], buyerAnswer: [] };
  for (const list of lists) {
    const events = list.map((e) => JSON.parse(e) as { at: string; type: string; durationMs?: number });
    const at = (type: string): number | undefined => {
      const e = events.find((x) => x.type === type);
      return e ? Date.parse(e.at) : undefined;
    };
    const [received, routed, attempt, delivered] = [at('received'), at('routed'), at('attempt'), at('delivered')];
    const duration = events.find((x) => x.type === 'attempt')?.durationMs;
    // Sold leads only, as the time to sale counts them.
    if (received === undefined || routed === undefined || attempt === undefined || delivered === undefined || duration === undefined) continue;
    segments.toRouted?.push(routed - received);
    segments.routedToAttempt?.push(attempt - duration - routed);
    segments.buyerAnswer?.push(duration);
  }
  return Object.fromEntries(Object.entries(segments).map(([name, ms]) => {
    const sorted = ms.sort((a, b) => a - b);
    return [name, { p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)) }];
  }));
}

async function saleTimesFromRedis(client: Redis, prefix: string, ids: readonly string[]): Promise<Array<{ createdAt: number; ms: number }>> {
  const keys = redisKeys(prefix);
  // One read per lead (their keys live in different slots of a cluster), all sent at once.
  return (await Promise.all(ids.map((id) => client.hmget(keys.lead(id), 'createdAt', 'soldAt'))))
    .filter(([c, t]) => c !== null && t !== null)
    .map(([c, t]) => ({ createdAt: Number(c), ms: Number(t) - Number(c) }));
}

/** The same from the ledger, where compaction leaves them (created_at and sold_at, to the millisecond). */
async function saleTimesFromLedger(databaseUrl: string, ids: readonly string[]): Promise<Array<{ createdAt: number; ms: number }>> {
  // Until the writer has stored the last sale.
  const ledger = await openLedger({ databaseUrl });
  try {
    for (let i = 0; i < 240; i++) {
      const rows = await ledger.db.selectFrom('leads').select(['created_at', 'sold_at']).where('id', 'in', ids.length > 0 ? [...ids] : ['']).where('sold_at', 'is not', null).execute();
      if (rows.length >= ids.length || i === 239) return rows.map((r) => ({ createdAt: r.created_at.getTime(), ms: (r.sold_at as Date).getTime() - r.created_at.getTime() }));
      await new Promise((r) => setTimeout(r, 250));
    }
    return [];
  } finally {
    await ledger.close();
  }
}

type E2eReport = Record<string, unknown> & {
  cpuMsPerLead: { burst: number; halfLoadRuns: number[] };
  timeToSaleMs: { p50: number; p99: number; p99BySecond: number[] };
  timeToSaleRuns: { runs: Array<{ p50: number; p99: number; segments?: Record<string, { p50: number; p99: number }> }>; p99Median: number; p99Min: number; p99Max: number; runsAtMost100Ms: number };
  halfRateIntake: { p50Ms: number; p99Ms: number; non202: number };
};

function printReport(report: Record<string, unknown>): void {
  const r = report as {
    ledgerOutage?: unknown;
    machine: { cores: number; cpu?: string };
    versions: Record<string, string>;
    intake?: { bareExpress: LoadResult; naivePeer: LoadResult; leadrouter: LoadResult; ratio: number; ratioToNaivePeer: number; redisCpuSecondsPerSecond: number; redisMicrosecondsPerLead: number; naivePeerRedisMicrosecondsPerLead: number };
    intakeVariants?: Record<string, { result: LoadResult; redisMicrosecondsPerLead: number }>;
    ab?: { baseline: string; rounds: Array<{ intake: [number, number]; sold: [number, number] }>; intakeRatioMedian: number; soldRatioMedian: number };
    e2e?: E2eReport;
    e2eWithoutLedger?: E2eReport;
    ledgerOnToOff?: number;
  };
  const out: string[] = [`\nmachine: ${r.machine.cores} cores, ${r.machine.cpu ?? '?'}; ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`];
  if (r.intake) {
    const row = (name: string, x: LoadResult): string => `  ${name.padEnd(22)} ${String(x.requestsPerSecond).padStart(7)} req/s   p50 ${x.p50Ms} ms   p99 ${x.p99Ms} ms   non-2xx ${x.non2xx}   errors ${x.errors}`;
    out.push('intake:', row('bare Express 5', r.intake.bareExpress), row('naive peer', r.intake.naivePeer), row('LeadRouter intake', r.intake.leadrouter), `  ratio to bare Express: ${r.intake.ratio}; to the naive peer: ${r.intake.ratioToNaivePeer} (target 1.0)`, `  redis-server CPU: ${r.intake.redisCpuSecondsPerSecond} core, ${r.intake.redisMicrosecondsPerLead} us per lead (naive peer ${r.intake.naivePeerRedisMicrosecondsPerLead} us)`);
    for (const [name, v] of Object.entries(r.intakeVariants ?? {})) out.push(`${row(name, v.result)}   redis ${v.redisMicrosecondsPerLead} us/lead   ${(v.result.requestsPerSecond / r.intake.leadrouter.requestsPerSecond).toFixed(2)}x`);
  }
  if (r.ab) {
    out.push(`this checkout against ${r.ab.baseline}:`);
    for (const [i, x] of r.ab.rounds.entries()) out.push(`  round ${i + 1}: intake ${x.intake[0]} -> ${x.intake[1]} req/s (${(x.intake[1] / x.intake[0]).toFixed(2)}x), sold ${x.sold[0]} -> ${x.sold[1]} leads/s (${(x.sold[1] / x.sold[0]).toFixed(2)}x)`);
    out.push(`  median: intake ${r.ab.intakeRatioMedian}x, sold ${r.ab.soldRatioMedian}x`);
  }
  for (const e of [r.e2eWithoutLedger, r.e2e]) {
    if (!e) continue;
    const lag = e.ledgerLagSeconds as { p50: number; p99: number; max: number } | undefined;
    out.push(
      `end to end, ledger ${String(e.ledger)}:`,
      `  bare BullMQ + got worker   ${String(e.bareBullmqGotPerSecond)} jobs/s`,
      `  LeadRouter sold            ${String(e.soldPerSecond)} leads/s (${String(e.sold)} sold; ratio ${String(e.ratioToBareWorker)})`,
      `  time to sale at ${String(e.halfRate)}/s      p50 ${e.timeToSaleMs.p50} ms, p99 ${e.timeToSaleMs.p99} ms (evenly paced; intake answers p50 ${e.halfRateIntake.p50Ms} ms, p99 ${e.halfRateIntake.p99Ms} ms, ${e.halfRateIntake.non202} not 202)`,
      `  time to sale, ${e.timeToSaleRuns.runs.length} runs      p99 median ${e.timeToSaleRuns.p99Median} ms (${e.timeToSaleRuns.p99Min}-${e.timeToSaleRuns.p99Max}); ${e.timeToSaleRuns.runsAtMost100Ms} of ${e.timeToSaleRuns.runs.length} at most 100 ms (each: ${e.timeToSaleRuns.runs.map((r) => `${r.p50}/${r.p99}`).join(', ')} ms p50/p99)`,
      `  all-in-one CPU per lead     ${e.cpuMsPerLead.burst} ms in the burst; ${e.cpuMsPerLead.halfLoadRuns.join(', ')} ms in the half-load runs`,
      ...e.timeToSaleRuns.runs.flatMap((r, i) => (r.segments ? [`    run ${i + 1} segments p50/p99 ms: ${Object.entries(r.segments).map(([name, x]) => `${name} ${x.p50}/${x.p99}`).join(', ')}`] : [])),
      `  p99 of each second         ${e.timeToSaleMs.p99BySecond.join(' ')} ms`,
      `  Redis memory per sold lead ${String(e.redisBytesPerSoldLead)} bytes, not counting ${String(e.idempotencyBytesPerLead)} bytes of 24-hour idempotency record`,
      ...(lag ? [`  ledger lag at half rate    p50 ${lag.p50} s, p99 ${lag.p99} s, max ${lag.max} s; caught up ${String(e.ledgerCatchUpSeconds)} s after the burst`] : []),
    );
  }
  if (r.ledgerOnToOff !== undefined) out.push(`  sold/s with the ledger, to without: ${r.ledgerOnToOff}`);
  const s = report.scaleOut as
    | { single: { soldPerSecond: number; redisMicrosecondsPerSoldLead: number[]; redisCoresBusy: number[] }; cluster: { soldPerSecond: number; redisMicrosecondsPerSoldLead: number[]; redisCoresBusy: number[] }; throughputRatio: number; busiestShardToSingle: number; clusterTotalToSingle: number }
    | undefined;
  if (s) {
    out.push(
      'scale-out (end to end, no ledger):',
      `  single Redis      ${s.single.soldPerSecond} sold/s; Redis ${s.single.redisMicrosecondsPerSoldLead.join('/')} us CPU per sold lead (${s.single.redisCoresBusy.join('/')} core busy)`,
      `  3-master cluster  ${s.cluster.soldPerSecond} sold/s; shards ${s.cluster.redisMicrosecondsPerSoldLead.join(' / ')} us CPU per sold lead (${s.cluster.redisCoresBusy.join(' / ')} core busy)`,
      `  throughput, cluster to single: ${s.throughputRatio} (target 0.9); busiest shard to single: ${s.busiestShardToSingle} (target at most 0.45); all shards to single: ${s.clusterTotalToSingle}`,
    );
  }
  const o = r.ledgerOutage as { rate: number; outageSeconds: number; accepted: number; lagAtEndOfOutageSeconds: number; backlogEntries: number; lagUnderTwoSecondsAfter: number | null; leadsInLedger: number } | undefined;
  if (o) {
    out.push(
      `ledger outage: ${o.outageSeconds} s of PostgreSQL down at ${o.rate} leads/s: ${o.accepted} accepted, lag ${o.lagAtEndOfOutageSeconds} s and ${o.backlogEntries} changes waiting at the end`,
      `  lag under 2 s ${o.lagUnderTwoSecondsAfter === null ? 'not within 180 s' : `${o.lagUnderTwoSecondsAfter} s`} after PostgreSQL came back; ${o.leadsInLedger} of ${o.accepted} leads in the ledger`,
    );
  }
  const a = report.auction as
    | { deadlineMs: number; bareGot: { requestsPerSecond: number }; leadrouter: { soldPerSecond: number; requestsPerSecond: number }; ratioToBareGot: number; halfRate: number; timeToSaleMs: { p50: number; p99: number; target: number }; supplierPings: { p50Ms: number; p99Ms: number; bids: number; other: number; target: number } }
    | undefined;
  if (a) {
    out.push(
      `auction (five bidders answering pings in 20-50 ms, deadline ${a.deadlineMs} ms):`,
      `  bare got, 5 pings + 1 post  ${a.bareGot.requestsPerSecond} HTTP req/s`,
      `  LeadRouter                  ${a.leadrouter.requestsPerSecond} HTTP req/s (${a.leadrouter.soldPerSecond} leads sold/s); ratio ${a.ratioToBareGot} (target 0.6)`,
      `  time to sale at ${a.halfRate}/s       p50 ${a.timeToSaleMs.p50} ms, p99 ${a.timeToSaleMs.p99} ms (target p99 <= ${a.timeToSaleMs.target} ms)`,
      `  supplier pings at ${a.halfRate}/s     p50 ${a.supplierPings.p50Ms} ms, p99 ${a.supplierPings.p99Ms} ms (target p99 <= ${a.supplierPings.target} ms); ${a.supplierPings.bids} bids, ${a.supplierPings.other} other`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
