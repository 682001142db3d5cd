import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  // Stops the private PostgreSQL and removes its directory (idempotent; global setup's exit hook is then a no-op).
  await globalThis.__leadrouterPostgres?.stop();
  globalThis.__leadrouterPostgres = undefined;
  const server = globalThis.__leadrouterRedis;
  if (!server) return;
  // Once: the cluster project's teardown may call it too (see global-setup-cluster.mjs).
  globalThis.__leadrouterRedis = undefined;
  await server.stop();
  rmSync(server.dir, { recursive: true, force: true });
}
