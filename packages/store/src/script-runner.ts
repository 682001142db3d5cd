import type { RedisClient } from '@leadrouter/redis';
import type { LuaScript } from './lua-loader.js';

type Command = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Runs the Lua steps on one connection: each takes its keys plus one JSON argument, whose fields
 * its header names; a typed wrapper per script sits with the code that calls it. The scripts are
 * defined on the connection when the runner is made, before any command: ioredis copies a
 * connection's scripts into each (auto-)pipeline it builds, and a script defined while a pipeline
 * is being filled would be missing from it. Only the scripts a runner is given are defined, since
 * every pipeline pays for each one.
 */
export class ScriptRunner {
  private readonly commands = new Map<LuaScript, Command>();

  constructor(
    private readonly redis: RedisClient,
    scripts: readonly LuaScript[],
  ) {
    for (const script of scripts) {
      const name = commandName(script.name);
      if (!(name in redis)) {
        redis.defineCommand(name, script.numberOfKeys === undefined ? { lua: script.lua } : { numberOfKeys: script.numberOfKeys, lua: script.lua });
      }
      this.commands.set(script, (redis as unknown as Record<string, Command>)[name] as Command);
    }
  }

  run<Result>(script: LuaScript, keys: readonly string[], args: object): Promise<Result> {
    const command = this.commands.get(script);
    if (!command) throw new Error(`Lua script ${script.name} was not given to this runner`);
    if (script.numberOfKeys !== undefined && keys.length !== script.numberOfKeys) {
      throw new Error(`Lua script ${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    const json = JSON.stringify(args);
    const result = script.numberOfKeys === undefined ? command.call(this.redis, keys.length, ...keys, json) : command.call(this.redis, ...keys, json);
    return result as Promise<Result>;
  }
}

/** `record-attempt` → `lrRecordAttempt`: the ioredis command of a script. */
function commandName(name: string): string {
  return `lr${name.replace(/(^|-)([a-z])/g, (_m, _dash: string, letter: string) => letter.toUpperCase())}`;
}
