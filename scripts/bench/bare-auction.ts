/**
 * The auction path's ceiling (issue #15): a bare got client doing what an auction does, with no
 * LeadRouter, no Redis and no queue: five pings at once, then one post to the best bid, with
 * CONCURRENCY auctions in flight (as many as a worker's route jobs), for DURATION seconds. Prints
 * the HTTP requests per second (pings plus posts). Env: BIDDERS_URL, CONCURRENCY, DURATION.
 */
import got from 'got';

const base = process.env.BIDDERS_URL as string;
const concurrency = Number(process.env.CONCURRENCY ?? 50);
const durationMs = Number(process.env.DURATION ?? 10) * 1000;
const client = got.extend({ timeout: { request: 5000 }, retry: { limit: 0 }, responseType: 'json' });
let requests = 0;
let auctions = 0;
const started = performance.now();
const lane = async (): Promise<void> => {
  while (performance.now() - started < durationMs) {
    const bids = await Promise.all([0, 1, 2, 3, 4].map(async (b) => ({ b, price: (await client.post(`${base}/b${b}/ping`, { json: { geo: 'US', source: 'Google' } }).json<{ price: number }>()).price })));
    requests += 5;
    const best = bids.sort((x, y) => y.price - x.price)[0] as { b: number; price: number };
    await client.post(`${base}/b${best.b}/post`, { json: { name: 'Bench', phone: '+14155550100', price: best.price } });
    requests += 1;
    auctions += 1;
  }
};
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ seconds, auctions, requests, requestsPerSecond: requests / seconds, auctionsPerSecond: auctions / seconds })}\n`);
