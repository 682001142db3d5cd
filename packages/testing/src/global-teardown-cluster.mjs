import { rmSync } from 'node:fs';

export default async function globalTeardownCluster() {
  const owned = globalThis.__leadrouterCluster;
  if (owned) {
    await owned.cluster.stop();
    rmSync(owned.dir, { recursive: true, force: true });
  }
  // Started here when the integration project did not run (see global-setup-cluster.mjs).
  if (globalThis.__leadrouterClusterOwnsBase) {
    const { default: globalTeardown } = await import('./global-teardown.mjs');
    await globalTeardown();
  }
}
