import type { Config } from 'jest';

// ESM mode: got (used by the workers) is ESM-only, so the whole suite runs as ES modules
// (`node --experimental-vm-modules`, set by `npm test`). Workspace packages export their
// TypeScript sources directly, so no build step is needed before testing.
//
// Two projects: `unit` (pure code: config, routing, the Lua loader; no Redis, seconds) and
// `integration` (a real Redis that jest's global setup starts privately, real HTTP servers, real
// processes). `npm test` runs both; `npm run test:unit` the first alone.
// `npm run test:prometheus` (LR_TESTS=prometheus) runs only the tests that need Debian's
// `prometheus`; `npm test` runs everything else. CI runs both.
const prometheusOnly = process.env.LR_TESTS === 'prometheus';

const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Its ESM build imports JSON without an import attribute, which jest warns about on every
    // file; the CommonJS build is the same code.
    '^libphonenumber-js/max$': '<rootDir>/node_modules/libphonenumber-js/max/index.cjs',
  },
} satisfies Config;

/** Tests of pure code: none of them may reach Redis (LR_TEST_REDIS_URL is not even set for them). */
const UNIT_TESTS = ['<rootDir>/packages/config/test/**/*.test.ts', '<rootDir>/packages/routing/test/**/*.test.ts', '<rootDir>/packages/store/test/lua/loader.test.ts'];

const integration = {
  ...shared,
  displayName: 'integration',
  roots: ['<rootDir>/apps', '<rootDir>/packages'],
  testMatch: [prometheusOnly ? '**/test/**/*.prom.test.ts' : '**/test/**/*.test.ts'],
  testPathIgnorePatterns: prometheusOnly
    ? ['/node_modules/']
    : ['/node_modules/', '\\.prom\\.test\\.ts$', '\\.cluster\\.test\\.ts$', '/packages/config/test/', '/packages/routing/test/', '/packages/store/test/lua/loader\\.test\\.ts$'],
  // One private redis-server for the whole run; each test file works under its own key prefix.
  globalSetup: '<rootDir>/packages/testing/src/global-setup.mjs',
  globalTeardown: '<rootDir>/packages/testing/src/global-teardown.mjs',
  // Every Redis connection a test file opens must be closed by its end.
  testEnvironment: '<rootDir>/packages/testing/src/redis-closing-environment.cjs',
  setupFilesAfterEnv: ['<rootDir>/packages/testing/src/redis-tracking-setup.cjs'],
} satisfies Config;

const unit = { ...shared, displayName: 'unit', testMatch: UNIT_TESTS } satisfies Config;

/**
 * The suites that prove the contract's guarantees (caps, kill -9, rolling restarts, idempotency and
 * dedupe, postbacks, the ledger's reconciliation, each Lua step), run a second time on a Redis
 * Cluster of three masters that this project's global setup starts (contract §12), plus the tests
 * only a cluster can run (`*.cluster.test.ts`: crashes between a split step's halves, a failover).
 */
const CLUSTER_SUITES = [
  'packages/store/test/caps.property.test.ts',
  'packages/store/test/learning.test.ts',
  'packages/store/test/lua/lead-steps.test.ts',
  'packages/store/test/lua/postback-steps.test.ts',
  'apps/worker/test/worker.concurrency.test.ts',
  'apps/worker/test/worker.crash.test.ts',
  'apps/worker/test/rolling-deploy.test.ts',
  'apps/intake-api/test/intake.api.test.ts',
  'apps/postback/test/postback.test.ts',
  'apps/ledger/test/ledger.e2e.test.ts',
  'apps/intake-api/test/live-ops.test.ts',
  'apps/worker/test/auction.test.ts',
  '**/test/**/*.cluster.test.ts',
];

const cluster = {
  ...integration,
  displayName: 'cluster',
  testMatch: CLUSTER_SUITES.map((path) => (path.startsWith('**') ? path : `<rootDir>/${path}`)),
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/packages/testing/src/global-setup-cluster.mjs',
  globalTeardown: '<rootDir>/packages/testing/src/global-teardown-cluster.mjs',
  setupFiles: ['<rootDir>/packages/testing/src/cluster-mode.cjs'],
} satisfies Config;

const config: Config = {
  projects: prometheusOnly ? [integration] : [unit, integration, cluster],
  reporters: ['default', '<rootDir>/packages/testing/src/summary-reporter.mjs'],
  // Two cores: integration tests share them with redis-server and the processes under test.
  maxWorkers: 2,
  testTimeout: prometheusOnly ? 120_000 : 30_000,
};

export default config;
