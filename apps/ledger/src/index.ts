export { startLedger, type LedgerHandle, type StartLedgerOptions } from './start.js';
