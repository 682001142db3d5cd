export { startWorker, type WorkerHandle, type StartWorkerOptions } from './start.js';
export { runAuction, type AuctionDeps, type AuctionResult } from './auction.js';
