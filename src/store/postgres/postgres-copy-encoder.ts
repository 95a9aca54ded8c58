import type { Bar } from '../../core/bar.js';
import { StoreError } from '../../core/errors.js';
import { POSTGRES_EPOCH_MS } from './postgres-timestamps.js';

/** `PGCOPY\n\377\r\n\0`, then flags and header-extension length, both 0. */
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** Fields per row: provider, symbol, interval, ts, open, high, low, close, volume, vwap, trade_count. */
const FIELDS = 11;
/** A row without its three strings: field count, 11 lengths, ts, 5 doubles, vwap, trade_count. */
const FIXED_ROW_BYTES = 2 + FIELDS * 4 + 8 + 5 * 8 + 8 + 8;
const TWO_32 = 4_294_967_296;
/** Provider, symbol and interval repeat across a batch; their UTF-8 is kept, up to this many. */
const MAX_CACHED_STRINGS = 4096;

/**
 * Encodes bars as one binary COPY stream for the staging table, whose columns are
 * `text, text, text, timestamptz, float8 ×6, int8`. Binary, not text: doubles travel as their
 * eight IEEE bytes, so what is stored is exactly what the provider gave (no decimal formatting or
 * parsing on either side), and ts goes as integer microseconds.
 *
 * Two conversions mirror what SQLite stores for the same bar, so both backends hold equal
 * values: NaN becomes NULL (better-sqlite3 binds it so; a NOT NULL column then refuses the
 * batch), and -0 becomes 0 (SQLite keeps integral REALs as integers).
 */
export class PostgresCopyEncoder {
  private readonly strings = new Map<string, Buffer>();

  /** The COPY data of the bars whose `keep` entry is 1 (all of them when `keep` is undefined). */
  encode(bars: readonly Bar[], keep: Uint8Array | undefined): Buffer {
    let size = HEADER.length + 2;
    for (let i = 0; i < bars.length; i++) {
      if (keep !== undefined && keep[i] === 0) continue;
      const bar = bars[i] as Bar;
      size +=
        FIXED_ROW_BYTES +
        this.utf8(bar.provider).length +
        this.utf8(bar.symbol).length +
        this.utf8(bar.interval).length;
    }
    const out = Buffer.allocUnsafe(size);
    let at = HEADER.copy(out, 0);
    for (let i = 0; i < bars.length; i++) {
      if (keep !== undefined && keep[i] === 0) continue;
      const bar = bars[i] as Bar;
      at = out.writeInt16BE(FIELDS, at);
      at = this.writeText(out, at, bar.provider);
      at = this.writeText(out, at, bar.symbol);
      at = this.writeText(out, at, bar.interval);
      at = writeInt64(out, at, (wholeNumber(bar.ts, 'ts', bar) - POSTGRES_EPOCH_MS) * 1000);
      at = writeFloat(out, at, bar.open);
      at = writeFloat(out, at, bar.high);
      at = writeFloat(out, at, bar.low);
      at = writeFloat(out, at, bar.close);
      at = writeFloat(out, at, bar.volume);
      at = writeFloat(out, at, bar.vwap);
      at =
        bar.tradeCount === null || bar.tradeCount === undefined
          ? out.writeInt32BE(-1, at)
          : writeInt64(out, at, wholeNumber(bar.tradeCount, 'trade_count', bar));
    }
    at = out.writeInt16BE(-1, at);
    // NULL fields take only their 4-byte length, so the estimate may exceed what was written.
    return at === size ? out : out.subarray(0, at);
  }

  /** The UTF-8 bytes of a text field; a null (only reachable by force) encodes as NULL. */
  private utf8(text: string | null): Buffer {
    if (text === null) return EMPTY;
    let bytes = this.strings.get(text);
    if (bytes === undefined) {
      if (this.strings.size >= MAX_CACHED_STRINGS) this.strings.clear();
      bytes = Buffer.from(String(text), 'utf8');
      this.strings.set(text, bytes);
    }
    return bytes;
  }

  private writeText(out: Buffer, at: number, text: string | null): number {
    if (text === null || text === undefined) return out.writeInt32BE(-1, at);
    const bytes = this.utf8(text);
    at = out.writeInt32BE(bytes.length, at);
    return at + bytes.copy(out, at);
  }
}

const EMPTY = Buffer.alloc(0);

/** A double field; see the class comment for NaN and -0. */
function writeFloat(out: Buffer, at: number, value: number | null): number {
  if (value === null || value === undefined || Number.isNaN(value)) return out.writeInt32BE(-1, at);
  at = out.writeInt32BE(8, at);
  return out.writeDoubleBE(value + 0, at);
}

/** An int8 field from a safe integer, as two 32-bit halves (no BigInt per row). */
function writeInt64(out: Buffer, at: number, value: number): number {
  const high = Math.floor(value / TWO_32);
  at = out.writeInt32BE(8, at);
  at = out.writeInt32BE(high, at);
  return out.writeUInt32BE(value - high * TWO_32, at);
}

/**
 * Refuses what SQLite's STRICT INTEGER columns refuse (a fractional ts or trade count), instead
 * of storing it rounded. Bars reach the store validated, so this is a guard, not a filter.
 */
function wholeNumber(value: number, column: string, bar: Bar): number {
  if (Number.isSafeInteger(value)) return value;
  throw new StoreError(
    'MDP_STORE_WRITE',
    'postgres',
    `bar ${bar.provider}/${bar.symbol}/${bar.interval} has ${column} ${value}, which is not a ` +
      'whole number; the batch was not written.',
  );
}
