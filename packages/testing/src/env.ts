import { readEnv, type ServiceEnv } from '@leadrouter/config';
import { testRedisUrl, uniquePrefix } from './redis.js';

/** A ServiceEnv on the private test Redis with a fresh prefix, loopback host and free ports. */
export function testEnv(overrides: Partial<ServiceEnv> = {}): ServiceEnv {
  return {
    ...readEnv({ REDIS_URL: testRedisUrl(), LEADROUTER_PREFIX: uniquePrefix(), HOST: '127.0.0.1', LOG_LEVEL: 'silent' }),
    intakePort: 0,
    postbackPort: 0,
    workerPort: 0,
    ledgerPort: 0,
    ...overrides,
  };
}
