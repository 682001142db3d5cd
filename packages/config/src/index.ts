export { configSchema, type LeadRouterConfig, type SupplierConfig, type DestinationConfig, type RouteConfig } from './schema.js';
export { ConfigError, formatProblem, type ConfigProblem } from './errors.js';
export { parseDurationMs } from './duration.js';
export { BUNDLED_CONFIG_PATH, configPathFromEnv, loadConfigFile, parseConfigText, validateConfig, type LoadedConfig } from './load.js';
export {
  resolveConfig,
  resolveDestination,
  resolveRoute,
  sha256Hex,
  keyDigest,
  DESTINATION_DEFAULTS,
  type ResolvedConfig,
  type ResolvedDestination,
  type ResolvedRoute,
  type ResolvedPing,
  type ResolvedAuction,
  type ResolvedSupplier,
} from './resolve.js';
export { isTimeZone } from './cross-check.js';
export { readEnv, type ServiceEnv } from './env.js';
export { defaultMaxConnections, HTTP_TIMEOUTS, type HttpLimits } from './http-limits.js';
export { applyOverrides, CAP_PERIODS, configHash, type CapPeriod, type DestinationOverride } from './overrides.js';
export { supplierOwed, supplierPayoutsOf, supplierPayoutTerms, type SupplierPayoutTerms } from './supplier-payout.js';
