import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Lua scripts live one per file under `lua/`, the BullMQ way: `<name>-<numberOfKeys>.lua` for a
 * script with a fixed number of keys, `<name>.lua` for one that takes a variable number. Each file
 * starts with a header naming every KEYS and ARGV entry and what it returns. Shared pieces are Lua
 * functions in `lua/includes/`, pulled in by a line `--- @include "includes/<name>"`. Files are read
 * from source at start (no build step), each include inlined once, and an include cycle refused.
 */
export interface LuaScript {
  /** The file's name without `.lua` and key count: `record-attempt`. */
  name: string;
  /** Undefined for a script that takes a variable number of keys (given per call). */
  numberOfKeys: number | undefined;
  lua: string;
}

export const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');

const INCLUDE = /^--- @include "([^"]+)"\s*$/;

/** Reads `lua/<file>.lua` with its includes inlined. */
export function loadLuaScript(file: string, dir = LUA_DIR): LuaScript {
  const counted = /^(.*)-(\d+)$/.exec(file);
  return {
    name: counted ? (counted[1] as string) : file,
    numberOfKeys: counted ? Number(counted[2]) : undefined,
    lua: expand(file, dir, [], new Set()),
  };
}

function expand(file: string, dir: string, stack: string[], included: Set<string>): string {
  if (stack.includes(file)) throw new Error(`Lua include cycle: ${[...stack, file].join(' -> ')}`);
  const source = readFileSync(join(dir, `${file}.lua`), 'utf8');
  return source
    .split('\n')
    .map((line) => {
      const include = INCLUDE.exec(line);
      if (!include) return line;
      const name = include[1] as string;
      // Each include once per script: a function defined twice would shadow itself.
      if (included.has(name)) return `-- (${name} included above)`;
      const body = expand(name, dir, [...stack, file], included);
      included.add(name);
      return `-- begin ${name}\n${body}\n-- end ${name}`;
    })
    .join('\n');
}
