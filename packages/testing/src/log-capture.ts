import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@leadrouter/logging';

/** A real pino logger whose lines are kept in memory, so a test can read exactly what was logged. */
export function captureLogger(service = 'test', level = 'debug'): { logger: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level, service, destination });
  return { logger, lines, text: () => lines.join('\n') };
}
