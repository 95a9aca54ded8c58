import type { Bar } from '../../core/bar.js';
import type { CsvProviderConfig } from '../../core/config/config-schema.js';
import { PermanentProviderError } from '../../core/errors.js';
import type { FetchRequest, UnparsedRow } from '../../core/provider.js';
import { SERIES_START, SeriesOrder, type SeriesPosition } from '../time/series-order.js';
import { readLines } from './csv-line-reader.js';
import { CsvRowParser, splitQuoted } from './csv-row-parser.js';

/** One file of a CSV provider: where it is, and whose bars it holds. */
export interface CsvFileRef {
  readonly path: string;
  readonly gzip: boolean;
  /** The symbol named by the file name, or undefined when a column holds the symbols. */
  readonly symbol: string | undefined;
}

/** A place to start reading a symbol's rows: every row of it before here opened before `maxTsBefore`. */
interface SeekPoint {
  readonly offset: number;
  readonly line: number;
  readonly maxTsBefore: number;
  /**
   * Where the symbol's readable rows stood before here (the last one's time, which way they last
   * moved): a naive time repeated when clocks go back is read by them, so a read starting here
   * resolves it as a read from the top.
   */
  readonly position: SeriesPosition;
}

/** Where one symbol's rows lie in a file, learnt by reading the file once. */
interface SymbolSpan {
  readonly firstOffset: number;
  readonly firstLine: number;
  /** Byte offset just past the symbol's last row. */
  end: number;
  rows: number;
  /** Rows whose time could be read. */
  timedRows: number;
  minTs: number;
  maxTs: number;
  /** The readable rows so far: the last one's time and direction. */
  readonly order: SeriesOrder;
  /** Times never go down: reading may stop at the first row at or after the window's end. */
  sorted: boolean;
  readonly points: SeekPoint[];
  lastPointOffset: number;
  /** The first row whose time could not be read, for when no row's could. */
  firstError: { readonly line: number; readonly error: string } | undefined;
}

/** What one read of a file found for a request. */
export interface CsvFileRows {
  readonly bars: Bar[];
  readonly unparsed: UnparsedRow[];
}

/**
 * Called per data row, right after the parser loaded it, with its symbol (after attribution) and
 * its time (NaN when unreadable).
 */
type RowVisitor = (
  text: string,
  symbol: string,
  ts: number,
  offset: number,
  end: number,
  line: number,
) => boolean;

/** Seek points at least this far apart: a read starts at most this many bytes before its window. */
const SEEK_SPACING = 1 << 20;
const BOM = '\uFEFF';

/**
 * A CSV file read as bars. Opening it reads it once, in bounded memory, to learn the header and,
 * per symbol, where its rows lie, whether their times ascend and a seek point every megabyte; a
 * request then reads only from just before its window and, when times ascend, stops at the
 * window's end. So backfill chunks, which ask for one window at a time, cost about one read of the
 * file in all rather than one each. (A gzip stream cannot seek: it is decompressed from the start
 * each time, and the points only save parsing.)
 *
 * A row that cannot be read is reported once, by the request whose window holds its time: its own
 * time when that can be read, else the time of the symbol's row before it (or, at the start, the
 * row after it). A row without a symbol belongs to the symbol of the row before it.
 */
export class CsvFile {
  private constructor(
    readonly ref: CsvFileRef,
    private readonly provider: string,
    private readonly config: CsvProviderConfig,
    private readonly parser: CsvRowParser,
    private readonly dataLine: number,
    private readonly dataOffset: number,
    private readonly spans: Map<string, SymbolSpan>,
  ) {}

