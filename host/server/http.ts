/**
 * The HTTP layer: node's own `http` server (docs/decisions/0014-server.md says why), its limits set
 * deliberately, request bodies read with a cap, MLflow's Content-Type rules, and a graceful close
 * that drains requests in flight.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MlflowError } from '@flowhost/sdk';
import { errorAnswer, requestErrors } from './errors.js';
import { stringifyMlflowJson } from './json.js';

export interface HttpLimits {
  /** Largest JSON request body, in bytes; a larger one is refused with 413 before it is read whole. */
  readonly maxJsonBodyBytes: number;
  /** Idle keep-alive connections are closed after this long (ms). */
  readonly keepAliveTimeoutMs: number;
  /** A client must send its headers within this long (ms); slow-loris protection. */
  readonly headersTimeoutMs: number;
  /** A socket with no traffic for this long (ms) is closed; artifact streams keep theirs busy. */
  readonly idleTimeoutMs: number;
  /** Largest request head (request line + headers), in bytes. */
  readonly maxHeaderBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  // MLflow's own limits are far below: log-batch is capped at 1,000 items of ≤ 6,000 characters.
  maxJsonBodyBytes: 32 * 1024 * 1024,
  // Above the 5 s most client pools keep an idle socket, so the server is not the one to close first.
  keepAliveTimeoutMs: 65_000,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  maxHeaderBytes: 16 * 1024,
};

export type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = stringifyMlflowJson(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

export function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/html; charset=utf-8',
): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

/** Answers an error as MLflow does; if the response has started, the connection is cut instead. */
export function sendError(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.destroy(error instanceof Error ? error : undefined);
    return;
  }
  const { status, body } = errorAnswer(error);
  // The rest of an over-long body is not read: the connection cannot carry another request.
  if (error instanceof BodyTooLarge) response.setHeader('Connection', 'close');
  const retryAfter = (error as { retryAfterSeconds?: unknown })?.retryAfterSeconds;
  if (typeof retryAfter === 'number') response.setHeader('Retry-After', String(retryAfter));
  sendJson(response, status, body);
}

/** MLflow's `_validate_content_type`: POST and PUT must send `application/json` (parameters allowed). */
export function checkJsonContentType(request: IncomingMessage): void {
  if (request.method !== 'POST' && request.method !== 'PUT') return;
  const type = request.headers['content-type'];
  if (type === undefined) throw requestErrors.contentTypeMissing();
  if (type.split(';')[0].trim().toLowerCase() !== 'application/json') throw requestErrors.contentTypeWrong();
}

/** Thrown when a body passes the cap; answered 413 (Payload Too Large) with MLflow's envelope. */
export class BodyTooLarge extends MlflowError {
  constructor(limit: number) {
    super(`The request body exceeds the server's limit of ${limit} bytes.`, 'BAD_REQUEST');
  }

  override get httpStatus(): number {
    return 413;
  }
}

/** Reads the whole body as UTF-8, refusing it as soon as it passes `limit` bytes. */
export async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface Listening {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then cuts what remains. */
  close(graceMs?: number): Promise<void>;
}

/** Starts the server on `host:port` (port 0: a free one). */
export async function listen(
  handler: Handler,
  host: string,
  port: number,
  limits: HttpLimits = DEFAULT_HTTP_LIMITS,
): Promise<Listening> {
  let inFlight = 0;
  let drained: (() => void) | null = null;
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: 0,
    },
    (request, response) => {
      inFlight++;
      response.on('close', () => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
      handler(request, response).catch((error) => sendError(response, error));
    },
  );
  server.timeout = limits.idleTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
