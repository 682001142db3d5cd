import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  // Stops the private PostgreSQL and removes its directory (idempotent; global setup's exit hook is then a no-op).
  await globalThis.__leadrouterPostgres?.stop();
  const server = globalThis.__leadrouterRedis;
  if (!server) return;
  await server.stop();
  rmSync(server.dir, { recursive: true, force: true });
}
