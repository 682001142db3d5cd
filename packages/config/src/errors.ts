/** One problem in a config file, located by a path such as `routes[1].destinations[0].id`. */
export interface ConfigProblem {
  path: string;
  message: string;
  /** 1-based line in the file where the value (or its nearest written parent) is; only for text input. */
  line?: number;
}

/** `destinations[2].timeoutMs: must be integer (line 14)`: the one form the CLI and startup errors print. */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? '' : ` (line ${problem.line})`;
  return `${problem.path || '(root)'}: ${problem.message}${where}`;
}

/** Thrown when a config cannot be used; carries every problem found, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'LR_ERR_CONFIG';
  constructor(
    readonly problems: ConfigProblem[],
    readonly file?: string,
  ) {
    super(
      `invalid config${file ? ` ${file}` : ''}:\n` + problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
}

/** `/routes/1/destinations/0/id` (JSON pointer) -> `routes[1].destinations[0].id`. */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^[0-9]+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}
