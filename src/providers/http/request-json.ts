import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import {
  brotliDecompress as zlibBrotliDecompress,
  constants as zlib,
  gunzip as zlibGunzip,
  inflate as zlibInflate,
  inflateRaw as zlibInflateRaw,
  type BrotliOptions,
  type InputType,
  type ZlibOptions,
} from 'node:zlib';
import { PermanentProviderError, TransientProviderError } from '../../core/errors.js';
import type { SendGate } from '../../core/provider.js';
import { redactUri } from '../../core/redact.js';
import { parseRetryAfter } from '../../core/retry-after.js';

/** One GET of a JSON API, and how to read that API's errors. */
export interface JsonRequest {
  /** The provider's config name, for messages. */
  readonly provider: string;
  readonly url: URL;
  /** The provider's own headers (its credentials): never sent on a redirect to another origin. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborted by the pipeline at `request_timeout` or on cancel; the request stops with it. */
  readonly signal: AbortSignal;
  /**
   * Awaited once per request sent (a redirect's hop is one more), on an open connection, right
   * before the request is written (see SendGate); undefined when the caller paced the request
   * itself, or it is not paced.
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
    response = await get(url, request.headers ?? {}, request);
  } catch (thrown: unknown) {
    if (signal.aborted) throw signal.reason;
    if (thrown instanceof GateRefused) throw thrown.reason;
    if (thrown instanceof RedirectRefused) {
      throw new PermanentProviderError(provider, `${where}: ${thrown.reason} (check base_url)`);
    }
    throw new TransientProviderError(provider, `${where}: ${networkFailure(thrown)}`, {
      cause: thrown,
    });
  }
  const status = response.status;
  const at =
    response.url.href === url.href
      ? where
      : `${where} (redirected to ${redactUri(response.url.toString())})`;
  let text: string;
  try {
    text = (await decode(response.body, response.headers.get('content-encoding'))).toString('utf8');
  } catch (thrown: unknown) {
    // An error status means what it says whatever its body: only a 2xx needs its body read.
    if (status < 200 || status >= 300) text = '';
    else {
      const encoding = response.headers.get('content-encoding') ?? '';
      throw new TransientProviderError(
        provider,
        `${at}: answered ${status} with a body that cannot be decoded (content-encoding ${encoding}): ${networkFailure(thrown)}`,
        { cause: thrown },
      );
    }
  }

  if (status >= 200 && status < 300) {
    try {
      return JSON.parse(text) as unknown;
    } catch (thrown: unknown) {
      throw new TransientProviderError(
        provider,
        `${at}: answered ${status} with a body that is not JSON (${excerpt(text)})`,
        { cause: thrown },
      );
    }
  }

  const detail = apiMessage(text, request.errorMessage);
  const said = `${at}: ${status} ${response.statusText}${detail ? `: ${detail}` : ''}`;
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

/** The redirects fetch follows, and at most how many in a row. */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

/**
 * Decoders of the encodings we ask for, as lenient as fetch's (undici): a body cut short or empty
 * decodes to what it holds (a 429 whose empty body claims gzip keeps its meaning), never throws
 * "unexpected end of file". `deflate` is zlib-wrapped by the standard but raw from some servers:
 * the first byte tells which, as fetch does.
 */
const ZLIB_LENIENT = { flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH };
const BROTLI_LENIENT = {
  flush: zlib.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.BROTLI_OPERATION_FLUSH,
};
const gunzip = promisify<InputType, ZlibOptions, Buffer>(zlibGunzip);
const inflate = promisify<InputType, ZlibOptions, Buffer>(zlibInflate);
const inflateRaw = promisify<InputType, ZlibOptions, Buffer>(zlibInflateRaw);
const brotli = promisify<InputType, BrotliOptions, Buffer>(zlibBrotliDecompress);
const DECODERS: Readonly<Record<string, (body: Buffer) => Promise<Buffer>>> = {
  gzip: (body) => gunzip(body, ZLIB_LENIENT),
  'x-gzip': (body) => gunzip(body, ZLIB_LENIENT),
  deflate: (body) =>
    body.length > 0 && (body[0]! & 0x0f) === 0x08
      ? inflate(body, ZLIB_LENIENT)
      : inflateRaw(body, ZLIB_LENIENT),
  br: (body) => brotli(body, BROTLI_LENIENT),
};

/**
 * `body` decoded as its Content-Encoding says: a list (`gzip, br`) was applied in order, so it is
 * undone from the last. A coding we cannot read leaves the body as sent, as fetch does.
 */
async function decode(body: Buffer, contentEncoding: string | null): Promise<Buffer> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.some((coding) => DECODERS[coding] === undefined)) return body;
  let decoded = body;
  for (const coding of codings.reverse()) decoded = await DECODERS[coding]!(decoded);
  return decoded;
}

/** The gate rejected: its reason is the caller's, not a failure of the request. */
class GateRefused {
  constructor(readonly reason: unknown) {}
}

/** A redirect mdp will not follow (a loop, a Location that is not http(s)), and why. */
class RedirectRefused {
  constructor(readonly reason: string) {}
}

/** What `get` read: the status line, the headers, the body as sent, and the URL that answered. */
interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly url: URL;
}

/**
 * GETs `url`, following redirects as fetch did (301, 302, 303, 307, 308; at most 20; a relative
 * Location read against the URL that sent it). Every hop is one more request the provider's
 * server sees and counts, so each one is paced: it takes its own token through `gate`. The
 * provider's `headers` carry its credentials (Polygon's Authorization, Alpaca's
 * APCA-API-KEY-ID and APCA-API-SECRET-KEY), so a hop to another origin (scheme, host or port)
 * is sent without any of them: fetch drops only Authorization there, which would hand Alpaca's
 * keys to whatever host a redirect names.
 */
