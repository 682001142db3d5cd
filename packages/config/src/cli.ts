/**
 * `npm run config:check -- FILE`: validates a config file and prints every problem (schema and
 * cross-checks together) with its path and, for a file, its line.
 * Exits 0 when the file is usable, 1 when it is not, 2 on a usage error.
 */
import { configPathFromEnv, ConfigError, formatProblem, loadConfigFile } from './index.js';

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.length > 1 || args[0] === '-h' || args[0] === '--help') {
  console.error('usage: npm run config:check -- [FILE]   (default: $LEADROUTER_CONFIG, ./leadrouter.yaml, or the bundled config)');
  process.exit(2);
}
const file = args[0] ?? configPathFromEnv(process.env);
try {
  const { config } = loadConfigFile(file);
  console.log(
    `${file}: OK (${config.suppliers.length} suppliers, ${config.destinations.length} destinations, ${config.routes.length} routes)`,
  );
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`${file}: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`);
  for (const p of err.problems) console.error(formatProblem(p));
  process.exit(1);
}
