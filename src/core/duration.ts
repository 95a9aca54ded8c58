const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses `90s`, `15m`, `2h`, `7d` into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Number(amount) * (UNIT_MS[unit as string] as number);
}

/** The shortest exact `2h`/`90s` form of a millisecond count, for output. */
export function formatDuration(ms: number): string {
  // Never `Infinityms`: the config refuses such a duration, but output must stay readable.
  if (!Number.isFinite(ms)) return 'forever';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A millisecond count for people: `115d 17h 46m 39s`, `1m 30s`, `1.5s`, `250ms`. */
export function describeDuration(ms: number): string {
  // A Retry-After of 400 digits parses to Infinity.
  if (ms === Infinity) return 'forever';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let left = ms;
  for (const unit of ['d', 'h', 'm'] as const) {
    const size = UNIT_MS[unit] as number;
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  const seconds = Math.round(left) / 1_000;
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join(' ');
}
