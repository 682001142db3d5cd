export { httpMetrics } from './http-metrics.js';
export { healthRoutes, type ReadinessCheck } from './health.js';
export { listen, closeServer, onShutdownSignal } from './lifecycle.js';
export { runRole, type RoleContext } from './role.js';
