import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { redisKeys, startRedisServer, type OwnedRedisServer } from '@leadrouter/redis';
import { ADMIN_KEY, ALPHA_KEY, BETA_KEY, LIMITED_KEY, intakeConfigYaml, startTestIntake, validLead, type TestIntake } from './helpers.js';
import { clusterMode } from '@leadrouter/testing';

describe('POST /v1/leads: the answers of contract §3', () => {
  let intake: TestIntake;
  beforeEach(async () => {
    intake = await startTestIntake();
  });
  afterEach(async () => {
    await intake.close();
  });

  test('202: a JSON lead is stored normalised (E.164 phone, upper-case geo, extra fields kept) and queued by its id', async () => {
    const res = await intake.post(validLead({ phone: '(415) 555-2671', geo: 'us', email: 'Jane@Example.com', utm_campaign: 'spring', age: 41, opt_in: true }));
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    expect(res.body).toEqual({ status: 'accepted', id });
    const job = await intake.queue.getJob(id);
    expect(job?.data).toEqual({ leadId: id });
    const lead = await intake.get(`/v1/leads/${id}`);
    expect(lead.status).toBe(200);
    expect(lead.body).toMatchObject({
      id,
      status: 'queued',
      geo: 'US',
      phone: '+14*******71',
      email: 'J***@Example.com',
      fields: { utm_campaign: 'spring', age: 41, opt_in: true },
    });
    expect(JSON.stringify(lead.body)).not.toContain('5552671');
    const raw = JSON.parse((await intake.redis.get(redisKeys(intake.env.prefix).leadData(id))) as string) as Record<string, unknown>;
    expect(raw.phone).toBe('+14155552671');
  });

  test('202: a form body with a Bearer key is accepted', async () => {
    const res = await intake.post('name=Ann+Lee&phone=202-555-0143&geo=US&source=Google&click_id=a%26b+c', {
      'content-type': 'application/x-www-form-urlencoded',
      'x-api-key': '',
      authorization: `Bearer ${ALPHA_KEY}`,
    });
    expect(res.status).toBe(202);
    const lead = await intake.get(`/v1/leads/${res.body.id as string}`);
    expect(lead.body).toMatchObject({ name: 'Ann Lee', source: 'Google', click_id: 'a&b c', phone: '+12*******43' });
  });

  test('202: a supplier whose key is configured as sha256:<hex> is authenticated', async () => {
    const res = await intake.post(validLead(), { 'x-api-key': BETA_KEY });
    expect(res.status).toBe(202);
  });

  test('400: every failing field is listed, and nothing is stored', async () => {
    const res = await intake.post({ name: '', phone: '12', geo: 'XX', email: 'not-an-email', ip: '999.1.1.1' });
    expect(res.status).toBe(400);
    expect(res.body.status).toBe('rejected');
    expect(res.body.reason).toBe('invalid');
    const fields = (res.body.errors as { field: string; message: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['email', 'geo', 'ip', 'name', 'phone', 'source']);
    expect(await intake.storedLeadCount()).toBe(0);
  });

  test('400: malformed JSON is invalid', async () => {
    const res = await intake.post('{"name": "x",');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'rejected', reason: 'invalid', errors: [{ field: 'body' }] });
  });

  test('401: no key, an unknown key, or a Bearer of an unknown key', async () => {
    for (const headers of [{ 'x-api-key': '' }, { 'x-api-key': 'who-knows' }, { 'x-api-key': '', authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const res = await intake.post(validLead(), headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ status: 'rejected', reason: 'unauthorized' });
    }
    // A refused client still sending a body within the limit gets its answer, not a broken pipe.
    const big = await intake.post(validLead({ notes: 'n'.repeat(900), ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'v'.repeat(900)])) }), { 'x-api-key': 'who-knows' });
    expect(big.status).toBe(401);
    expect(await intake.storedLeadCount()).toBe(0);
  });

  test('409: the same phone from the same supplier within the window; another supplier is not a duplicate (scope supplier)', async () => {
    const lead = validLead();
    const first = await intake.post(lead);
    expect(first.status).toBe(202);
    const again = await intake.post({ ...lead, phone: String(lead.phone).replace(/[^0-9]/g, '') });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ status: 'rejected', reason: 'duplicate', duplicateOf: first.body.id });
    const other = await intake.post(lead, { 'x-api-key': BETA_KEY });
    expect(other.status).toBe(202);
    expect(await intake.storedLeadCount()).toBe(2);
  });

  test('413: a body over 64 KiB', async () => {
    const res = await intake.post(validLead({ notes: 'x'.repeat(70 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ status: 'rejected', reason: 'too_large' });
  });

  test('415: other content types and charsets; UTF-8 JSON with an explicit charset is fine', async () => {
    for (const type of ['text/plain', 'application/xml', 'application/json; charset=latin1', 'multipart/form-data; boundary=x']) {
      const res = await intake.post(JSON.stringify(validLead()), { 'content-type': type });
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ status: 'rejected', reason: 'unsupported_media_type' });
    }
    const ok = await intake.post(JSON.stringify(validLead()), { 'content-type': 'application/json; charset=UTF-8' });
    expect(ok.status).toBe(202);
  });

  test('429: over the supplier rate limit, with Retry-After; other suppliers are unaffected', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await intake.post(validLead(), { 'x-api-key': LIMITED_KEY }));
    expect(answers.slice(0, 2).map((a) => a.status)).toEqual([202, 202]);
    const limited = answers.slice(2);
    for (const res of limited) {
      expect(res.status).toBe(429);
      expect(res.body).toEqual({ status: 'rejected', reason: 'rate_limited' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect((await intake.post(validLead())).status).toBe(202);
  });

  test('Idempotency-Key: the same key gets the first answer again and no second lead; another supplier has its own keys', async () => {
    const lead = validLead();
    const first = await intake.post(lead, { 'idempotency-key': 'order-1' });
    const second = await intake.post({ ...lead, name: 'Changed Name' }, { 'idempotency-key': 'order-1' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    const beta = await intake.post(lead, { 'x-api-key': BETA_KEY, 'idempotency-key': 'order-1' });
    expect(beta.status).toBe(202);
    expect(beta.body.id).not.toBe(first.body.id);
    expect(await intake.storedLeadCount()).toBe(2);
    // A duplicate answer is remembered too: retrying gives the same 409.
    const dup1 = await intake.post(lead, { 'idempotency-key': 'order-2' });
    const dup2 = await intake.post(lead, { 'idempotency-key': 'order-2' });
    expect(dup1).toMatchObject({ status: 409, body: { duplicateOf: first.body.id } });
    expect(dup2.body).toEqual(dup1.body);
  });
});

describe('dedupe scope global and window 0', () => {
  test('scope global: the same phone from another supplier is a duplicate', async () => {
    const intake = await startTestIntake(intakeConfigYaml().replace('scope: supplier', 'scope: global'));
    try {
      const lead = validLead();
      const first = await intake.post(lead);
      const other = await intake.post(lead, { 'x-api-key': BETA_KEY });
      expect(other).toMatchObject({ status: 409, body: { duplicateOf: first.body.id } });
    } finally {
      await intake.close();
    }
  });

  test('window 0 turns dedupe off', async () => {
    const intake = await startTestIntake(intakeConfigYaml().replace('window: 1h', 'window: 0'));
    try {
      const lead = validLead();
      expect((await intake.post(lead)).status).toBe(202);
      expect((await intake.post(lead)).status).toBe(202);
    } finally {
      await intake.close();
    }
  });
});

describe('GET /v1/leads/:id', () => {
  let intake: TestIntake;
  let id: string;
  beforeAll(async () => {
    intake = await startTestIntake();
    id = (await intake.post(validLead({ name: 'Sam Poe', email: 'sam@poe.io', ip: '203.0.113.9', click_id: 'c-1' }))).body.id as string;
  });
  afterAll(async () => {
    await intake.close();
  });

  test('the owning supplier sees status, quality, createdAt and the received event, without destination or payout', async () => {
    const res = await intake.get(`/v1/leads/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'queued', supplier: 'alpha', email: 's***@poe.io' });
    expect(res.body.quality).toBeGreaterThan(0);
    expect(res.body.quality).toBeLessThanOrEqual(1);
    expect(new Date(res.body.createdAt as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.events).toEqual([expect.objectContaining({ type: 'received', at: expect.any(String) })]);
    expect(res.body).not.toHaveProperty('destination');
    expect(res.body).not.toHaveProperty('payout');
  });

  test('the admin sees destination and payout', async () => {
    const res = await intake.get(`/v1/leads/${id}`, ADMIN_KEY);
    expect(res.status).toBe(200);
    expect(res.body).toHaveProperty('destination', null);
    expect(res.body).toHaveProperty('payout', null);
  });

  test("another supplier's lead, an unknown id and a malformed id are 404; no key is 401", async () => {
    expect((await intake.get(`/v1/leads/${id}`, BETA_KEY)).status).toBe(404);
    expect((await intake.get('/v1/leads/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await intake.get('/v1/leads/..%2F..%2Fetc')).status).toBe(404);
    expect((await intake.get(`/v1/leads/${id}`, 'wrong')).status).toBe(401);
  });
});

describe('quality score', () => {
  test('a lead with every signal scores 1; a bare lead with a landline-only number scores lower', async () => {
    const intake = await startTestIntake();
    try {
      const full = await intake.post(validLead({ name: 'Ada Lovelace', email: 'ada@example.org', ip: '2001:db8::1', click_id: 'x' }));
      const bare = await intake.post({ name: 'Ada', phone: '020 7946 0018', geo: 'GB', source: 'Google' });
      expect((await intake.get(`/v1/leads/${full.body.id as string}`)).body.quality).toBe(1);
      // GB 020 numbers are fixed lines: only the base score for a valid phone remains.
      expect((await intake.get(`/v1/leads/${bare.body.id as string}`)).body.quality).toBe(0.4);
    } finally {
      await intake.close();
    }
  });
});

describe('metrics, health and readiness', () => {
  test('/metrics counts received leads by supplier, geo and bounded source, and rejections by reason', async () => {
    const intake = await startTestIntake();
    try {
      await intake.post(validLead({ source: 'facebook' }));
      await intake.post(validLead({ source: 'Some Random Blog' }));
      await intake.post({ name: 'x' });
      await intake.post(validLead(), { 'x-api-key': 'bad' });
      const text = await (await fetch(`${intake.url}/metrics`)).text();
      expect(text).toContain('leadrouter_leads_received_total{supplier="alpha",geo="US",source="Facebook"} 1');
      expect(text).toContain('leadrouter_leads_received_total{supplier="alpha",geo="US",source="other"} 1');
      expect(text).toContain('leadrouter_leads_rejected_total{supplier="alpha",reason="invalid"} 1');
      expect(text).toContain('leadrouter_leads_rejected_total{supplier="unknown",reason="unauthorized"} 1');
      expect(text).toMatch(/leadrouter_http_request_duration_seconds_count\{service="intake",route="\/v1\/leads",code="202"\} 2/);
      expect(text).toContain('process_cpu_user_seconds_total');
      expect((await fetch(`${intake.url}/healthz`)).status).toBe(200);
      // The suite's single Redis keeps nothing on disk: ready, but said loudly, in /readyz and in
      // the log. Its cluster has AOF on every master: nothing to say of it.
      const ready = await fetch(`${intake.url}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { ok: boolean; warnings: string[] };
      expect(body.ok).toBe(true);
      // And the open /metrics (no METRICS_TOKEN in this test).
      const metricsWarning = expect.stringContaining('METRICS_TOKEN is unset');
      if (clusterMode()) {
        expect(body.warnings).toEqual([metricsWarning]);
        expect(intake.logs.text()).not.toContain('UNSAFE: Redis');
      } else {
        expect(body.warnings).toEqual([expect.stringContaining('no persistence'), metricsWarning]);
        expect(intake.logs.text()).toContain('UNSAFE: Redis has no persistence');
      }
    } finally {
      await intake.close();
    }
  });
});

describe('Redis unavailable', () => {
  let server: OwnedRedisServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lr-intake-503-'));
    server = await startRedisServer({ dir, appendOnly: true });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('503 with Retry-After while Redis is down (never 202), readyz 503; back to 202 when it returns', async () => {
    const intake = await startTestIntake(intakeConfigYaml(), { redisUrl: server.url, metricsToken: 'metrics-token' });
    try {
      // AOF on and noeviction, and /metrics behind a token: nothing to warn about.
      expect(((await (await fetch(`${intake.url}/readyz`)).json()) as { warnings: string[] }).warnings).toEqual([]);
      const before = await intake.post(validLead());
      expect(before.status).toBe(202);
      await server.stop();
      const started = Date.now();
      const res = await intake.post(validLead());
      const elapsed = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'rejected', reason: 'unavailable' });
      expect(res.headers.get('retry-after')).toBe('1');
      expect(elapsed).toBeLessThan(5000); // generous bound: the point is that it does not hang
      expect((await fetch(`${intake.url}/readyz`)).status).toBe(503);
      // Rate limits still hold while Redis is away: the in-memory insurance limiter takes over.
      const limited = [];
      for (let i = 0; i < 3; i++) limited.push((await intake.post(validLead(), { 'x-api-key': LIMITED_KEY })).status);
      expect(limited).toEqual([503, 503, 429]);

      server = await startRedisServer({ dir, appendOnly: true, port: server.port });
      let status = 0;
      for (let i = 0; i < 100 && status !== 202; i++) {
        status = (await intake.post(validLead())).status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(202);
      // The lead accepted before the outage survived the restart (AOF).
      expect((await intake.get(`/v1/leads/${before.body.id as string}`)).body).toMatchObject({ status: 'queued' });
    } finally {
      await intake.close();
    }
  });
});
