export { startWorker, type WorkerHandle, type StartWorkerOptions } from './start.js';
export { DELIVERY_DEFAULTS } from './deps.js';
