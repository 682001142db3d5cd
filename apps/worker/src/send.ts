import got, { type RequestError } from 'got';
import type { DeliveryRequest, Reply } from '@leadrouter/routing';

/** Replies are read up to 64 KiB (contract §4); the rest is never downloaded. */
export const MAX_REPLY_BYTES = 64 * 1024;

export type SendResult =
  | { kind: 'reply'; reply: Reply; retryAfter: string | undefined; durationMs: number }
  | {
      kind: 'failure';
      timeout: boolean;
      /**
       * LeadRouter could not build or send the request for a reason of its own (Node refused a
       * header or the URL): the buyer never saw it, so it must not count against the buyer's
       * circuit, and a retry would fail the same way (contract §4).
       */
      ownFault: boolean;
      error: string;
      durationMs: number;
    };

/** Node's and got's codes for a request refused before it left this process. */
const OWN_FAULT_CODES = new Set([
  'ERR_INVALID_CHAR',
  'ERR_INVALID_URL',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_PROTOCOL',
  'ERR_UNSUPPORTED_PROTOCOL',
]);

/** A failure of our own making, for a request that could not be built or handed to Node. */
export function ownFailure(error: string): SendResult {
  return { kind: 'failure', timeout: false, ownFault: true, error, durationMs: 0 };
}

/**
 * One HTTP try of a delivery with got: no retries here (the worker owns retries, so a buyer is
 * never hit more often than the attempt events say), no redirects, a hard timeout for the whole
 * request, and the reply body cut at 64 KiB.
 */
export async function sendDelivery(request: DeliveryRequest, timeoutMs: number): Promise<SendResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    return await streamDelivery(request, timeoutMs, elapsed);
  } catch (err) {
    // got validates its options synchronously (an invalid URL, a refused header).
    return ownFailure(`request could not be sent: ${describe(err as RequestError)}`);
  }
}

function streamDelivery(request: DeliveryRequest, timeoutMs: number, elapsed: () => number): Promise<SendResult> {
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const settle = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const stream = got.stream(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      decompress: true,
    });
    let status = 0;
    let retryAfter: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const finishReply = (): void =>
      settle({ kind: 'reply', reply: { status, body: Buffer.concat(chunks, Math.min(size, MAX_REPLY_BYTES)), truncated }, retryAfter, durationMs: elapsed() });
    stream.on('response', (response: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
      status = response.statusCode;
      const header = response.headers['retry-after'];
      retryAfter = Array.isArray(header) ? header[0] : header;
    });
    stream.on('data', (chunk: Buffer) => {
      if (truncated) return;
      const room = MAX_REPLY_BYTES - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size = MAX_REPLY_BYTES;
        truncated = true;
        finishReply();
        stream.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', finishReply);
    stream.on('error', (err: RequestError) => {
      // A reply already complete or cut short by us is a reply, not a failure.
      if (status !== 0 && truncated) return finishReply();
      const timeout = err.name === 'TimeoutError' || err.code === 'ETIMEDOUT';
      const ownFault = !timeout && OWN_FAULT_CODES.has(err.code);
      const error = timeout ? `timeout after ${timeoutMs} ms` : ownFault ? `request could not be sent: ${describe(err)}` : describe(err);
      settle({ kind: 'failure', timeout, ownFault, error, durationMs: elapsed() });
    });
  });
}

function describe(err: RequestError): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}
