import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CLUSTER_SCHEME } from './connection.js';
import { freePort, startRedisServer, type OwnedRedisServer } from './redis-server.js';

/**
 * A local Redis Cluster of `redis-server` masters that LeadRouter started itself, on free ports of
 * 127.0.0.1: what the test suite and `npm run bench -- --cluster` run the cluster mode on
 * (contract §12). No replicas: a failover here is a master killed and started again on its AOF.
 */
export interface OwnedRedisCluster {
  /** `redis-cluster://127.0.0.1:p1,...`: what REDIS_CLUSTER_NODES becomes inside LeadRouter. */
  url: string;
  /** REDIS_CLUSTER_NODES as a user writes it: `127.0.0.1:p1,127.0.0.1:p2,...`. */
  nodes: string;
  masters: OwnedRedisServer[];
  /** Kills a master with SIGKILL (no AOF flush beyond `appendfsync`) and starts it again on its port and data. */
  restartMaster(index: number, options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  dir: string;
  masters?: number;
  appendOnly: boolean;
  /** appendfsync: `always` for a failover test that must lose nothing it acknowledged. */
  appendFsync?: 'always' | 'everysec';
}

export async function startRedisCluster(options: StartRedisClusterOptions): Promise<OwnedRedisCluster> {
  const count = options.masters ?? 3;
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const serverArgs = (port: number): string[] => [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', `nodes-${port}.conf`,
    '--cluster-node-timeout', '2000',
    // Keys of slots whose master is down answer CLUSTERDOWN only for those slots: the rest go on.
    '--cluster-require-full-coverage', 'no',
    '--appendfsync', options.appendFsync ?? 'everysec',
  ];
  const start = (port: number): Promise<OwnedRedisServer> => startRedisServer({ port, dir: join(options.dir, String(port)), appendOnly: options.appendOnly, extraArgs: serverArgs(port) });
  const masters = await Promise.all(ports.map(start));
  const nodes = ports.map((p) => `127.0.0.1:${p}`).join(',');
  try {
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
    await waitForClusterOk(ports);
  } catch (err) {
    await Promise.all(masters.map((m) => m.stop()));
    throw err;
  }
  return {
    url: `${CLUSTER_SCHEME}${nodes}`,
    nodes,
    masters,
    async restartMaster(index, restart = {}) {
      const old = masters[index];
      if (!old) throw new Error(`no master ${index}`);
      process.kill(old.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, restart.downMs ?? 200));
      masters[index] = await start(old.port);
      await waitForClusterOk(ports);
    },
    async stop() {
      await Promise.all(masters.map((m) => m.stop()));
    },
  };
}

/** Resolves once every node says `cluster_state:ok` (slots assigned and every master seen). */
async function waitForClusterOk(ports: readonly number[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      ports.map(async (port) => {
        const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
        client.on('error', () => undefined);
        try {
          return /cluster_state:ok/.test(await client.cluster('INFO'));
        } catch {
          return false;
        } finally {
          client.disconnect();
        }
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 100));
  }
}