async function get(
  url: URL,
  headers: Readonly<Record<string, string>>,
  options: Pick<JsonRequest, 'signal' | 'gate'>,
): Promise<HttpAnswer> {
  let current = url;
  let credentials = headers;
  for (let hops = 0; ; hops += 1) {
    const answer = await send(current, credentials, options);
    const location = answer.headers.get('location');
    if (!REDIRECTS.has(answer.status) || location === null) return answer;
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new RedirectRefused(`${answer.status} to an invalid Location (${location})`);
    }
    const to = redactUri(next.toString());
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new RedirectRefused(`${answer.status} to ${to}, which is not http(s)`);
    }
    if (hops === MAX_REDIRECTS) {
      throw new RedirectRefused(`redirected more than ${MAX_REDIRECTS} times (last to ${to})`);
    }
    if (next.origin !== current.origin) credentials = {};
    current = next;
  }
}

/**
 * One request over node:http(s) rather than fetch, which opens its connection (and, on first use,
 * loads its client) only after it is called: the pacing's take would then come before all that,
 * and a request on a cold connection reach the server tens of milliseconds later after its take
 * than the next one on a warm connection. Here the connection is open (from the pool, or connected
 * and secured) before `gate`, and the request is written right after it.
 *
 * While the gate holds the connection, nothing is written on it, so anything the server does with
 * it meanwhile (closes it after an idle timeout, resets it, or answers and closes, as HAProxy's 408
 * to a connection that sent nothing) drops it: the request is sent on a new connection, and the
 * token taken stands for it there. The signal's abort settles the request at every step, whatever
 * state the connection is in.
 */
async function send(
  url: URL,
  headers: Readonly<Record<string, string>>,
  { signal, gate }: Pick<JsonRequest, 'signal' | 'gate'>,
): Promise<HttpAnswer> {
  let admitted = gate === undefined;
  for (;;) {
    signal.throwIfAborted();
    const secure = url.protocol === 'https:';
    const request = secure ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET',
      headers: { accept: 'application/json', 'accept-encoding': 'gzip, deflate, br', ...headers },
      agent: secure ? AGENTS.https : AGENTS.http,
    });
    const exchange = watch(req, secure);
    const onAbort = (): void => exchange.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await exchange.connected;
      if (!admitted) {
        await Promise.race([
          gate?.().catch((reason: unknown) => {
            throw new GateRefused(reason);
          }),
          exchange.aborted,
        ]);
        admitted = true;
        if (exchange.dropped()) {
          req.destroy();
          continue;
        }
      }
      let message: IncomingMessage;
      try {
        message = await exchange.write();
      } catch (thrown: unknown) {
        // A pooled connection the server closed as idle just as the request went out (the
        // keep-alive race: reset, no answer). The server dropped it unread, so it is sent again
        // on a new connection, as Node's documentation advises for idempotent requests, without
        // a second take (the pooled connection was fine when the take was made).
        if (req.reusedSocket && isReset(thrown) && !signal.aborted) {
          req.destroy();
          continue;
        }
        throw thrown;
      }
      const body = await Promise.race([bodyOf(message), exchange.aborted]);
      return {
        status: message.statusCode ?? 0,
        statusText: message.statusMessage ?? '',
        headers: headersOf(message),
        body,
        url,
      };
    } catch (thrown: unknown) {
      req.destroy();
      throw thrown;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

function isReset(thrown: unknown): boolean {
  return (thrown as { code?: unknown } | null)?.code === 'ECONNRESET';
}

/** One request's connection, watched from before the gate, so no event of it goes unseen. */
interface Exchange {
  /** Resolves once the connection is ready to write on (connected, and secured over TLS). */
  readonly connected: Promise<void>;
  /** True when the server answered, closed or reset the connection before the request was written. */
  dropped(): boolean;
  /** Writes the request; resolves with the answer's head. */
  write(): Promise<IncomingMessage>;
  /** Rejects with the reason once `abort` is called. */
  readonly aborted: Promise<never>;
  abort(reason: unknown): void;
}

function watch(req: ClientRequest, secure: boolean): Exchange {
  let phase: 'connecting' | 'held' | 'written' = 'connecting';
  let dropped = false;
  const connected = deferred<void>();
  const answered = deferred<IncomingMessage>();
  const aborted = deferred<never>();
  const fail = (error: unknown): void => {
    if (phase === 'connecting') connected.reject(error);
    else if (phase === 'held') dropped = true;
    else answered.reject(error);
  };
  req.once('socket', (socket) => {
    const ready = (): void => {
      if (phase === 'connecting') phase = 'held';
      connected.resolve();
    };
    if (!socket.connecting) ready();
    else socket.once(secure ? 'secureConnect' : 'connect', ready);
  });
  req.on('error', fail);
  req.on('close', () => fail(new Error('the connection closed before an answer')));
  req.on('response', (message: IncomingMessage) => {
    if (phase === 'written') answered.resolve(message);
    else {
      // An answer to no request (a 408 to an idle connection): the connection is done for.
      message.resume();
      dropped = true;
    }
  });
  return {
    connected: Promise.race([connected.promise, aborted.promise]),
    dropped: () => dropped,
    write: () => {
      phase = 'written';
      req.end();
      return Promise.race([answered.promise, aborted.promise]);
    },
    aborted: aborted.promise,
    abort: (reason) => {
      aborted.reject(reason);
      req.destroy();
    },
  };
}

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((ok, ko) => {
    resolve = ok;
    reject = ko;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The body as sent (still encoded). */
async function bodyOf(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    for (const one of [value ?? []].flat()) headers.append(name, one);
  }
  return headers;
}
