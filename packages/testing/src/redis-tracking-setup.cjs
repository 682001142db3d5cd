// Jest setup file (setupFilesAfterEach), run in each test file's own module registry: records every
// ioredis connection the file opens (its own, and those BullMQ opens for it), with where it was
// opened, so that the test environment can fail the file if one is still open at its end
// (redis-closing-environment.cjs). A connection left open keeps jest's worker alive and hides a leak
// the product could have too.
const { Redis } = require('ioredis');

const opened = [];
globalThis.__leadrouterRedisClients = opened;
const connect = Redis.prototype.connect;
Redis.prototype.connect = function trackedConnect(...args) {
  if (!opened.some((entry) => entry.client === this)) {
    const where = (new Error().stack ?? '').split('\n').slice(2, 9).join('\n');
    opened.push({ client: this, where });
  }
  return connect.apply(this, args);
};
