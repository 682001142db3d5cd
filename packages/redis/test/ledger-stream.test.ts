import { describe, expect, test } from '@jest/globals';
import { ledgerBucket, LEDGER_BUCKETS, parseLedgerEntry } from '../src/index.js';

/** The change stream's entries as the ledger writer parses them (contract §10). */
describe('parseLedgerEntry', () => {
  const fields = (extra: Record<string, string>, event: Record<string, unknown>, state: Record<string, string>): string[] =>
    Object.entries({ lead: '01JD3W6Z8Q4X5Y6Z7A8B9C1001', seq: '2', event: JSON.stringify(event), state: JSON.stringify(state), ...extra }).flat();

  test('a change carries the money it moved', () => {
    const change = parseLedgerEntry('1-0', fields({ booked: '2.5', takenBack: '0' }, { type: 'postback', at: 'x' }, { status: 'accepted', payout: '15' }));
    expect(change?.money).toEqual({ booked: 2.5, takenBack: 0 });
  });

  test("an older LeadRouter's sale and return, which carried none, book the payout and take it back; other older changes move nothing", () => {
    expect(parseLedgerEntry('1-0', fields({}, { type: 'delivered', at: 'x' }, { status: 'delivered', payout: '12.5' }))?.money).toEqual({ booked: 12.5, takenBack: 0 });
    expect(parseLedgerEntry('1-0', fields({}, { type: 'postback', at: 'x', status: 'returned', result: 'applied' }, { status: 'returned', payout: '12.5' }))?.money).toEqual({ booked: 0, takenBack: 12.5 });
    expect(parseLedgerEntry('1-0', fields({}, { type: 'postback', at: 'x', status: 'returned', result: 'duplicate' }, { status: 'returned', payout: '12.5' }))?.money).toBeUndefined();
    expect(parseLedgerEntry('1-0', fields({}, { type: 'routed', at: 'x' }, { status: 'queued' }))?.money).toBeUndefined();
  });

  test('an entry that is not a change, or whose money is not a number, is undefined', () => {
    expect(parseLedgerEntry('1-0', ['not', 'a change'])).toBeUndefined();
    expect(parseLedgerEntry('1-0', fields({ booked: 'lots' }, { type: 'delivered', at: 'x' }, { status: 'delivered' }))).toBeUndefined();
  });

  test('every lead id has a bucket in range', () => {
    for (const id of ['01JD3W6Z8Q4X5Y6Z7A8B9C1001', '01JD3W6Z8Q4X5Y6Z7A8B9C100Z', 'odd!']) expect(ledgerBucket(id)).toBeLessThan(LEDGER_BUCKETS);
  });
});
