// Jest setup file of the `cluster` project: this test file runs on the suite's Redis Cluster
// (redis.ts reads the mark), not on its single Redis. A global of the file's own sandbox, not
// process.env, which files after it in the same jest worker would inherit.
globalThis.__leadrouterRedisMode = 'cluster';
