import type { Bar } from '../../core/bar.js';
import type { CsvProviderConfig } from '../../core/config/config-schema.js';
import { PermanentProviderError } from '../../core/errors.js';
import type { Interval } from '../../core/interval.js';
import { SERIES_START, type SeriesPosition } from '../time/series-order.js';
import { CsvTimestampParser } from './csv-timestamp-parser.js';
import { parseDecimal } from './parse-decimal.js';

/** A column as the config names it: a header name or a 0-based position. */
type ColumnRef = string | number;

const VALUE_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;
const QUOTE = '"';
const SPACE = 32;
const TAB = 9;
/** Fields a row may have before the bounds array grows. */
const INITIAL_FIELDS = 64;

/**
 * Reads rows of one CSV layout: the configured columns resolved against a file's header (or taken
 * as positions without one), the timestamp format and zone. One row is loaded at a time and its
 * cells are read in place, so a row costs its line string and, in the window, its bar: nothing
 * else is allocated (quoted rows, rare in bar files, are split into an array). Failures are values
 * (NaN, an error string), not exceptions: a file of millions of rows may hold many bad ones.
 */
export class CsvRowParser {
  readonly timestamps: CsvTimestampParser;
  private readonly delimiter: string;
  private readonly tsIndex: number;
  private readonly symbolIndex: number | undefined;
  private readonly valueIndexes: readonly number[];
  private readonly vwapIndex: number | undefined;
  private readonly tradeCountIndex: number | undefined;
  /** Fields a row needs so that every configured column is present. */
  private readonly minFields: number;

  private text = '';
  /** Start and end of each field of the loaded row in `text`. */
  private bounds = new Int32Array(2 * INITIAL_FIELDS);
  private fields = 0;
  /** The loaded row's fields when it has quotes. */
  private quoted: string[] | undefined;

  /**
   * Resolves the configured columns; `header` is the file's header row split into fields (or
   * undefined without one). Throws a PermanentProviderError naming a column the header lacks.
   */
  constructor(
    private readonly config: CsvProviderConfig,
    header: readonly string[] | undefined,
    where: { readonly provider: string; readonly file: string },
  ) {
    this.timestamps = new CsvTimestampParser(config.timestamp.format, config.timestamp.time_zone);
    this.delimiter = config.delimiter;
    const names = (header ?? []).map((name) => name.trim());
    const resolve = (ref: ColumnRef, key: string): number => {
      if (typeof ref === 'number') return ref;
      let index = names.indexOf(ref);
      if (index === -1) index = names.findIndex((name) => name.toLowerCase() === ref.toLowerCase());
      if (index === -1) {
        throw new PermanentProviderError(
          where.provider,
          `${where.file}: no column "${ref}" (${key}) in the header [${names.join(', ')}]; set columns.${key} (or symbol_column) to one of them`,
        );
      }
      return index;
    };
    const { columns } = config;
    this.tsIndex = resolve(columns.ts, 'ts');
    this.symbolIndex =
      config.symbol_column === undefined
        ? undefined
        : resolve(config.symbol_column, 'symbol_column');
    this.valueIndexes = VALUE_COLUMNS.map((key) => resolve(columns[key], key));
    this.vwapIndex = columns.vwap === undefined ? undefined : resolve(columns.vwap, 'vwap');
    this.tradeCountIndex =
      columns.trade_count === undefined ? undefined : resolve(columns.trade_count, 'trade_count');
    const all = [this.tsIndex, ...this.valueIndexes];
    for (const index of [this.symbolIndex, this.vwapIndex, this.tradeCountIndex]) {
      if (index !== undefined) all.push(index);
    }
    this.minFields = Math.max(...all) + 1;
  }

  /** Makes `text` the current row. */
  load(text: string): void {
    this.text = text;
    if (text.includes(QUOTE)) {
      this.quoted = splitQuoted(text, this.delimiter);
      this.fields = this.quoted.length;
      return;
    }
    this.quoted = undefined;
    let count = 0;
    let from = 0;
    for (;;) {
      const at = text.indexOf(this.delimiter, from);
      const to = at === -1 ? text.length : at;
      if (2 * count + 2 > this.bounds.length) {
        const grown = new Int32Array(this.bounds.length * 2);
        grown.set(this.bounds);
        this.bounds = grown;
      }
      this.bounds[2 * count] = from;
      this.bounds[2 * count + 1] = to;
      count++;
      if (at === -1) break;
      from = at + 1;
    }
    this.fields = count;
  }

