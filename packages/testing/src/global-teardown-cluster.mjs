import { rmSync } from 'node:fs';

export default async function globalTeardownCluster() {
  const owned = globalThis.__leadrouterCluster;
  if (owned) {
    await owned.cluster.stop();
    rmSync(owned.dir, { recursive: true, force: true });
  }
  // The single Redis and PostgreSQL, whichever setup started them (stopped once: see global-teardown.mjs).
  const { default: globalTeardown } = await import('./global-teardown.mjs');
  await globalTeardown();
}
