import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { PermanentProviderError, TransientProviderError } from '../../core/errors.js';
import type { SendGate } from '../../core/provider.js';
import { redactUri } from '../../core/redact.js';
import { parseRetryAfter } from '../../core/retry-after.js';

/** One GET of a JSON API, and how to read that API's errors. */
export interface JsonRequest {
  /** The provider's config name, for messages. */
  readonly provider: string;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborted by the pipeline at `request_timeout` or on cancel; the request stops with it. */
  readonly signal: AbortSignal;
  /**
   * Awaited once, on an open connection, right before the request is written (see SendGate);
   * undefined when the caller paced the request itself, or it is not paced.
   */
  readonly gate: SendGate | undefined;
  /** The API's own explanation in an error body (e.g. Polygon's `error`, Alpaca's `message`). */
  readonly errorMessage: (body: unknown) => string | undefined;
  /**
   * A 429's wait when the API says it another way than Retry-After (e.g. X-RateLimit-Reset):
   * `header` names it in messages; `waitMs` reads it against `now`, the server's clock.
   */
  readonly rateLimitWait?: {
    readonly header: string;
    readonly waitMs: (headers: Headers, now: number) => number | undefined;
  };
  /** This host's clock, used where the answer has no Date header. */
  readonly now?: () => number;
}

/** What a 4xx means for the person running mdp. */
const CLIENT_ERROR_HINTS: Readonly<Record<number, string>> = {
  400: 'the request was refused as malformed; check the symbol and the interval',
  401: 'the credentials were refused: check the API key in the config (usually an environment variable)',
  403: 'the credentials are not allowed this data: check the plan, the feed, or the key',
  404: 'not found: check the symbol and base_url',
  422: 'the request was refused: check the symbol, the window and the plan',
};

/** Error bodies can be whole HTML pages; a message needs their first words only. */
const MAX_DETAIL = 300;

/**
 * GETs `url` and returns its JSON body. Classifies every failure the way the retry policy needs:
 * 429 (with the server's wait) is transient and rate-limited; 5xx, 408, resets and refused
 * connections, and a 2xx body that is not JSON (a proxy cutting a response short) are transient;
 * any other 4xx is permanent, with the API's own message. An abort is rethrown as the signal's
 * reason, for the pipeline to tell a timeout from a cancel. URLs in messages are redacted.
 */
export async function requestJson(request: JsonRequest): Promise<unknown> {
  const { provider, url, signal } = request;
  const where = `GET ${redactUri(url.toString())}`;
  let response: HttpAnswer;
  try {
    response = await get(url, { accept: 'application/json', ...request.headers }, request);
  } catch (thrown: unknown) {
    if (signal.aborted) throw signal.reason;
    if (thrown instanceof GateRefused) throw thrown.reason;
    throw new TransientProviderError(provider, `${where}: ${networkFailure(thrown)}`, {
      cause: thrown,
    });
  }
  const { text } = response;

  const status = response.status;
  if (status >= 200 && status < 300) {
    try {
      return JSON.parse(text) as unknown;
    } catch (thrown: unknown) {
      throw new TransientProviderError(
        provider,
        `${where}: answered ${status} with a body that is not JSON (${excerpt(text)})`,
        { cause: thrown },
      );
    }
  }

  const detail = apiMessage(text, request.errorMessage);
  const said = `${where}: ${status} ${response.statusText}${detail ? `: ${detail}` : ''}`;
  if (status === 429 || status >= 500 || status === 408) {
    const own = status === 429 ? request.rateLimitWait : undefined;
    const wait = serverWait(response.headers, (request.now ?? Date.now)(), own);
    throw new TransientProviderError(provider, said, {
      status,
      rateLimited: status === 429,
      ...wait,
    });
  }
  const hint = CLIENT_ERROR_HINTS[status];
  throw new PermanentProviderError(provider, hint ? `${said} (${hint})` : said);
}

/**
 * How long the server asked to wait, and in which header: Retry-After (seconds or an HTTP date),
 * else, for a 429, the API's own header. Absolute times are read against the server's clock (its
 * Date header) when it sent one, so a host clock minutes off does not shift the wait.
 */
