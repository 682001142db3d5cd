/**
 * The JSON Schema of LeadRouter's config file: the one source of truth. The TypeScript type
 * `LeadRouterConfig` is derived from it (json-schema-to-ts), so the two cannot drift apart.
 * Contract §2; every key of `leadrouter.example.yaml` is described here, and the example shows
 * every key described here but the `deprecated` ones (test/config.example-coverage.test.ts).
 */
import type { FromSchema } from 'json-schema-to-ts';
import { LEAD_STATUSES, POSTBACK_STATUSES } from '@leadrouter/lead';

const ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' } as const;
const DURATION = {
  anyOf: [
    { type: 'string', pattern: '^(0|[0-9]+(ms|s|m|h|d))$' },
    { type: 'integer', const: 0 },
  ],
} as const;
const HH_MM = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$' } as const;
const LEAD_STATUS = { type: 'string', enum: LEAD_STATUSES } as const;
const POSTBACK_STATUS = { type: 'string', enum: POSTBACK_STATUSES } as const;
const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } } as const;

const RESPONSE_RULE = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'array', items: { type: 'integer', minimum: 100, maximum: 599 }, minItems: 1 },
    path: { type: 'string', minLength: 1 },
    equals: { type: ['string', 'number', 'boolean', 'null'] },
    in: { type: 'array', items: { type: ['string', 'number', 'boolean', 'null'] }, minItems: 1 },
    matches: { type: 'string', minLength: 1 },
  },
} as const;

/** A bidder's ping (contract §9): a request of its own before the post, answered with a bid. */
const PING = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'response'],
  properties: {
    url: { type: 'string', pattern: '^https?://' },
    method: { type: 'string', enum: ['POST', 'PUT', 'GET'] },
    format: { type: 'string', enum: ['json', 'form'] },
    headers: STRING_MAP,
    body: STRING_MAP,
    timeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
    // Fields of the lead never sent in a ping, besides the contact fields (which never are).
    omit: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
    response: {
      type: 'object',
      additionalProperties: false,
      required: ['bid'],
      properties: {
        bid: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string', minLength: 1 } } },
        accept: RESPONSE_RULE,
        reference: { type: 'object', additionalProperties: false, required: ['path'], properties: { path: { type: 'string', minLength: 1 } } },
      },
    },
  },
} as const;

