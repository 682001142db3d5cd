import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log line: lead PII (phone, email,
 * name) and credentials. Logs must never hold them in clear (README, "Logs and PII").
 */
export const REDACT_PATHS = [
  'phone', 'email', 'name', '*.phone', '*.email', '*.name', '*.*.phone', '*.*.email', '*.*.name',
  'apiKey', '*.apiKey', 'token', '*.token', 'secret', '*.secret',
  'req.headers["x-api-key"]', 'req.headers.authorization', 'req.headers["x-postback-token"]',
  'req.headers["idempotency-key"]', 'req.headers.cookie', 'headers["x-api-key"]', 'headers.authorization',
];

export interface LoggerOptions {
  level: string;
  service: string;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/**
 * Calls `done` once the log lines written so far have reached their destination, so a process can
 * exit without losing its last lines (pino writes asynchronously). `logger.flush(cb)` does not
 * wait: sonic-boom, pino's stream, calls back at once when it has no minimum write length, even
 * with a write in flight. So this waits for the stream's next 'drain' while it is writing; the
 * `_writing` flag is sonic-boom's own and has no public getter.
 */
export function whenLogsWritten(logger: Logger, done: () => void): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { _writing?: boolean; once?: (event: string, fn: () => void) => void } | undefined;
  if (!stream?._writing || typeof stream.once !== 'function') return done();
  stream.once('drain', done);
}

/**
 * An error's message for a log line. A JSON parse error quotes the text it failed on, which may be
 * a lead's fields, so only its kind is logged; other messages (Redis, network, ours) carry no lead
 * data and are logged as they are.
 */
export function loggableError(err: Error): string {
  return err instanceof SyntaxError ? 'SyntaxError (message withheld: it may quote lead data)' : err.message;
}