  /** The current row's symbol, or undefined when the symbol column is empty or missing. */
  symbol(): string | undefined {
    if (this.symbolIndex === undefined) return undefined;
    const cell = this.cell(this.symbolIndex)?.trim();
    return cell ? cell : undefined;
  }

  /**
   * The current row's open time in epoch ms, or NaN; `position` is where the symbol's rows stand
   * before it (their row before and direction), for a naive time repeated when clocks go back.
   */
  ts(position: SeriesPosition = SERIES_START): number {
    const index = this.tsIndex;
    if (index >= this.fields) return Number.NaN;
    if (this.quoted) {
      const cell = this.quoted[index] as string;
      return this.timestamps.parse(cell, 0, cell.length, position);
    }
    return this.timestamps.parse(
      this.text,
      this.bounds[2 * index],
      this.bounds[2 * index + 1],
      position,
    );
  }

  /** Why ts() gave NaN, naming the field. */
  tsError(): string {
    const cell = this.cell(this.tsIndex);
    if (cell === undefined) return this.shortRow();
    return `ts: ${JSON.stringify(cell)} is not ${this.timestamps.expected}`;
  }

  /**
   * The current row as a bar opening at `ts`, or what is wrong with its prices and volume; vwap and
   * trade count are null when not configured or empty.
   */
  bar(provider: string, symbol: string, interval: Interval, ts: number): Bar | string {
    if (this.fields < this.minFields) return this.shortRow();
    const indexes = this.valueIndexes;
    const open = this.number(indexes[0] as number);
    const high = this.number(indexes[1] as number);
    const low = this.number(indexes[2] as number);
    const close = this.number(indexes[3] as number);
    const volume = this.number(indexes[4] as number);
    if (Number.isNaN(open + high + low + close + volume)) {
      const values = [open, high, low, close, volume];
      const bad = values.findIndex((value) => Number.isNaN(value));
      const index = indexes[bad] as number;
      return `${VALUE_COLUMNS[bad] as string}: ${JSON.stringify(this.cell(index))} is not a number`;
    }
    const vwap = this.optional(this.vwapIndex);
    if (Number.isNaN(vwap)) return this.notNumber('vwap', this.vwapIndex as number);
    const tradeCount = this.optional(this.tradeCountIndex);
    if (Number.isNaN(tradeCount))
      return this.notNumber('trade_count', this.tradeCountIndex as number);
    return { provider, symbol, interval, ts, open, high, low, close, volume, vwap, tradeCount };
  }

  /** A cell of the current row as text, or undefined past its last field. */
  private cell(index: number): string | undefined {
    if (index >= this.fields) return undefined;
    if (this.quoted) return this.quoted[index];
    return this.text.slice(this.bounds[2 * index], this.bounds[2 * index + 1]);
  }

  /** A number cell read in place; NaN when empty or not a number. */
  private number(index: number): number {
    if (this.quoted) {
      const cell = (this.quoted[index] as string).trim();
      return parseDecimal(cell, 0, cell.length);
    }
    let start = this.bounds[2 * index] as number;
    let end = this.bounds[2 * index + 1] as number;
    const text = this.text;
    while (start < end && isBlank(text.charCodeAt(start))) start++;
    while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
    return parseDecimal(text, start, end);
  }

  /** null for an unconfigured or empty cell, NaN for one that is not a number. */
  private optional(index: number | undefined): number | null {
    if (index === undefined || index >= this.fields) return null;
    const cell = this.cell(index) as string;
    if (cell.trim() === '') return null;
    return this.number(index);
  }

  private notNumber(key: string, index: number): string {
    return `${key}: ${JSON.stringify(this.cell(index))} is not a number`;
  }

  private shortRow(): string {
    return `the row has ${this.fields} field${this.fields === 1 ? '' : 's'}, the configured columns need ${this.minFields} (delimiter ${JSON.stringify(this.delimiter)})`;
  }
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}

/** RFC 4180 fields of one line: `"a,b"` is one field, `""` inside quotes is a quote. */
export function splitQuoted(line: string, delimiter: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] as string;
    if (quoted) {
      if (char === QUOTE) {
        if (line[i + 1] === QUOTE) {
          field += QUOTE;
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += char;
      }
    } else if (char === QUOTE) {
      quoted = true;
    } else if (char === delimiter) {
      fields.push(field);
      field = '';
    } else {
      field += char;
    }
  }
  fields.push(field);
  return fields;
}