export const configSchema = {
  $id: 'https://leadrouter.dev/schema/config.json',
  type: 'object',
  additionalProperties: false,
  required: ['suppliers', 'destinations', 'routes'],
  properties: {
    dedupe: {
      type: 'object',
      additionalProperties: false,
      properties: {
        window: DURATION,
        scope: { type: 'string', enum: ['supplier', 'global'] },
        by: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, minItems: 1 },
      },
    },
    leads: {
      type: 'object',
      additionalProperties: false,
      // Fractions of a day are allowed (0.001 is 86.4 s) so that tests and soaks can watch records expire.
      properties: { retentionDays: { type: 'number', minimum: 0.0001, maximum: 3650 } },
    },
    // Contract §10: how long the PostgreSQL ledger keeps a lead, and its contact data.
    ledger: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retentionDays: { type: 'number', minimum: 1, maximum: 36500 },
        piiDays: { type: 'number', minimum: 1, maximum: 36500 },
      },
    },
    // Contract §10: what "day" and "hour" mean in reports.
    reports: {
      type: 'object',
      additionalProperties: false,
      properties: { timezone: { type: 'string', minLength: 1 } },
    },
    // Not in the contract's example: best_revenue's estimator. `memory`: how many recent outcomes
    // per destination weigh (older ones fade); `geoPrior`: how many observations the destination's
    // overall acceptance counts for in a geo's estimate (a thin geo leans on it); `priceMemory`: how
    // many recent sales the learnt price follows.
    learning: {
      type: 'object',
      additionalProperties: false,
      properties: {
        memory: { type: 'integer', minimum: 10, maximum: 1000000 },
        geoPrior: { type: 'number', minimum: 0, maximum: 100000 },
        priceMemory: { type: 'integer', minimum: 1, maximum: 100000 },
        // Replaced by geoPrior (a hard switch became a blend); still accepted so that older
        // configs load, and ignored. `deprecated` keeps it out of the example config and of
        // "did you mean" suggestions.
        geoMinObservations: { type: 'integer', minimum: 0, maximum: 100000, deprecated: true },
      },
    },
    suppliers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'apiKeys'],
        properties: {
          id: ID,
          apiKeys: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          rateLimit: {
            type: 'object',
            additionalProperties: false,
            required: ['perSecond'],
            properties: {
              perSecond: { type: 'integer', minimum: 1 },
              burst: { type: 'integer', minimum: 1 },
              // Supplier pings (POST /v1/pings, contract §9) have a limit of their own.
              pingsPerSecond: { type: 'integer', minimum: 1 },
            },
          },
          postbackUrl: { type: 'string', pattern: '^https?://' },
          postbackOn: { type: 'array', items: LEAD_STATUS, uniqueItems: true },
          postbackStatusMap: { type: 'object', propertyNames: LEAD_STATUS, additionalProperties: { type: 'string' } },
          // A fixed amount per sold lead, or a share of each sale's revenue (contract §9).
          supplierPayout: {
            anyOf: [
              { type: 'number', minimum: 0 },
              { type: 'object', additionalProperties: false, required: ['share'], properties: { share: { type: 'number', minimum: 0, maximum: 1 } } },
            ],
          },
        },
      },
    },
    destinations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'url'],
        properties: {
          id: ID,
          url: { type: 'string', pattern: '^https?://' },
          method: { type: 'string', enum: ['POST', 'PUT', 'GET'] },
          format: { type: 'string', enum: ['json', 'form'] },
          headers: STRING_MAP,
          body: STRING_MAP,
          timeoutMs: { type: 'integer', minimum: 1, maximum: 300000 },
          response: {
            type: 'object',
            additionalProperties: false,
            properties: { accept: RESPONSE_RULE, reject: RESPONSE_RULE },
          },
          retry: {
            type: 'object',
            additionalProperties: false,
            properties: {
              attempts: { type: 'integer', minimum: 0, maximum: 20 },
              backoffMs: { type: 'integer', minimum: 0, maximum: 3600000 },
            },
          },
          concurrency: { type: 'integer', minimum: 1, maximum: 1000 },
          caps: {
            type: 'object',
            additionalProperties: false,
            properties: {
              hourly: { type: 'integer', minimum: 0 },
              daily: { type: 'integer', minimum: 0 },
              total: { type: 'integer', minimum: 0 },
            },
          },
          schedule: {
            type: 'object',
            additionalProperties: false,
            properties: {
              // Optional: UTC without one.
              timezone: { type: 'string', minLength: 1 },
              days: {
                type: 'array',
                uniqueItems: true,
                items: { type: 'string', enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] },
              },
              from: HH_MM,
              to: HH_MM,
            },
          },
          accepts: {
            type: 'object',
            additionalProperties: false,
            properties: { geo: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z]{2}$' } } },
          },
          payout: { type: 'number', minimum: 0 },
          postback: {
            type: 'object',
            additionalProperties: false,
            properties: {
              token: { type: 'string', minLength: 1 },
              secret: { type: 'string', pattern: '^whsec_' },
              statusMap: { type: 'object', additionalProperties: POSTBACK_STATUS },
            },
          },
          enabled: { type: 'boolean' },
          ping: PING,
          // Not in the contract's example: how many errors in a row open the circuit, and how long
          // it stays open before one probe is let through (defaults 5 and 30000).
          circuit: {
            type: 'object',
            additionalProperties: false,
            properties: {
              failures: { type: 'integer', minimum: 1, maximum: 1000 },
              cooldownMs: { type: 'integer', minimum: 100, maximum: 3600000 },
            },
          },
        },
      },
    },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'destinations'],
        properties: {
          id: ID,
          match: {
            type: 'object',
            additionalProperties: false,
            properties: {
              geo: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z]{2}$' } },
              source: { type: 'array', items: { type: 'string', minLength: 1 } },
              supplier: { type: 'array', items: ID },
              minQuality: { type: 'number', minimum: 0, maximum: 1 },
              fields: {
                type: 'object',
                additionalProperties: {
                  anyOf: [
                    { type: ['string', 'number', 'boolean'] },
                    { type: 'array', items: { type: ['string', 'number', 'boolean'] } },
                  ],
                },
              },
            },
          },
          strategy: { type: 'string', enum: ['priority', 'weighted', 'round_robin', 'best_revenue', 'auction'] },
          // Contract §9. `maxSales` belongs to `mode: shared` (cross-check.ts says so with the path).
          auction: {
            type: 'object',
            additionalProperties: false,
            properties: {
              floor: { type: 'number', minimum: 0 },
              deadlineMs: { type: 'integer', minimum: 1, maximum: 60000 },
              rank: { type: 'string', enum: ['bid', 'expected'] },
              mode: { type: 'string', enum: ['exclusive', 'shared'] },
              maxSales: { type: 'integer', minimum: 2, maximum: 20 },
              bidTtlMs: { type: 'integer', minimum: 1000, maximum: 86400000 },
            },
          },
          destinations: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id'],
              properties: { id: ID, weight: { type: 'number', exclusiveMinimum: 0 } },
            },
          },
          fallback: { type: 'array', items: ID },
        },
      },
    },
  },
} as const;

export type LeadRouterConfig = FromSchema<typeof configSchema>;
export type SupplierConfig = LeadRouterConfig['suppliers'][number];
export type DestinationConfig = LeadRouterConfig['destinations'][number];
export type RouteConfig = LeadRouterConfig['routes'][number];
