/** What stands in for a secret in every message, log line and summary. */
export const REDACTED = '***';

/**
 * Config keys whose values are secrets wherever they appear: `api_key`, `client-secret`,
 * `accessToken`... A key id (Alpaca's `key_id`, AWS's access key id) is half of a credential pair and
 * identifies the account, so it is masked too.
 */
const SECRET_KEY = /(^|[_-])(api[_-]?key|secret|secret[_-]key|token|password|passwd|key[_-]?id)$/i;
const CAMEL_SECRET_KEY = /[a-z0-9](ApiKey|Secret|SecretKey|Token|Password|KeyId)$/;

/** True when a config key (of any section) holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || CAMEL_SECRET_KEY.test(key);
}

/**
 * `scheme://user:pass@host` in free text; the password is group 2. It runs to the last `@` of the
 * token, as URL parsers read it, so a password written with a raw `@` or `/` is masked whole
 * (over-masking a rare `@` later in the URI is the safe side to err on).
 */
const URI_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^\s"'`]+)(@)/gi;
/**
 * `password=...` in a libpq keyword string (possibly quoted) or a URI query; also `apiKey=` and
 * `token=` query parameters, the way HTTP APIs such as Polygon take a key in a URL.
 */
const PARAM_PASSWORD =
  /((?:^|[\s?&;])(?:password|api[_-]?key|access[_-]?token|token|secret)=)('[^']*'|[^\s&;]+)/gi;

/** Replaces passwords inside any connection URIs in `text`. */
export function redactUri(text: string): string {
  return text.replace(URI_PASSWORD, `$1${REDACTED}$3`).replace(PARAM_PASSWORD, `$1${REDACTED}`);
}

/**
 * Remembers the secret values of one config (after interpolation, so a key that came from
 * `${POLYGON_API_KEY}` is known by its value) and masks them in any text about to leave the process.
 */
export class SecretRedactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first so a secret that contains another is masked whole; very short values would
    // mask ordinary words, and a 3-character secret is not worth protecting that way.
    this.secrets = [...new Set(secrets)]
      .filter((s) => s.length >= 4)
      .sort((a, b) => b.length - a.length);
  }

  /** Collects the values under secret keys and the passwords of URIs anywhere in `value`. */
  static fromConfig(value: unknown): SecretRedactor {
    const found: string[] = [];
    const walk = (node: unknown, key: string): void => {
      if (typeof node === 'string') {
        if (isSecretKey(key)) found.push(node);
        // Most values are short words; the regexes only run on strings that could hold a password.
        if (!node.includes('@') && !/(password|api[_-]?key|token|secret)=/i.test(node)) return;
        for (const match of node.matchAll(URI_PASSWORD)) {
          const password = match[2] as string;
          found.push(password);
          try {
            found.push(decodeURIComponent(password));
          } catch {
            // a malformed %-escape is still masked in its raw form
          }
        }
        for (const match of node.matchAll(PARAM_PASSWORD)) {
          found.push((match[2] as string).replace(/^'(.*)'$/, '$1'));
        }
      } else if (Array.isArray(node)) {
        node.forEach((item) => walk(item, key));
      } else if (node !== null && typeof node === 'object') {
        for (const [childKey, child] of Object.entries(node)) walk(child, childKey);
      }
    };
    walk(value, '');
    return new SecretRedactor(found);
  }

  redact(text: string): string {
    let out = redactUri(text);
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** A deep copy of `value` with secret keys and URI passwords masked, for printing a config. */
  redactValue<T>(value: T): T {
    const walk = (node: unknown, key: string): unknown => {
      if (typeof node === 'string') return isSecretKey(key) ? REDACTED : this.redact(node);
      if (Array.isArray(node)) return node.map((item) => walk(item, key));
      if (node !== null && typeof node === 'object') {
        return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
      }
      return node;
    };
    return walk(value, '') as T;
  }
}
