import { describe, expect, test } from '@jest/globals';
import { supplierOwed } from '@leadrouter/config';
import { notificationUrl } from '../src/url.js';

const lead = { id: '01JD3W6Z8Q4X5Y6Z7A8B9C0D1E', click_id: 'c 1', source: 'Face book', geo: 'US', payout: 12.5 };
const supplier = (supplierPayout?: number | { share: number }) => ({ id: 'acme', apiKeys: ['k'], postbackUrl: 'https://t.example/pb?c={click_id}&s={status}&p={payout}', ...(supplierPayout === undefined ? {} : { supplierPayout }) });

describe('the supplier notification URL: {payout}', () => {
  test('a fixed supplierPayout while the lead counts as sold, 0 once it does not, empty without one', () => {
    expect(notificationUrl(supplier(8), lead, 'delivered')).toBe('https://t.example/pb?c=c%201&s=delivered&p=8');
    expect(notificationUrl(supplier(8), lead, 'returned')).toBe('https://t.example/pb?c=c%201&s=returned&p=0');
    expect(notificationUrl(supplier(), lead, 'delivered')).toBe('https://t.example/pb?c=c%201&s=delivered&p=');
  });

  test('a share: of what the sale booked (an auction’s winning bid, a corrected payout), to the cent', () => {
    expect(notificationUrl(supplier({ share: 0.8 }), lead, 'delivered')).toBe('https://t.example/pb?c=c%201&s=delivered&p=10');
    expect(notificationUrl(supplier({ share: 0.333 }), lead, 'converted')).toBe('https://t.example/pb?c=c%201&s=converted&p=4.16');
    expect(notificationUrl(supplier({ share: 0.8 }), lead, 'unsold')).toBe('https://t.example/pb?c=c%201&s=unsold&p=0');
    expect(supplierOwed({ share: 0.5 }, 0.01)).toBe(0.01);
    expect(supplierOwed({ fixed: 3 }, 100)).toBe(3);
  });
});
