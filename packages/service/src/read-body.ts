import type { NextFunction, Request, Response } from 'express';

/** Thrown through `next()` when a body is refused; the app's error handler answers it. */
export class BodyError extends Error {
  override name = 'BodyError';
  constructor(
    readonly status: 413 | 415 | 400,
    readonly reason: 'too_large' | 'unsupported_media_type' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the raw request body into `req.body` (a Buffer), refusing it the moment it is known to be
 * over `limit` bytes: at once from Content-Length, or as soon as a chunked body crosses the limit.
 * Unlike body-parser, it does not read the rest of a refused body (a client streaming forever
 * would otherwise hold the connection): the answer is sent and the connection closed.
 */
export function readBodyLimited(limit: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      return next(new BodyError(415, 'unsupported_media_type', `Content-Encoding "${encoding}" is not accepted`));
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) return next(new BodyError(413, 'too_large', 'body over 64 KiB'));
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) return next(err);
      req.body = Buffer.concat(chunks, size);
      next();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        return finish(new BodyError(413, 'too_large', 'body over 64 KiB'));
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void => finish(new BodyError(400, 'invalid', `body could not be read: ${err.message}`));
    const onAborted = (): void => finish(new BodyError(400, 'invalid', 'body incomplete'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  };
}
