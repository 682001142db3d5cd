/**
 * Errors that Express and its parsers raise for a client's bad request: a path with malformed
 * percent-encoding (`/v1/leads/%ff`, a URIError with status 400), a JSON body that does not parse,
 * a body over a parser's limit. They are the client's, so they get a 4xx, and their messages are
 * never logged or echoed: a JSON SyntaxError quotes the body it failed on, and a body is PII.
 */
export interface ClientError {
  status: 400 | 413 | 415;
  reason: 'invalid' | 'too_large' | 'unsupported_media_type';
  field: string;
  message: string;
}

/** The 4xx answer for a client's bad request, or undefined when `err` is not one (a fault of ours). */
export function clientError(err: unknown): ClientError | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const { status, statusCode, type } = err as { status?: unknown; statusCode?: unknown; type?: unknown };
  const code = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (code === undefined || code < 400 || code > 499) return undefined;
  if (err instanceof URIError) return { status: 400, reason: 'invalid', field: 'path', message: 'malformed percent-encoding in the path' };
  if (type === 'entity.too.large' || code === 413) return { status: 413, reason: 'too_large', field: 'body', message: 'body too large' };
  if (type === 'entity.parse.failed') return { status: 400, reason: 'invalid', field: 'body', message: 'malformed JSON' };
  if (code === 415) return { status: 415, reason: 'unsupported_media_type', field: 'body', message: 'unsupported body encoding or charset' };
  return { status: 400, reason: 'invalid', field: 'body', message: 'the request could not be read' };
}
