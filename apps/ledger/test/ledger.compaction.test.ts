import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openLedger } from '@leadrouter/ledger';
import { leadBucket, redisKeys } from '@leadrouter/redis';
import { COMPACTED_FIELDS, COMPACTED_UNSOLD_FIELDS } from '@leadrouter/store';
import { freshDatabase, testRedisClient, waitFor, type FreshDatabase } from '@leadrouter/testing';
import { closedAfterEach, ADMIN, KEY, systemYaml, uniquePhone, type TestSystem } from '@leadrouter/testing/system';
import { startLedger } from '../src/start.js';

/**
 * Compaction (contract §10): once a lead is final and its changes are in the ledger, Redis drops
 * its fields and its history and keeps only what later steps read. Every answer stays the same,
 * and the later steps (postbacks, supplier notifications, an admin's redelivery) still work.
 */
const { server, system } = closedAfterEach();
const redis = testRedisClient();
afterAll(() => redis.disconnect());

const get = async (sys: TestSystem, path: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`http://127.0.0.1:${sys.intake.port}${path}`, { headers: { 'x-api-key': key } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** Resolves once the lead is compacted through its latest event: fields and history gone from Redis. */
async function compacted(sys: TestSystem, id: string): Promise<Record<string, string>> {
  const keys = redisKeys(sys.env.prefix);
  return waitFor(
    async () => {
      const [hash, data, events] = await Promise.all([redis.hgetall(keys.lead(id)), redis.exists(keys.leadData(id)), redis.exists(keys.leadEvents(id))]);
      return hash.compacted !== undefined && hash.compacted === hash.seq && data === 0 && events === 0 ? hash : undefined;
    },
    20_000,
    `lead ${id} compacted`,
  );
}

describe('compaction of final leads', () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test('a sold lead and an unsold one answer the same before and after compaction; Redis keeps only their state; a later postback and its notification still work', async () => {
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const tracker = await server((_req, res) => res.writeHead(200).end('ok'));
    const yaml = systemYaml(
      `
destinations:
  - { id: buyer, url: "${buyer.url}/", payout: 12.5, postback: { token: pbt } }
routes:
  - { id: all, match: { source: [Facebook] }, destinations: [{ id: buyer }] }
`,
      `postbackUrl: "${tracker.url}/pb?lead={lead_id}&click={click_id}&s={status}&geo={geo}"
postbackOn: [accepted]`,
    );
    const sys = await system(yaml, { env: { ledger: true, databaseUrl: db.url } });
    const sold = (await sys.post({ name: 'Комп Акт', phone: uniquePhone(), geo: 'US', source: 'Facebook', email: 'c@example.com', click_id: 'clk-9', age: 41 })).body.id as string;
    const unsold = (await sys.post({ name: 'No Route', phone: uniquePhone(), geo: 'US', source: 'Nowhere' })).body.id as string;
    await sys.final(sold);
    await sys.final(unsold);
    // No writer yet: both are hot, whole in Redis. What every caller sees now must not change.
    const before = {
      admin: [await get(sys, `/v1/leads/${sold}`, ADMIN), await get(sys, `/v1/leads/${unsold}`, ADMIN)],
      supplier: [await get(sys, `/v1/leads/${sold}`, KEY), await get(sys, `/v1/leads/${unsold}`, KEY)],
    };
    expect(before.admin[0]?.body).toMatchObject({ status: 'delivered', destination: 'buyer', payout: 12.5, click_id: 'clk-9', fields: { age: 41 } });
    const keys = redisKeys(sys.env.prefix);
    const bytesBefore = await leadBytes(keys, sold);

    const writer = await startLedger({ env: sys.env, logger: sys.logs.logger, port: 0, compactAfterMs: 0 });
    try {
      const soldHash = await compacted(sys, sold);
      const unsoldHash = await compacted(sys, unsold);
      const kept = (hash: Record<string, string>, allowed: readonly string[]): string[] => Object.keys(hash).filter((f) => !allowed.includes(f) && f !== 'compacted' && !f.startsWith('learnMoved'));
      // And the buyer's cap marker: it names the sale's hold, for the cap sweeper (compact-lead-3.lua).
      expect(kept(soldHash, [...COMPACTED_FIELDS, 'cap:buyer'])).toEqual([]);
      expect(soldHash['cap:buyer']).toMatch(/^[A-Za-z0-9_-]{8}\|h:/);
      expect(kept(unsoldHash, [...COMPACTED_FIELDS, ...COMPACTED_UNSOLD_FIELDS])).toEqual([]);
      expect(soldHash).toMatchObject({ status: 'delivered', destination: 'buyer', payout: '12.5', clickId: 'clk-9', supplier: 'acme' });
      expect(unsoldHash).toMatchObject({ status: 'unsold', reason: 'no_route' });
      const bytesAfter = await leadBytes(keys, sold);
      expect(bytesAfter).toBeLessThan(bytesBefore / 2);

      const after = {
        admin: [await get(sys, `/v1/leads/${sold}`, ADMIN), await get(sys, `/v1/leads/${unsold}`, ADMIN)],
        supplier: [await get(sys, `/v1/leads/${sold}`, KEY), await get(sys, `/v1/leads/${unsold}`, KEY)],
      };
      expect(after).toEqual(before);

      // A postback after compaction: applied on the state Redis kept, recorded as the next event,
      // and its notification names the click id the compacted hash kept.
      const params = new URLSearchParams({ lead_id: sold, status: 'accepted', payout: '15', token: 'pbt' });
      expect((await fetch(`${sys.postbackUrl}/v1/postbacks/buyer?${params}`)).status).toBe(200);
      const moved = await get(sys, `/v1/leads/${sold}`, ADMIN);
      expect(moved.body).toMatchObject({ status: 'accepted', payout: 15 });
      const events = moved.body.events as Array<{ type: string }>;
      expect(events.slice(0, -1)).toEqual(before.admin[0]?.body.events);
      expect(events.at(-1)).toMatchObject({ type: 'postback', status: 'accepted', payout: 15 });
      const hit = await waitFor(() => tracker.requests.find((r) => r.url.includes(`lead=${sold}`) && r.url.includes('s=accepted')), 10_000, 'the notification of the postback');
      expect(hit.url).toContain('click=clk-9');
      expect(hit.url).toContain('geo=US');
      // The postback and the notification reach the ledger, and the lead is compacted again: same answer.
      await waitFor(async () => ((await get(sys, `/v1/leads/${sold}`, ADMIN)).body.events as unknown[]).some((e) => (e as { type: string }).type === 'notified') || undefined, 10_000, 'the notified event');
      const settled = await get(sys, `/v1/leads/${sold}`, ADMIN);
      await compacted(sys, sold);
      expect(await get(sys, `/v1/leads/${sold}`, ADMIN)).toEqual(settled);
      // The compacted lead's postback told the ledger only what changed: its route and sale time stay.
      const ledger = await openLedger({ databaseUrl: db.url });
      try {
        const row = await ledger.db.selectFrom('leads').select(['status', 'payout', 'route', 'sold_at', 'destination']).where('id', '=', sold).executeTakeFirstOrThrow();
        expect(row).toMatchObject({ status: 'accepted', payout: 15, route: 'all', destination: 'buyer' });
        expect(row.sold_at).toBeInstanceOf(Date);
      } finally {
        await ledger.close();
      }
    } finally {
      await writer.close();
    }
  }, 90_000);

  test('a final lead stays whole for LEDGER_COMPACT_AFTER_MS after the ledger has it (a job re-run after a crash finds it whole), then is compacted', async () => {
    const buyer = await server((_req, res) => res.writeHead(200).end('{}'));
    const sys = await system(systemYaml(`
destinations:
  - { id: buyer, url: "${buyer.url}/", payout: 3 }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`), { env: { ledger: true, databaseUrl: db.url, ledgerCompactAfterMs: 2_000 } });
    const id = (await sys.post()).body.id as string;
    await sys.final(id);
    const writer = await startLedger({ env: sys.env, logger: sys.logs.logger, port: 0 });
    try {
      const keys = redisKeys(sys.env.prefix);
      // In the ledger, scheduled, and still whole.
      await waitFor(async () => ((await redis.zcard(keys.compactionDue(leadBucket(id)))) === 1 ? true : undefined), 10_000, 'the lead scheduled');
      const scheduledAt = Date.now();
      expect(await redis.exists(keys.leadData(id))).toBe(1);
      await compacted(sys, id);
      expect(Date.now() - scheduledAt).toBeGreaterThan(1_000);
      expect(await redis.zcard(keys.compactionDue(leadBucket(id)))).toBe(0);
    } finally {
      await writer.close();
    }
  }, 60_000);

  test('an unsold lead compacted in Redis is redelivered with its fields read back from the ledger, and sells', async () => {
    let accepting = false;
    const buyer = await server((_req, res) => res.writeHead(accepting ? 200 : 400).end('{}'));
    const yaml = systemYaml(`
destinations:
  - { id: buyer, url: "${buyer.url}/", method: POST, body: { name: "{{name}}", phone: "{{phone}}", age: "{{age}}" }, payout: 9 }
routes:
  - { id: all, destinations: [{ id: buyer }] }
`);
    const sys = await system(yaml, { env: { ledger: true, databaseUrl: db.url } });
    const phone = uniquePhone();
    const id = (await sys.post({ name: 'Re Deliver', phone, geo: 'US', source: 'Facebook', age: 33 })).body.id as string;
    expect((await sys.final(id)).status).toBe('unsold');
    const writer = await startLedger({ env: sys.env, logger: sys.logs.logger, port: 0, compactAfterMs: 0 });
    try {
      await compacted(sys, id);
      accepting = true;
      const res = await fetch(`http://127.0.0.1:${sys.intake.port}/v1/admin/leads/${id}/redeliver`, { method: 'POST', headers: { 'x-api-key': ADMIN } });
      expect(res.status).toBe(202);
      const lead = await sys.final(id);
      expect(lead).toMatchObject({ status: 'delivered', destination: 'buyer', payout: 9 });
      // The whole history: the first round from the ledger, the second from Redis.
      expect(lead.events.map((e) => e.type)).toEqual(['received', 'routed', 'attempt', 'unsold', 'requeued', 'routed', 'attempt', 'delivered']);
      const sale = buyer.requests.at(-1);
      expect(JSON.parse(sale?.body ?? '{}')).toEqual({ name: 'Re Deliver', phone, age: 33 });
    } finally {
      await writer.close();
    }
  }, 60_000);
});

/** Bytes Redis uses for a lead's own keys (state, fields, history), by MEMORY USAGE. */
async function leadBytes(keys: ReturnType<typeof redisKeys>, id: string): Promise<number> {
  let total = 0;
  for (const key of [keys.lead(id), keys.leadData(id), keys.leadEvents(id)]) total += Number((await redis.memory('USAGE', key)) ?? 0);
  return total;
}
