import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { crossCheck } from './cross-check.js';
import { ConfigError, pointerToPath, type ConfigProblem } from './errors.js';
import { resolveConfig, type ResolvedConfig } from './resolve.js';
import { configSchema, type LeadRouterConfig } from './schema.js';
import { substituteEnv } from './substitute-env.js';

/** The config shipped with LeadRouter: a demo supplier and a local demo buyer, no internet needed. */
export const BUNDLED_CONFIG_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../../config/leadrouter.default.yaml');

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
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

export function parseConfigText(text: string, env: NodeJS.ProcessEnv, file?: string): ResolvedConfig {
  let parsed: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both formats.
    parsed = parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}` : '';
    throw new ConfigError([{ path: where, message: `not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` }], file);
  }
  return validateConfig(parsed, env, file);
}

export function validateConfig(parsed: unknown, env: NodeJS.ProcessEnv, file?: string): ResolvedConfig {
  const problems: ConfigProblem[] = [];
  const substituted = substituteEnv(parsed, env, problems);
  if (!validateSchema(substituted)) {
    problems.push(...schemaProblems(validateSchema.errors ?? []));
    throw new ConfigError(problems, file);
  }
  const config = substituted as LeadRouterConfig;
  crossCheck(config, problems);
  if (problems.length > 0) throw new ConfigError(problems, file);
  return resolveConfig(config);
}

function schemaProblems(errors: ErrorObject[]): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const error of errors) {
    // anyOf reports each branch's failure too; its own summary line is enough for a human.
    if (error.schemaPath.includes('/anyOf/')) continue;
    let path = pointerToPath(error.instancePath);
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'anyOf') {
      message = /(^|\.)window$/.test(path) ? 'must be a duration such as 30d, 12h, 15m or 0' : 'has a value of the wrong type';
    }
    if (error.keyword === 'additionalProperties') {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      path = path ? `${path}.${key}` : key;
      message = 'unknown key';
    } else if (error.keyword === 'required') {
      const key = (error.params as { missingProperty: string }).missingProperty;
      path = path ? `${path}.${key}` : key;
      message = 'is required';
    } else if (error.keyword === 'enum') {
      message = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const line = `${path}\u0000${message}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push({ path, message });
    }
  }
  return out;
}
