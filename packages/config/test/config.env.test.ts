import { describe, expect, test } from '@jest/globals';
import { readEnv } from '../src/index.js';

describe('REDIS_CLUSTER_NODES (contract §1, §12)', () => {
  test('host:port pairs make every connection a cluster client, over REDIS_URL', () => {
    const env = readEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002', REDIS_URL: 'redis://ignored:6379' });
    expect(env).toMatchObject({ redisUrl: 'redis-cluster://10.0.0.1:7000,redis-b.internal:7001,[::1]:7002', redisUrlGiven: true, redisCluster: true });
    expect(readEnv({})).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', redisUrlGiven: false, redisCluster: false });
  });

  test('every node that is not a host:port is named', () => {
    expect(() => readEnv({ REDIS_CLUSTER_NODES: '10.0.0.1,b:99999,c:7000' })).toThrow(/"10\.0\.0\.1" is not a host:port[\s\S]*"b:99999" is not a host:port/);
  });
});