function serverWait(
  headers: Headers,
  hostNow: number,
  own: JsonRequest['rateLimitWait'],
): { retryAfterMs?: number; waitHeader?: string } {
  const date = headers.get('date');
  const stamped = date === null ? NaN : Date.parse(date);
  const now = Number.isFinite(stamped) ? stamped : hostNow;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfterMs !== undefined) return { retryAfterMs, waitHeader: 'Retry-After' };
  const ownMs = own?.waitMs(headers, now);
  return own === undefined || ownMs === undefined
    ? {}
    : { retryAfterMs: ownMs, waitHeader: own.header };
}

/** The API's message from an error body, or the body's first words when it is not JSON. */
function apiMessage(text: string, read: (body: unknown) => string | undefined): string {
  if (text.trim() === '') return '';
  try {
    const message = read(JSON.parse(text) as unknown);
    return message === undefined ? excerpt(text) : excerpt(message);
  } catch {
    return excerpt(text);
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return redactUri(flat.length > MAX_DETAIL ? `${flat.slice(0, MAX_DETAIL)}…` : flat);
}

/** An error's own message, or its cause's (fetch's message is "fetch failed"), with its code. */
function networkFailure(thrown: unknown): string {
  const cause = thrown instanceof Error && thrown.cause instanceof Error ? thrown.cause : thrown;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}

/** Connections kept open between requests, so a paced request mostly finds one ready. */
const AGENTS = {
  http: new HttpAgent({ keepAlive: true }),
  https: new HttpsAgent({ keepAlive: true }),
};

/** Encodings we can read; a server may compress its answer with any of them. */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The gate rejected: its reason is the caller's, not a failure of the request. */
class GateRefused {
  constructor(readonly reason: unknown) {}
}

/** What `get` read: the status line, the headers, the body decoded to text. */
interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * GETs `url` over node:http(s) rather than fetch, which opens its connection (and, on first use,
 * loads its client) only after it is called: the pacing's take would then come before all that,
 * and a request on a cold connection reach the server tens of milliseconds later after its take
 * than the next one on a warm connection. Here the connection is open (from the pool, or connected
 * and secured) before `gate`, and the request is written right after it. A connection the server
 * closed while the gate held it (an idle timeout) is replaced: nothing was written on it, so the
 * token taken stands for the request on the new one.
 */
async function get(
  url: URL,
  headers: Readonly<Record<string, string>>,
  { signal, gate }: Pick<JsonRequest, 'signal' | 'gate'>,
): Promise<HttpAnswer> {
  let admitted = gate === undefined;
  for (;;) {
    signal.throwIfAborted();
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      headers: { 'accept-encoding': 'gzip, deflate, br', ...headers },
      agent: secure ? AGENTS.https : AGENTS.http,
    });
    let failure: { error: unknown } | undefined;
    const failed = new Promise<never>((_, reject) =>
      req.once('error', (error) => {
        failure = { error };
        reject(error);
      }),
    );
    failed.catch(() => undefined);
    const onAbort = (): void => void req.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([connected(req, secure), failed]);
      if (!admitted) {
        await gate?.().catch((reason: unknown) => {
          throw new GateRefused(reason);
        });
        admitted = true;
        // The server dropped the idle connection while we waited: send on a new one.
        if (failure !== undefined && !signal.aborted) continue;
      }
      const answered = new Promise<IncomingMessage>((resolve) => req.once('response', resolve));
      req.end();
      const message = await Promise.race([answered, failed]);
      const text = await Promise.race([bodyText(message), failed]);
      return {
        status: message.statusCode ?? 0,
        statusText: message.statusMessage ?? '',
        headers: headersOf(message),
        text,
      };
    } catch (thrown: unknown) {
      req.destroy();
      throw thrown;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Resolves once `req` has a connection ready to write on (connected, and secured over TLS). */
function connected(req: ReturnType<typeof httpRequest>, secure: boolean): Promise<void> {
  return new Promise((resolve) => {
    req.once('socket', (socket) => {
      if (!socket.connecting) resolve();
      else socket.once(secure ? 'secureConnect' : 'connect', () => resolve());
    });
  });
}

/** The body as text, decompressed as its Content-Encoding says. */
async function bodyText(message: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  const collect = async (source: AsyncIterable<unknown>): Promise<void> => {
    for await (const chunk of source) chunks.push(chunk as Buffer);
  };
  const decoder = DECODERS[(message.headers['content-encoding'] ?? '').trim().toLowerCase()];
  if (decoder === undefined) await pipeline(message, collect);
  else await pipeline(message, decoder(), collect);
  return Buffer.concat(chunks).toString('utf8');
}

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    for (const one of [value ?? []].flat()) headers.append(name, one);
  }
  return headers;
}