  /** Reads the file once to index it; throws a PermanentProviderError for a header it cannot use. */
  static async open(
    ref: CsvFileRef,
    config: CsvProviderConfig,
    provider: string,
    signal: AbortSignal,
  ): Promise<CsvFile> {
    let parser: CsvRowParser | undefined;
    let dataLine = 1;
    let dataOffset = 0;
    if (config.header) {
      await readLines(
        { path: ref.path, gzip: ref.gzip, offset: 0, line: 1, signal },
        (text, _offset, end, line) => {
          const clean = line === 1 ? text.replace(BOM, '') : text;
          if (clean.trim() === '') return true;
          parser = new CsvRowParser(config, splitQuoted(clean, config.delimiter), {
            provider,
            file: ref.path,
          });
          dataLine = line + 1;
          dataOffset = end;
          return false;
        },
      );
    }
    const spans = new Map<string, SymbolSpan>();
    // A file with a header expected and no line at all is empty, not misconfigured.
    if (config.header && parser === undefined)
      return new CsvFile(
        ref,
        provider,
        config,
        emptyFileParser(config, provider, ref),
        1,
        0,
        spans,
      );
    parser ??= new CsvRowParser(config, undefined, { provider, file: ref.path });
    const file = new CsvFile(ref, provider, config, parser, dataLine, dataOffset, spans);
    await file.scan(
      { offset: dataOffset, line: dataLine },
      signal,
      (_text, symbol, ts, offset, end, line) => {
        let span = spans.get(symbol);
        if (span === undefined) {
          span = newSpan(offset, line);
          spans.set(symbol, span);
        }
        span.rows += 1;
        span.end = end;
        if (Number.isNaN(ts)) {
          span.firstError ??= { line, error: (parser as CsvRowParser).tsError() };
          return true;
        }
        if (span.timedRows > 0 && offset - span.lastPointOffset >= SEEK_SPACING) {
          span.points.push({
            offset,
            line,
            maxTsBefore: span.maxTs,
            position: span.order.position(),
          });
          span.lastPointOffset = offset;
        }
        if (ts < span.order.previous) span.sorted = false;
        span.order.advance(ts);
        if (ts < span.minTs) span.minTs = ts;
        if (ts > span.maxTs) span.maxTs = ts;
        span.timedRows += 1;
        return true;
      },
    );
    return file;
  }

  /** The bars of the request's symbol opening in `[start, end)`, and the rows it could not read. */
  async read(request: FetchRequest, signal: AbortSignal): Promise<CsvFileRows> {
    const { symbol, interval, start, end } = request;
    const bars: Bar[] = [];
    const unparsed: UnparsedRow[] = [];
    const span = this.spans.get(symbol);
    if (span === undefined) return { bars, unparsed };
    if (span.timedRows === 0) {
      const first = span.firstError;
      throw new PermanentProviderError(
        this.provider,
        `${this.ref.path}: none of the ${span.rows} rows of ${symbol} has a readable time` +
          (first ? `; line ${first.line}: ${first.error}` : '') +
          ' (check columns.ts and timestamp.format)',
      );
    }
    if (span.maxTs < start || span.minTs >= end) return { bars, unparsed };

    const from = this.seekPoint(span, start);
    const parser = this.parser;
    const inWindow = (ts: number): boolean => ts >= start && ts < end;
    const unreadable = (
      text: string,
      line: number,
      error: string,
      ts: number | undefined,
    ): void => {
      unparsed.push({
        source: `${this.ref.path}:${line}`,
        text,
        error,
        ...(ts === undefined ? {} : { ts }),
      });
    };
    // Rows with no readable time before the symbol's first readable one take that one's time.
    let pending: { text: string; line: number }[] = [];
    let previousTs: number | undefined;
    const startSymbol = from.offset === this.dataOffset ? undefined : symbol;
    await this.scan(
      { offset: from.offset, line: from.line, symbol: startSymbol, position: from.position },
      signal,
      (text, rowSymbol, ts, offset, _end, line) => {
        if (offset >= span.end) return false;
        if (rowSymbol !== symbol) return true;
        if (Number.isNaN(ts)) {
          if (previousTs === undefined) pending.push({ text, line });
          else if (inWindow(previousTs)) unreadable(text, line, parser.tsError(), previousTs);
          return true;
        }
        if (pending.length > 0) {
          if (inWindow(ts)) {
            for (const row of pending) {
              parser.load(row.text);
              unreadable(row.text, row.line, parser.tsError(), ts);
            }
            parser.load(text);
          }
          pending = [];
        }
        previousTs = ts;
        if (!inWindow(ts)) return !(span.sorted && ts >= end);
        const bar = parser.bar(this.provider, symbol, interval, ts);
        if (typeof bar === 'string') unreadable(text, line, bar, ts);
        else bars.push(bar);
        return true;
      },
    );
    return { bars, unparsed };
  }

