import { ConfigError, type LeadRouterConfig } from '../src/index.js';

/** Runs `fn`, which must throw a ConfigError, and returns its problems as `${path}: ${message}` lines. */
export function problemLines(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

/** A small valid config; tests copy it and break one thing at a time. */
export function minimalConfig(): LeadRouterConfig {
  return {
    suppliers: [{ id: 'acme', apiKeys: ['acme-key'] }],
    destinations: [
      { id: 'buyer-a', url: 'https://buyer-a.example/leads' },
      { id: 'buyer-b', url: 'https://buyer-b.example/leads' },
    ],
    routes: [{ id: 'main', destinations: [{ id: 'buyer-a' }] }],
  };
}

/** The env vars that config/leadrouter.example.yaml refers to. */
export const EXAMPLE_ENV = {
  ACME_API_KEY: 'acme-secret-key',
  BUYER_A_TOKEN: 'tok-a-123',
  BUYER_A_POSTBACK_TOKEN: 'pb-a-456',
  BUYER_B_KEY: 'bkey-789',
  BUYER_B_POSTBACK_TOKEN: 'pb-b-012',
  BUYER_C_WEBHOOK_SECRET: 'whsec_c2VjcmV0LWM=',
} as const;

export const ID_PATTERN_MESSAGE = 'must match pattern "^[a-z0-9][a-z0-9_-]{0,63}$"';
