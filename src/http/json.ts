/**
 * JSON over Node's `http`, for adapters that get the raw request and response (the Express middleware; Fastify
 * parses and serialises itself): read a request's JSON body within a size limit, answering 400, 413 or 415 with a
 * message instead of throwing, and write an endpoint's answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { ENDPOINT_HEADERS, errorResponse, quote, unsupportedBody, type EndpointResponse } from './endpoints.js';
import { hasBody } from './request.js';

/** A request body read by {@link readJsonBody}: the parsed value, or the error answer to send. */
export type JsonBody = { ok: true; body: unknown } | { ok: false; answer: EndpointResponse };

/** A request, with the `body` a framework's parser may have set. */
export type BodyRequest = IncomingMessage & { body?: unknown };

/** Content encodings a body may come in (as Express's `express.json()` accepts them). */
const DECODERS: Record<string, (() => NodeJS.ReadWriteStream) | undefined> = {
  identity: undefined,
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/** Reads off the rest of a request (so the client can read the answer), then resolves. */
function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded || req.destroyed) return resolve();
    req
      .once('end', resolve)
      .once('close', resolve)
      .once('error', () => resolve());
    req.resume();
  });
}

function parse(bytes: Buffer): JsonBody {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return { ok: true, body: undefined };
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch (error) {
    return { ok: false, answer: errorResponse(400, `invalid JSON body: ${(error as Error).message}`) };
  }
}

/**
 * Reads the JSON body of `req`, at most `limit` bytes once decoded. A body an upstream parser already read (the
 * stream is consumed) is taken from `req.body`; a request without a body gives `req.body` (usually `undefined`);
 * an empty body gives `undefined`. Refusals (415 not JSON, not UTF-8 or an unknown encoding; 413 too large; 400
 * bad JSON, a corrupt encoding or an aborted upload) resolve after the rest of the request was read off.
 */
export function readJsonBody(req: BodyRequest, limit: number): Promise<JsonBody> {
  if (req.readableDidRead || req.readableEnded || !hasBody(req.headers)) {
    return Promise.resolve({ ok: true, body: req.body });
  }
  const refuse = (status: number, message: string): Promise<JsonBody> =>
    drain(req).then(() => ({ ok: false, answer: errorResponse(status, message) }));
  const unsupported = unsupportedBody(req.headers);
  if (unsupported) return drain(req).then(() => ({ ok: false, answer: unsupported }));
  const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return refuse(415, `unsupported charset ${quote(charset)}: send UTF-8`);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!Object.hasOwn(DECODERS, encoding)) return refuse(415, `unsupported content encoding ${quote(encoding)}`);
  const tooLarge = `request body is too large: more than ${limit} bytes`;
  if (encoding === 'identity' && Number(req.headers['content-length']) > limit) return refuse(413, tooLarge);
  const decoder = DECODERS[encoding]?.();
  const source = (decoder ? req.pipe(decoder) : req) as Readable;

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) stop(413, tooLarge);
      else chunks.push(chunk);
    };
    const stop = (status: number, message: string) => {
      if (settled) return;
      settled = true;
      source.off('data', collect);
      if (decoder) {
        req.unpipe(decoder);
        source.on('error', () => {}).destroy();
      }
      resolve(refuse(status, message));
    };
    source.on('data', collect);
    source.once('end', () => {
      if (settled) return;
      settled = true;
      resolve(parse(Buffer.concat(chunks, size)));
    });
    source.once('error', (error) => stop(400, `cannot read the request body: ${error.message}`));
    req.once('close', () => {
      if (!req.complete) stop(400, 'request aborted');
    });
  });
}

/** Writes an endpoint's answer as JSON, with {@link ENDPOINT_HEADERS}; no body for HEAD. */
export function writeJson(res: ServerResponse, answer: EndpointResponse, head = false): void {
  const page = answer.headers !== undefined && typeof answer.body === 'string';
  const payload = page ? (answer.body as string) : (JSON.stringify(answer.body) ?? '');
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(ENDPOINT_HEADERS)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(head ? undefined : payload);
}
