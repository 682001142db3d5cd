import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { crossCheck } from './cross-check.js';
import { ConfigError, pointerToPath, type ConfigProblem } from './errors.js';
import { lineOfPath } from './locate.js';
import { pruneRejected } from './prune.js';
import { resolveConfig, type ResolvedConfig } from './resolve.js';
import { configSchema, type LeadRouterConfig } from './schema.js';
import { closestKey } from './suggest.js';
import { substituteEnv } from './substitute-env.js';

/** The config shipped with LeadRouter: a demo supplier and a local demo buyer, no internet needed. */
export const BUNDLED_CONFIG_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../config/leadrouter.default.yaml');

// `verbose` puts each error's schema object on it: an unknown key's siblings are the "did you mean" candidates.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
const validateSchema = ajv.compile(configSchema);

/** Contract §1: `LEADROUTER_CONFIG`, else `./leadrouter.yaml`, else the bundled config. */
export function configPathFromEnv(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  if (env.LEADROUTER_CONFIG) return resolve(cwd, env.LEADROUTER_CONFIG);
  const local = resolve(cwd, 'leadrouter.yaml');
  return existsSync(local) ? local : BUNDLED_CONFIG_PATH;
}

export interface LoadedConfig {
  file: string;
  config: ResolvedConfig;
}

/** Reads, substitutes `${ENV}`, validates and cross-checks a config file; throws ConfigError with every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read file: ${(err as Error).message}` }], file);
  }
  return { file, config: parseConfigText(text, env, file) };
}

/** Like validateConfig, for the text of a YAML or JSON file: each problem also gets its line. */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv, file?: string): ResolvedConfig {
  const lines = new LineCounter();
  const doc = parseYamlDocument(text, lines, file);
  const checked = checkConfig(documentValue(doc, file), env);
  if ('problems' in checked) {
    throw new ConfigError(
      checked.problems.map((p) => withLine(p, lineOfPath(doc, lines, p.path))),
      file,
    );
  }
  return checked.config;
}

/** Substitutes `${ENV}`, validates and cross-checks an already parsed config; throws ConfigError with every problem. */
export function validateConfig(parsed: unknown, env: NodeJS.ProcessEnv, file?: string): ResolvedConfig {
  const checked = checkConfig(parsed, env);
  if ('problems' in checked) throw new ConfigError(checked.problems, file);
  return checked.config;
}

/**
 * Every problem at once: unset env vars, then schema errors, then the cross-checks. The
 * cross-checks run on what the schema accepted (see pruneRejected), so a typo in one place does
 * not hide an unknown destination in another.
 */
function checkConfig(parsed: unknown, env: NodeJS.ProcessEnv): { config: ResolvedConfig } | { problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const substituted = substituteEnv(parsed, env, problems);
  const valid = validateSchema(substituted);
  const errors = valid ? [] : (validateSchema.errors ?? []);
  problems.push(...schemaProblems(errors));
  // With no schema error nothing is taken out: the cross-checks see the whole config.
  crossCheck(pruneRejected<LeadRouterConfig>(substituted, errors), problems);
  if (!valid || problems.length > 0) return { problems };
  // The schema accepted it, and LeadRouterConfig is derived from that schema.
  return { config: resolveConfig(substituted as LeadRouterConfig) };
}

/** YAML 1.2 is a superset of JSON, so one parser reads both formats. A syntax error ends the check: nothing after it can be trusted. */
function parseYamlDocument(text: string, lines: LineCounter, file: string | undefined): Document {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((err) => syntaxProblem(err.message, err.linePos?.[0].line)),
      file,
    );
  }
  return doc;
}

function documentValue(doc: Document, file: string | undefined): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    // toJS refuses, e.g., an alias expanded too many times (a "billion laughs" file).
    throw new ConfigError([syntaxProblem((err as Error).message, undefined)], file);
  }
}

function syntaxProblem(message: string, line: number | undefined): ConfigProblem {
  return { path: line === undefined ? '' : `line ${line}`, message: `not valid YAML or JSON: ${message.split('\n')[0]}` };
}

function withLine(problem: ConfigProblem, line: number | undefined): ConfigProblem {
  return line === undefined ? problem : { ...problem, line };
}

function schemaProblems(errors: ErrorObject[]): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const error of errors) {
    // anyOf reports each branch's failure too; its own summary line is enough for a human.
    if (error.schemaPath.includes('/anyOf/')) continue;
    const problem = schemaProblem(error);
    const line = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(problem);
    }
  }
  return out;
}

function schemaProblem(error: ErrorObject): ConfigProblem {
  const path = pointerToPath(error.instancePath);
  const within = (key: string): string => (path ? `${path}.${key}` : key);
  switch (error.keyword) {
    case 'anyOf':
      return {
        path,
        message: /(^|\.)window$/.test(path) ? 'must be a duration such as 30d, 12h, 15m or 0' : 'has a value of the wrong type',
      };
    case 'additionalProperties': {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      return { path: within(key), message: unknownKeyMessage(key, error.parentSchema) };
    }
    case 'required':
      return { path: within((error.params as { missingProperty: string }).missingProperty), message: 'is required' };
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      return { path, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` };
    }
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

/** `unknown key`, with the known key it is probably a typo of: `unknown key, did you mean "timeoutMs"?`. */
function unknownKeyMessage(key: string, objectSchema: unknown): string {
  const suggestion = closestKey(key, knownKeys(objectSchema));
  return suggestion === undefined ? 'unknown key' : `unknown key, did you mean "${suggestion}"?`;
}

/** The keys an object schema declares, less the deprecated ones: no one should be steered to those. */
function knownKeys(objectSchema: unknown): string[] {
  if (objectSchema === null || typeof objectSchema !== 'object' || !('properties' in objectSchema)) return [];
  const properties = (objectSchema as { properties: Record<string, { deprecated?: boolean }> }).properties;
  return Object.keys(properties).filter((key) => properties[key]?.deprecated !== true);
}
