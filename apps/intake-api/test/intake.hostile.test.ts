import { request, type OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { ALPHA_KEY, startTestIntake, validLead, type TestIntake } from './helpers.js';

const KIB = 1024;
const MAX_BODY = 64 * KIB;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Socket errors a client may see while still writing a body the server has already refused. */
const WRITE_SIDE_ERRORS = new Set(['EPIPE', 'ECONNRESET']);

/**
 * POSTs through node:http, so the body can be streamed (chunked, no Content-Length) and so a server
 * that answers and closes before the whole body is written still yields its answer: EPIPE and
 * ECONNRESET on the write side are tolerated, but only if a response was read in the end.
 */
function rawPost(url: string, headers: OutgoingHttpHeaders, body: Buffer | Readable): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise<Answer>((resolve, reject) => {
    let writeError: NodeJS.ErrnoException | undefined;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    const req = request(
      { hostname, port, path: '/v1/leads', method: 'POST', agent: false, headers: { 'x-api-key': ALPHA_KEY, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => finish(() => reject(err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          finish(() => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
            } catch (err) {
              reject(new Error(`non-JSON answer ${res.statusCode}: ${text.slice(0, 200)} (${(err as Error).message})`));
            }
          });
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && WRITE_SIDE_ERRORS.has(err.code)) {
        writeError = err;
        return;
      }
      finish(() => reject(err));
    });
    req.on('close', () => {
      // Give a response that is already being read the chance to end first.
      setImmediate(() => finish(() => reject(writeError ?? new Error('connection closed without a response'))));
    });
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** A streamed body of `total` bytes in 8 KiB chunks: a JSON object with one long string field. */
function streamedJson(total: number): Readable {
  const head = Buffer.from('{"name":"Jane Roe","phone":"(415) 555-2671","geo":"US","source":"Facebook","note":"');
  const tail = Buffer.from('"}');
  let remaining = total - head.length - tail.length;
  return Readable.from(
    (function* () {
      yield head;
      while (remaining > 0) {
        const size = Math.min(8 * KIB, remaining);
        remaining -= size;
        yield Buffer.alloc(size, 'a');
      }
      yield tail;
    })(),
  );
}

describe('intake under hostile input: every answer is a 4xx and nothing is stored or queued', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });
  afterAll(async () => {
    await intake.close();
  });

  // Counts before each test, so that a lead wrongly stored by one case fails that case alone.
  let before: { stored: number; queued: number };
  beforeEach(async () => {
    before = { stored: await intake.storedLeadCount(), queued: await intake.queuedJobCount() };
  });

  async function expectNothingStored(): Promise<void> {
    expect({ stored: await intake.storedLeadCount(), queued: await intake.queuedJobCount() }).toEqual(before);
  }

  /** A 400 `invalid` whose errors name exactly `fields` (in any order), and nothing stored. */
  async function expectInvalid(res: Answer, fields: string[]): Promise<void> {
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'rejected',
      reason: 'invalid',
      errors: expect.arrayContaining(fields.map((field) => ({ field, message: expect.any(String) }))),
    });
    const named = (res.body.errors as { field: string }[]).map((e) => e.field);
    expect([...named].sort()).toEqual([...fields].sort());
    await expectNothingStored();
  }

  /** A non-400 rejection with the given status and reason (a `message` may come along). */
  async function expectRejected(res: Answer, status: number, reason: string): Promise<void> {
    expect(res.status).toBe(status);
    expect(res.body.status).toBe('rejected');
    expect(res.body.reason).toBe(reason);
    expect(Object.keys(res.body).filter((k) => k !== 'message').sort()).toEqual(['reason', 'status']);
    await expectNothingStored();
  }

  test('starts with nothing stored', async () => {
    expect(before).toEqual({ stored: 0, queued: 0 });
  });

  describe('prototype keys', () => {
    test('a real JSON "__proto__" key is a 400 naming it, and pollutes nothing', async () => {
      const lead = JSON.stringify(validLead()).slice(0, -1);
      const text = `${lead},"__proto__":{"polluted":"yes","name":123}}`;
      expect(Object.hasOwn(JSON.parse(text) as object, '__proto__')).toBe(true);
      await expectInvalid(await intake.post(text), ['__proto__']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    test('a "__proto__" key with a scalar value is a 400 naming it', async () => {
      const lead = JSON.stringify(validLead()).slice(0, -1);
      await expectInvalid(await intake.post(`${lead},"__proto__":"x"}`), ['__proto__']);
    });

    test('a JSON "constructor" key is a 400 naming it, and pollutes nothing', async () => {
      const lead = JSON.stringify(validLead()).slice(0, -1);
      await expectInvalid(await intake.post(`${lead},"constructor":{"prototype":{"polluted":"yes"}}}`), ['constructor']);
      await expectInvalid(await intake.post(`${lead},"constructor":"x"}`), ['constructor']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    test('a form field "__proto__=1" is a 400 naming it', async () => {
      const form = `${new URLSearchParams(validLead() as Record<string, string>).toString()}&__proto__=1`;
      await expectInvalid(await intake.post(form, FORM), ['__proto__']);
      expect(({} as Record<string, unknown>)['1']).toBeUndefined();
    });
  });

  describe('oversized bodies', () => {
    test('a 1 MB string field (body over 64 KiB) is a 413 too_large', async () => {
      const body = JSON.stringify(validLead({ note: 'a'.repeat(1024 * KIB) }));
      expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY);
      await expectRejected(await intake.post(body), 413, 'too_large');
    });

    test('a body one byte over 64 KiB is a 413, exactly 64 KiB is read (and judged on its fields)', async () => {
      const base = JSON.stringify(validLead({ note: '' }));
      const fill = (size: number): string => base.replace('"note":""', `"note":"${'a'.repeat(size - Buffer.byteLength(base))}"`);
      const over = fill(MAX_BODY + 1);
      expect(Buffer.byteLength(over)).toBe(MAX_BODY + 1);
      await expectRejected(await intake.post(over), 413, 'too_large');
      const exact = fill(MAX_BODY);
      expect(Buffer.byteLength(exact)).toBe(MAX_BODY);
      // Not refused for size: refused because an extra string is limited to 1000 characters.
      await expectInvalid(await intake.post(exact), ['note']);
    });

    test('a 10 MB body is a 413 too_large', async () => {
      const body = Buffer.alloc(10 * 1024 * KIB, 'a');
      let res: Answer;
      try {
        res = await intake.post(body);
      } catch (err) {
        // fetch may lose the answer to the connection the server closes; node:http still reads it.
        const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        expect(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(code);
        res = await rawPost(intake.url, { 'content-type': 'application/json', 'content-length': body.length }, body);
      }
      await expectRejected(res, 413, 'too_large');
      // The same body through node:http, which tolerates a refused write.
      const raw = await rawPost(intake.url, { 'content-type': 'application/json', 'content-length': body.length }, body);
      await expectRejected(raw, 413, 'too_large');
    });

    test('a chunked body (no Content-Length) over 64 KiB is a 413 too_large', async () => {
      const res = await rawPost(
        intake.url,
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        streamedJson(MAX_BODY + 64 * KIB),
      );
      await expectRejected(res, 413, 'too_large');
    });

    test('a chunked body under 64 KiB is read and judged on its fields', async () => {
      const res = await rawPost(
        intake.url,
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        streamedJson(8 * KIB),
      );
      await expectInvalid(res, ['note']);
    });
  });

  describe('field limits', () => {
    test('a 5,000-character string in an extra field is a 400 naming it', async () => {
      await expectInvalid(await intake.post(validLead({ comment: 'x'.repeat(5000) })), ['comment']);
    });

    test('an extra string of 1001 characters is a 400 naming it', async () => {
      await expectInvalid(await intake.post(validLead({ comment: 'x'.repeat(1001) })), ['comment']);
    });

    test('a name of 201 characters is a 400 naming it', async () => {
      await expectInvalid(await intake.post(validLead({ name: 'N'.repeat(201) })), ['name']);
    });

    test('51 extra fields is a 400 naming the body', async () => {
      const extras = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, 'v']));
      await expectInvalid(await intake.post(validLead(extras)), ['body']);
    });

    test('a field name with a space is a 400 naming it', async () => {
      await expectInvalid(await intake.post(validLead({ 'bad name': 'v' })), ['bad name']);
    });

    test('a field name of 65 characters is a 400 naming it', async () => {
      const name = 'k'.repeat(65);
      await expectInvalid(await intake.post(validLead({ [name]: 'v' })), [name]);
    });
  });

  describe('structure', () => {
    test('5,000 levels of nesting (under 64 KiB) is a 400 naming the field', async () => {
      const lead = JSON.stringify(validLead()).slice(0, -1);
      const body = `${lead},"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY);
      await expectInvalid(await intake.post(body), ['x']);
    });

    test('5,000 levels of object nesting is a 400 naming the field', async () => {
      const lead = JSON.stringify(validLead()).slice(0, -1);
      const body = `${lead},"x":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
      expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY);
      await expectInvalid(await intake.post(body), ['x']);
    });

    test('an object as a field value is a 400 naming the field', async () => {
      await expectInvalid(await intake.post(validLead({ meta: { a: 1 } })), ['meta']);
    });

    test('an array as a field value is a 400 naming the field', async () => {
      await expectInvalid(await intake.post(validLead({ tags: ['a', 'b'] })), ['tags']);
    });

    test('an array as a standard field value is a 400 naming the field', async () => {
      await expectInvalid(await intake.post(validLead({ name: ['Jane', 'Roe'] })), ['name']);
    });

    test('a top-level JSON array is a 400 naming the body', async () => {
      await expectInvalid(await intake.post(JSON.stringify([validLead()])), ['body']);
    });

    test('a top-level JSON null is a 400 naming the body', async () => {
      await expectInvalid(await intake.post('null'), ['body']);
    });

    test('a top-level JSON string is a 400 naming the body', async () => {
      await expectInvalid(await intake.post('"name=Jane"'), ['body']);
    });

    test('a top-level JSON number is a 400 naming the body', async () => {
      await expectInvalid(await intake.post('42'), ['body']);
    });

    test('malformed JSON is a 400 naming the body', async () => {
      await expectInvalid(await intake.post('{"name":"Jane"'), ['body']);
    });

    test('a form body with a repeated key is a 400 naming the key', async () => {
      const form = `${new URLSearchParams(validLead() as Record<string, string>).toString()}&a=1&a=2`;
      await expectInvalid(await intake.post(form, FORM), ['a']);
    });

    test('a form body repeating a standard field is a 400 naming it', async () => {
      const form = `${new URLSearchParams(validLead() as Record<string, string>).toString()}&name=Other`;
      await expectInvalid(await intake.post(form, FORM), ['name']);
    });
  });

  describe('text and numbers JSON can carry but a lead cannot', () => {
    // "\\ud800" in JSON is a lone UTF-16 surrogate: no character, unencodable in UTF-8, URLs or headers.
    const withRaw = (fields: string): string => `{"name":"Jane Roe","phone":"(415) 555-2671","geo":"US","source":"Facebook",${fields}}`;

    test('a lone surrogate in the name is a 400 naming the name only', async () => {
      await expectInvalid(await intake.post('{"name":"Ann\\ud800","phone":"(415) 555-2671","geo":"US","source":"Facebook"}'), ['name']);
    });

    test('a lone surrogate in click_id, source and an extra field is a 400 naming all three', async () => {
      const body = '{"name":"Jane Roe","phone":"(415) 555-2671","geo":"US","source":"Face\\udc00book","click_id":"c\\ud800","note":"x\\udfff"}';
      await expectInvalid(await intake.post(body), ['source', 'click_id', 'note']);
    });

    test('1e400 in an extra field is a 400 naming the field, not a silent null', async () => {
      await expectInvalid(await intake.post(withRaw('"score":1e400')), ['score']);
    });

    test('-1e400 in an extra field is a 400 naming the field', async () => {
      await expectInvalid(await intake.post(withRaw('"score":-1e400')), ['score']);
    });
  });

  describe('types and values', () => {
    test('numbers where strings belong are a 400 listing both fields', async () => {
      await expectInvalid(await intake.post(validLead({ name: 123, phone: 4155552671 })), ['name', 'phone']);
    });

    test('a GB mobile number with geo US is a 400 naming the phone (international form)', async () => {
      await expectInvalid(await intake.post(validLead({ phone: '+44 7911 123456', geo: 'US' })), ['phone']);
    });

    test('a GB mobile number with geo US is a 400 naming the phone (national form)', async () => {
      await expectInvalid(await intake.post(validLead({ phone: '07911 123456', geo: 'US' })), ['phone']);
    });

    test('invalid UTF-8 in a JSON body is a 400 naming the body', async () => {
      const lead = JSON.stringify(validLead()).slice(0, -1);
      const body = Buffer.concat([Buffer.from(`${lead},"note":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
      await expectInvalid(await intake.post(body), ['body']);
    });

    test('invalid UTF-8 in a form body is a 400 naming the body', async () => {
      const form = new URLSearchParams(validLead() as Record<string, string>).toString();
      const body = Buffer.concat([Buffer.from(`${form}&note=`), Buffer.from([0xc3, 0x28])]);
      await expectInvalid(await intake.post(body, FORM), ['body']);
    });
  });

  describe('media types', () => {
    test('a gzip Content-Encoding is a 415 unsupported_media_type', async () => {
      const body = gzipSync(Buffer.from(JSON.stringify(validLead())));
      const res = await rawPost(
        intake.url,
        { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length },
        body,
      );
      await expectRejected(res, 415, 'unsupported_media_type');
    });

    test('Content-Type application/json; charset=iso-8859-1 is a 415 unsupported_media_type', async () => {
      const res = await intake.post(validLead(), { 'content-type': 'application/json; charset=iso-8859-1' });
      await expectRejected(res, 415, 'unsupported_media_type');
    });

    test('a form body in charset=iso-8859-1 is a 415 unsupported_media_type', async () => {
      const form = new URLSearchParams(validLead() as Record<string, string>).toString();
      const res = await intake.post(form, { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' });
      await expectRejected(res, 415, 'unsupported_media_type');
    });

    test('text/plain is a 415 unsupported_media_type', async () => {
      const res = await intake.post(JSON.stringify(validLead()), { 'content-type': 'text/plain' });
      await expectRejected(res, 415, 'unsupported_media_type');
    });
  });

  test('after all of it, nothing was stored or queued and the intake still accepts a valid lead', async () => {
    expect(before).toEqual({ stored: 0, queued: 0 });
    const res = await intake.post(validLead());
    expect(res.status).toBe(202);
    expect(await intake.storedLeadCount()).toBe(1);
    expect(await intake.queuedJobCount()).toBe(1);
  });
});

describe('intake and well-formed text written as escapes', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });
  afterAll(async () => {
    await intake.close();
  });

  test('a surrogate pair written as JSON escapes (an emoji) is text: 202, stored once', async () => {
    const res = await intake.post('{"name":"Jane \\ud83d\\ude80 Roe","phone":"(415) 555-2671","geo":"US","source":"Facebook"}');
    expect(res.status).toBe(202);
    expect(await intake.storedLeadCount()).toBe(1);
  });
});

describe('intake at the extra-field limit', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });
  afterAll(async () => {
    await intake.close();
  });

  test('exactly 50 extra fields is a 202, stored and queued once', async () => {
    expect(await intake.storedLeadCount()).toBe(0);
    const extras = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, i % 2 === 0 ? 'v'.repeat(1000) : i]));
    const res = await intake.post(validLead(extras));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', id: expect.stringMatching(/^[0-9A-Z]{26}$/) });
    expect(await intake.storedLeadCount()).toBe(1);
    expect(await intake.queuedJobCount()).toBe(1);
  });
});

describe('intake logs carry no lead PII', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });
  afterAll(async () => {
    await intake.close();
  });

  const valid = [
    { name: 'Bartholomew Quillfeather', phone: '(212) 639-4817', e164: '+12126394817', email: 'bart.quillfeather@pii-probe.example' },
    { name: 'Ophelia Zanzibar-Wren', phone: '646.273.9915', e164: '+16462739915', email: 'ophelia.zw@pii-probe.example' },
    { name: 'Thaddeus Marrowgate', phone: '+1 312 867 5309', e164: '+13128675309', email: 'thad.marrow@pii-probe.example' },
  ];
  const formLead = { name: 'Perpetua Ashgrove', phone: '(303) 492-7731', e164: '+13034927731', email: 'perpetua.ash@pii-probe.example' };
  const invalid = [
    // A bad email: rejected, but name and phone are real values that must not be logged either.
    { name: 'Cornelius Vantablack', phone: '(415) 782-3396', e164: '+14157823396', email: 'cornelius.vanta@@pii-probe' },
    // A GB number with geo US.
    { name: 'Winifred Oxenbridge', phone: '+44 7911 654321', e164: '+447911654321', email: 'winnie.ox@pii-probe.example' },
  ];

  test('none of the names, phones (as sent or E.164) or emails appear in the log', async () => {
    for (const p of valid) {
      const res = await intake.post({ name: p.name, phone: p.phone, email: p.email, geo: 'US', source: 'Facebook' });
      expect(res.status).toBe(202);
    }
    const form = new URLSearchParams({ name: formLead.name, phone: formLead.phone, email: formLead.email, geo: 'us', source: 'TikTok' });
    expect((await intake.post(form.toString(), FORM)).status).toBe(202);
    for (const p of invalid) {
      const res = await intake.post({ name: p.name, phone: p.phone, email: p.email, geo: 'US', source: 'Facebook' });
      expect(res.status).toBe(400);
    }
    // A duplicate (same phone within the window) is answered 409 without being stored again.
    const dup = await intake.post({ name: valid[0]!.name, phone: valid[0]!.phone, email: valid[0]!.email, geo: 'US', source: 'Facebook' });
    expect(dup.status).toBe(409);
    expect(await intake.storedLeadCount()).toBe(valid.length + 1);
    expect(await intake.queuedJobCount()).toBe(valid.length + 1);

    const log = intake.logs.text();
    expect(log).toContain('"status":202');
    expect(log).toContain('"status":400');
    expect(log).toContain('"status":409');
    expect(log).toContain('"path":"/v1/leads"');
    expect(log.match(/"status":202/g)).toHaveLength(valid.length + 1);

    const secrets: string[] = [ALPHA_KEY];
    for (const p of [...valid, formLead, ...invalid]) {
      const digits = p.e164.slice(1);
      secrets.push(p.name, p.phone, p.e164, digits, digits.slice(digits.length - 10), p.email);
      secrets.push(...p.name.split(' '), p.email.split('@')[0]!);
    }
    for (const secret of secrets) expect(log).not.toContain(secret);
    // The form-encoded spellings too.
    for (const value of form.values()) {
      if (value !== 'us' && value !== 'TikTok') expect(log).not.toContain(encodeURIComponent(value));
    }
  });
});
