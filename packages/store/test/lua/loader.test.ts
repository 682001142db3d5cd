import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { loadLuaScript, LUA_DIR, SCRIPTS } from '../../src/index.js';

/** The loader and the layout of lua/: what a reader relies on to find a step's keys and arguments. */
describe('Lua scripts in files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-lua-'));
  mkdirSync(join(dir, 'includes'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): void => writeFileSync(join(dir, `${name}.lua`), text);

  test('the file name gives the key count; a name without one takes a variable number', () => {
    write('fixed-3', 'return 1');
    write('variable', 'return 2');
    expect(loadLuaScript('fixed-3', dir)).toEqual({ name: 'fixed', numberOfKeys: 3, lua: 'return 1' });
    expect(loadLuaScript('variable', dir)).toMatchObject({ name: 'variable', numberOfKeys: undefined });
  });

  test('includes are inlined where they stand, each once per script, also through other includes', () => {
    write('includes/a', 'local function a() return 1 end');
    write('includes/b', '--- @include "includes/a"\nlocal function b() return a() + 1 end');
    write('both-0', '--- @include "includes/a"\n--- @include "includes/b"\nreturn b()');
    const { lua } = loadLuaScript('both-0', dir);
    expect(lua.match(/local function a\(\)/g)).toHaveLength(1);
    expect(lua.indexOf('local function a()')).toBeLessThan(lua.indexOf('local function b()'));
    expect(lua.trim().endsWith('return b()')).toBe(true);
  });

  test('an include cycle is refused, naming the cycle', () => {
    write('includes/x', '--- @include "includes/y"');
    write('includes/y', '--- @include "includes/x"');
    write('cyclic-0', '--- @include "includes/x"');
    expect(() => loadLuaScript('cyclic-0', dir)).toThrow('Lua include cycle: cyclic-0 -> includes/x -> includes/y -> includes/x');
  });

  test('a missing include is an error at load, not at the first lead', () => {
    write('broken-0', '--- @include "includes/nope"');
    expect(() => loadLuaScript('broken-0', dir)).toThrow(/nope\.lua/);
  });

  // The header is the script's contract with its caller: every KEYS entry by number, the one JSON
  // argument, and what comes back.
  const files = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
  test.each(files)('%s has a header naming each of its KEYS, its ARGV and its return', (file) => {
    const source = readFileSync(join(LUA_DIR, file), 'utf8');
    const header = source.slice(0, source.indexOf(']]'));
    const count = /-(\d+)\.lua$/.exec(file)?.[1];
    if (count !== undefined) {
      for (let i = 1; i <= Number(count); i++) expect(header).toMatch(new RegExp(`KEYS\\[${i}\\] `));
      expect(header).not.toMatch(new RegExp(`KEYS\\[${Number(count) + 1}\\]`));
    } else {
      expect(header).toMatch(/KEYS\[1\] /);
    }
    expect(header).toMatch(/ARGV\[1\] JSON/);
    expect(header).not.toMatch(/ARGV\[2\]/);
    expect(header).toMatch(/Returns /);
    // No script builds a key of its own: it uses what it was given (KEYS) or keys it stored itself.
    expect(source).not.toMatch(/redis\.call\('[A-Z]+', *['"][^'"]*:/);
  });

  test('every script file is registered, and every registered script loads', () => {
    const registered = Object.values(SCRIPTS).map((s) => `${s.name}${s.numberOfKeys === undefined ? '' : `-${s.numberOfKeys}`}.lua`);
    expect([...registered].sort()).toEqual([...files].sort());
  });
});
