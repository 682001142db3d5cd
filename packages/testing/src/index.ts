export { clusterMode, testRedisUrl, uniquePrefix, testRedisClient, keysWithPrefix } from './redis.js';
export { startTestServer, type TestServer, type RecordedRequest } from './http-server.js';
export { captureLogger } from './log-capture.js';
export { waitFor } from './wait-for.js';
export { testEnv } from './env.js';
export { spawnRole, spawnAllInOne, REPO_ROOT, type RoleProcess, type AllInOneProcess } from './spawn-role.js';
// The whole system in one process (startSystem, closedAfterEach): `@leadrouter/testing/system`, apart
// because it needs jest's globals, which the scripts that share these helpers cannot load.
export { startPostgres, postgresAvailable, postgresBinDir, testDatabaseUrl, freshDatabase, type OwnedPostgres, type StartPostgresOptions, type FreshDatabase } from './postgres.js';
export { launchChromium, CHROMIUM_PATH } from './browser.js';
