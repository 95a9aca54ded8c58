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
  /** A 429's wait when the API says it another way than Retry-After (e.g. X-RateLimit-Reset). */
  readonly rateLimitWaitMs?: (headers: Headers, now: number) => number | undefined;
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
  if (status === 429) {
    const now = (request.now ?? Date.now)();
    const retryAfterMs =
      parseRetryAfter(response.headers.get('retry-after'), now) ??
      request.rateLimitWaitMs?.(response.headers, now);
    throw new TransientProviderError(provider, said, { rateLimited: true, retryAfterMs });
  }
  if (status >= 500 || status === 408) {
    const retryAfterMs = parseRetryAfter(
      response.headers.get('retry-after'),
      (request.now ?? Date.now)(),
    );
    throw new TransientProviderError(provider, said, { retryAfterMs });
  }
  const hint = CLIENT_ERROR_HINTS[status];
  throw new PermanentProviderError(provider, hint ? `${said} (${hint})` : said);
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
