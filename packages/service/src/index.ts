export { httpMetrics } from './http-metrics.js';
export { healthRoutes, METRICS_OPEN_WARNING, type Readiness } from './health.js';
export { redisReadiness } from './redis-readiness.js';
export { listen, closeServer, onShutdownSignal, boundPort } from './lifecycle.js';
export { runRole, type RoleContext } from './role.js';
export { readBodyLimited, BodyError } from './read-body.js';
export { requestLog } from './request-log.js';
export { clientError, type ClientError } from './client-errors.js';
export { secretsEqual } from './secrets.js';
