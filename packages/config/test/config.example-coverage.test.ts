/**
 * config/leadrouter.example.yaml is where a new user learns the keys, so it must show every key the
 * schema knows: a key added to the schema without an example fails here.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../src/index.js';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const EXAMPLE_PATH = join(REPO_ROOT, 'config/leadrouter.example.yaml');

/** The parts of a JSON Schema this walk follows; the config schema uses no others to nest keys. */
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  anyOf?: SchemaNode[];
  deprecated?: boolean;
}

/** Keys per schema object: compared by identity, so that a shared definition counts once. */
type KeysBySchema<Keys> = Map<SchemaNode, Keys>;

/** Where keys can nest below a schema node, and how the path reads there: list items, map values, anyOf branches. */
function nestedSchemas(node: SchemaNode, path: string): Array<[SchemaNode, string]> {
  const nested = (node.anyOf ?? []).map((branch): [SchemaNode, string] => [branch, path]);
  if (node.items) nested.push([node.items, `${path}[]`]);
  if (typeof node.additionalProperties === 'object') nested.push([node.additionalProperties, `${path}.*`]);
  return nested;
}

/**
 * Every key an object schema declares, as (schema object, key), with the first path it appears at
 * (`destinations[].circuit.cooldownMs`). A schema object used in several places (the accept and
 * reject rules share one) is listed once: showing its keys anywhere in the example is enough.
 * Deprecated keys are left out: the example must not teach them.
 */
function schemaKeys(node: SchemaNode, path: string, out: KeysBySchema<Map<string, string>> = new Map()): KeysBySchema<Map<string, string>> {
  if (out.has(node)) return out;
  const keys = new Map<string, string>();
  out.set(node, keys);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.deprecated) continue;
    const childPath = path ? `${path}.${key}` : key;
    keys.set(key, childPath);
    schemaKeys(child, childPath, out);
  }
  for (const [child, childPath] of nestedSchemas(node, path)) schemaKeys(child, childPath, out);
  return out;
}

/** The (schema object, key) pairs a config value uses, following the value down the schema. */
function usedKeys(value: unknown, node: SchemaNode, out: KeysBySchema<Set<string>> = new Map()): KeysBySchema<Set<string>> {
  for (const branch of node.anyOf ?? []) usedKeys(value, branch, out);
  if (Array.isArray(value)) {
    if (node.items) for (const item of value) usedKeys(item, node.items, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const declared = node.properties?.[key];
      if (declared) {
        out.set(node, (out.get(node) ?? new Set()).add(key));
        usedKeys(item, declared, out);
      } else if (typeof node.additionalProperties === 'object') {
        usedKeys(item, node.additionalProperties, out);
      }
    }
  }
  return out;
}

/** The paths of the schema's keys that `config` never uses. */
function keysMissingFrom(config: unknown): string[] {
  const schema = configSchema as unknown as SchemaNode;
  const used = usedKeys(config, schema);
  const missing: string[] = [];
  for (const [node, keys] of schemaKeys(schema, '')) {
    for (const [key, path] of keys) if (!used.get(node)?.has(key)) missing.push(path);
  }
  return missing;
}

const example = (): Record<string, unknown> => parseYaml(readFileSync(EXAMPLE_PATH, 'utf8')) as Record<string, unknown>;

describe('the example config shows every key of the schema', () => {
  test('no schema key is missing from config/leadrouter.example.yaml', () => {
    expect(keysMissingFrom(example())).toEqual([]);
  });

  test('the walk sees nested, shared and list keys (so the test above cannot pass by seeing nothing)', () => {
    const paths = [...schemaKeys(configSchema as unknown as SchemaNode, '').values()].flatMap((keys) => [...keys.values()]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'learning.priceMemory',
        'destinations[].circuit.cooldownMs',
        'destinations[].response.accept.matches',
        'routes[].destinations[].weight',
      ]),
    );
    // The deprecated key is the one key left out.
    expect(paths).not.toContain('learning.geoMinObservations');
    expect(paths.length).toBeGreaterThan(60);
  });

  test('a key taken out of the example is reported with its path', () => {
    const config = example();
    const destinations = config.destinations as Array<Record<string, unknown>>;
    for (const destination of destinations) delete destination.circuit;
    delete (config.learning as Record<string, unknown>).geoPrior;
    // The accept and reject rules share one schema: `matches` in either one counts, so take it out of both.
    for (const destination of destinations) {
      const response = destination.response as Partial<Record<'accept' | 'reject', { matches?: string }>> | undefined;
      delete response?.accept?.matches;
      delete response?.reject?.matches;
    }
    expect(keysMissingFrom(config).sort()).toEqual([
      'destinations[].circuit',
      'destinations[].circuit.cooldownMs',
      'destinations[].circuit.failures',
      'destinations[].response.accept.matches',
      'learning.geoPrior',
    ]);
  });
});
