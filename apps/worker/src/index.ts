export { startWorker, type WorkerHandle, type StartWorkerOptions } from './start.js';
