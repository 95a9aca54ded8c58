const ZERO = 48;
/** Powers of ten that are exact doubles: dividing an exact mantissa by one rounds correctly. */
const EXACT_POWERS = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
  1e18, 1e19, 1e20, 1e21, 1e22,
];

/**
 * The number written in `text` from `start` to `end` (no blanks), or NaN; an empty cell is NaN,
 * not 0. Plain decimals (`-123.45`) are read in place without allocating: with a mantissa below
 * 2^53 and at most 22 decimals, mantissa / 10^k is the correctly rounded double, the same as
 * Number() gives (Clinger's fast path). Anything else (exponents, long mantissas) goes to Number().
 */
export function parseDecimal(text: string, start: number, end: number): number {
  if (start >= end) return Number.NaN;
  let at = start;
  const sign = text.charCodeAt(at);
  const negative = sign === 45; /* - */
  if (negative || sign === 43 /* + */) at++;
  let mantissa = 0;
  let digits = 0;
  let decimals = 0;
  let point = false;
  for (; at < end; at++) {
    const code = text.charCodeAt(at);
    const digit = code - ZERO;
    if (digit >= 0 && digit <= 9) {
      mantissa = mantissa * 10 + digit;
      digits++;
      if (point) decimals++;
    } else if (code === 46 /* . */ && !point) {
      point = true;
    } else {
      return Number(text.slice(start, end)); // an exponent, Infinity, hex…: Number decides
    }
  }
  if (digits === 0) return Number.NaN;
  if (mantissa > Number.MAX_SAFE_INTEGER || decimals > 22) return Number(text.slice(start, end));
  const value = decimals === 0 ? mantissa : mantissa / (EXACT_POWERS[decimals] as number);
  return negative ? -value : value;
}
