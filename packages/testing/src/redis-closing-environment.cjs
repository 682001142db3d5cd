// Jest's node environment, plus one check when a test file ends: every ioredis connection it opened
// (recorded by redis-tracking-setup.cjs) must have been closed. A file that leaves one open fails,
// naming where it was opened.
const { TestEnvironment } = require('jest-environment-node');

const GRACE_MS = 3000;

class RedisClosingEnvironment extends TestEnvironment {
  async teardown() {
    const opened = this.global.__leadrouterRedisClients ?? [];
    const deadline = Date.now() + GRACE_MS;
    let open = opened.filter(({ client }) => client.status !== 'end');
    // disconnect() and quit() finish a moment later: give them that moment.
    while (open.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = open.filter(({ client }) => client.status !== 'end');
    }
    for (const { client } of open) client.disconnect();
    await super.teardown();
    if (open.length > 0) {
      const first = open[0];
      throw new Error(`${open.length} Redis connection(s) left open by this test file (status ${first.client.status}); the first was opened at:\n${first.where}`);
    }
  }
}

module.exports = RedisClosingEnvironment;
