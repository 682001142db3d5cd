import type { RequestHandler } from 'express';
import type { Logger } from '@leadrouter/logging';

/**
 * One log line per request: method, path (no query string), status, duration, supplier and lead id.
 * Headers and bodies are never logged, so keys and lead PII cannot leak through this line.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const supplier = (res.locals.supplier as { id?: string } | undefined)?.id;
      const line = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        ...(supplier ? { supplier } : {}),
        ...(res.locals.leadId ? { leadId: res.locals.leadId as string } : {}),
      };
      if (res.statusCode >= 500) logger.error(line, 'request');
      else logger.info(line, 'request');
    });
    next();
  };
}
