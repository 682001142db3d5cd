export { redisKeys, type RedisKeys, type RedisKeysOptions } from './keys.js';
export { QUEUES, ROUTE_JOB_OPTIONS, DELIVER_JOB_OPTIONS, QUEUE_OPTIONS, deliverQueueName, notifyQueueName, routeJobId, routeJobRound, deliverJobId, deliverJobRound, notificationKey, type NotifyJobData, type QueueName, type RouteJobData, type PingedAuction, type DeliverJobData } from './queues.js';
export { createRedis, waitForRedis, ping, watchReachability, type ConnectionRole } from './connection.js';
export { reportRedisConnectionErrors, isConnectionError, type ConnectionErrorLogger } from './connection-errors.js';
export { maskRedisUrl } from './url.js';
export { startRedisServer, redisServerAvailable, freePort, type OwnedRedisServer, type StartRedisOptions } from './redis-server.js';
export { LEAD_HASH, START_STEP, STEP_FIELD_PREFIX, SALE_FIELD_PREFIX, laneStartStep, parseDecision, readSales, saleField, stepField, stepOfField, tryStep, type StepDecision } from './lead-hash.js';
export { LEDGER_BUCKETS, LEDGER_GROUP, REJECTIONS_MAX_BACKLOG, entryTimeMs, ledgerBucket, parseLedgerEntry, parseRejectionEntry, parseAuditEntry, type LedgerAudit, type LedgerRejection, type LedgerChange, type LedgerLeadRecord, type LedgerLeadState } from './ledger-stream.js';
