import { PermanentProviderError, TransientProviderError } from '../../core/errors.js';
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
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json', ...request.headers },
      signal,
    });
    text = await response.text();
  } catch (thrown: unknown) {
    if (signal.aborted) throw signal.reason;
    throw new TransientProviderError(provider, `${where}: ${networkFailure(thrown)}`, {
      cause: thrown,
    });
  }

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

/** fetch's own message is "fetch failed"; the cause says what actually happened. */
function networkFailure(thrown: unknown): string {
  const cause = thrown instanceof Error && thrown.cause instanceof Error ? thrown.cause : thrown;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}
