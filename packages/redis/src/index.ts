export { redisKeys, type RedisKeys } from './keys.js';
export { QUEUES, ROUTE_JOB_OPTIONS, DELIVER_JOB_OPTIONS, QUEUE_OPTIONS, deliverQueueName, notifyQueueName, routeJobId, routeJobRound, deliverJobId, deliverJobRound, notificationKey, type NotifyJobData, type QueueName, type RouteJobData, type DeliverJobData } from './queues.js';
export { createRedis, waitForRedis, ping, type ConnectionRole } from './connection.js';
export { startRedisServer, redisServerAvailable, freePort, type OwnedRedisServer, type StartRedisOptions } from './redis-server.js';
export { LEAD_HASH, START_STEP, STEP_FIELD_PREFIX, parseDecision, stepField, stepOfField, tryStep, type StepDecision } from './lead-hash.js';