  /** The last seek point whose earlier rows all open before `start`, else the symbol's first row. */
  private seekPoint(
    span: SymbolSpan,
    start: number,
  ): Pick<SeekPoint, 'offset' | 'line' | 'position'> {
    const points = span.points;
    let low = 0;
    let high = points.length; // maxTsBefore ascends along the file: binary search
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((points[middle] as SeekPoint).maxTsBefore < start) low = middle + 1;
      else high = middle;
    }
    const point = points[low - 1];
    return (
      point ?? {
        offset: span.firstOffset,
        line: span.firstLine,
        position: SERIES_START,
      }
    );
  }

  /**
   * Visits the data rows from a byte offset (a line number for gzip), skipping blank lines, with
   * each row's symbol: the file's, the symbol column's, or for a row without one the previous
   * row's (`from.symbol` when starting mid-file); rows without one at the start of the data wait
   * for the first row that has one. Each row's time is read where the symbol's rows before it
   * stand (`from.position` for `from.symbol` when starting mid-file), so the order of the rows
   * tells apart a naive time repeated when clocks go back, wherever the read starts.
   */
  private async scan(
    from: { offset: number; line: number; symbol?: string; position?: SeriesPosition },
    signal: AbortSignal,
    visit: RowVisitor,
  ): Promise<void> {
    const { offset, line } = from;
    const parser = this.parser;
    const fixed = this.ref.symbol;
    let lastSymbol = from.symbol;
    const orders = new Map<string, SeriesOrder>();
    if (from.symbol !== undefined && from.position !== undefined) {
      orders.set(from.symbol, new SeriesOrder(from.position));
    }
    const tsOf = (symbol: string): number => {
      let order = orders.get(symbol);
      if (order === undefined) {
        order = new SeriesOrder();
        orders.set(symbol, order);
      }
      const ts = parser.ts(order);
      if (!Number.isNaN(ts)) order.advance(ts);
      return ts;
    };
    let waiting: { text: string; offset: number; end: number; line: number }[] = [];
    let stopped = false;
    await readLines(
      { path: this.ref.path, gzip: this.ref.gzip, offset, line, signal },
      (raw, at, end, number) => {
        // A gzip read starts at the top: skip to the line asked for without parsing.
        if (number < line || number < this.dataLine) return true;
        const text = number === 1 ? raw.replace(BOM, '') : raw;
        if (isBlankLine(text)) return true;
        parser.load(text);
        let symbol = fixed ?? parser.symbol();
        if (symbol === undefined) {
          if (lastSymbol === undefined) {
            waiting.push({ text, offset: at, end, line: number });
            return true;
          }
          symbol = lastSymbol;
        } else if (lastSymbol === undefined && waiting.length > 0) {
          for (const row of waiting) {
            parser.load(row.text);
            if (!visit(row.text, symbol, tsOf(symbol), row.offset, row.end, row.line)) {
              stopped = true;
              return false;
            }
          }
          waiting = [];
          parser.load(text);
        }
        lastSymbol = symbol;
        if (!visit(text, symbol, tsOf(symbol), at, end, number)) {
          stopped = true;
          return false;
        }
        return true;
      },
    );
    if (!stopped && waiting.length > 0) {
      const first = (waiting[0] as { line: number }).line;
      throw new PermanentProviderError(
        this.provider,
        `${this.ref.path}: no row from line ${first} on has a symbol in symbol_column ${JSON.stringify(this.config.symbol_column)}; fill the column or point symbol_column at the right one`,
      );
    }
  }
}

/** A parser for a file without rows: every column read by position, never used. */
function emptyFileParser(
  config: CsvProviderConfig,
  provider: string,
  ref: CsvFileRef,
): CsvRowParser {
  return new CsvRowParser(
    {
      ...config,
      symbol_column: undefined,
      columns: { ts: 0, open: 0, high: 0, low: 0, close: 0, volume: 0 },
    },
    undefined,
    { provider, file: ref.path },
  );
}

function newSpan(offset: number, line: number): SymbolSpan {
  return {
    firstOffset: offset,
    firstLine: line,
    end: offset,
    rows: 0,
    timedRows: 0,
    minTs: Number.POSITIVE_INFINITY,
    maxTs: Number.NEGATIVE_INFINITY,
    order: new SeriesOrder(),
    sorted: true,
    points: [],
    lastPointOffset: offset,
    firstError: undefined,
  };
}

/** True for a line of blanks only: it is skipped, not a row. */
function isBlankLine(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 32 && code !== 9) return false;
  }
  return true;
}
