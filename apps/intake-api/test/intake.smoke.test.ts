import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startTestIntake, validLead, type TestIntake } from './helpers.js';

describe('intake smoke', () => {
  let intake: TestIntake;
  beforeAll(async () => {
    intake = await startTestIntake();
  });
  afterAll(async () => {
    await intake.close();
  });

  test('a valid lead is accepted, stored and queued', async () => {
    const res = await intake.post(validLead());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', id: expect.stringMatching(/^[0-9A-Z]{26}$/) });
    expect(await intake.storedLeadCount()).toBe(1);
    expect(await intake.queuedJobCount()).toBe(1);
  });
});
