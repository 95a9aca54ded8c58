import { stat } from 'node:fs/promises';
import type { Bar } from '../../core/bar.js';
import type { CsvProviderConfig } from '../../core/config/config-schema.js';
import { PermanentProviderError } from '../../core/errors.js';
import type { FetchRequest, FetchResult, Provider, UnparsedRow } from '../../core/provider.js';
import { CsvFile, type CsvFileRef } from './csv-file.js';
import { findCsvFiles } from './find-csv-files.js';

/** An opened (indexed) file, valid while the file keeps its size and modification time. */
interface OpenedFile {
  readonly version: string;
  readonly file: Promise<CsvFile>;
}

/**
 * Bars from CSV files: one symbol per file (named by the file name) or a symbol column; the
 * columns, timestamp format and zone, header, delimiter and gzip as configured. Files are streamed,
 * never loaded whole: each is read once to index it, then each request reads only the part around
 * its window (see CsvFile). Rows that cannot be read come back as `unparsed`, with file and line.
 */
export class CsvProvider implements Provider {
  readonly maxBarsPerRequest: number;
  private readonly opened = new Map<string, OpenedFile>();

  constructor(
    readonly name: string,
    private readonly config: CsvProviderConfig,
  ) {
    this.maxBarsPerRequest = config.max_bars_per_request;
  }

  async fetchBars(request: FetchRequest, signal: AbortSignal): Promise<FetchResult> {
    const refs = await findCsvFiles(this.config, this.name, request.symbol);
    if (refs.length === 0 && this.config.symbol_column === undefined) {
      throw new PermanentProviderError(
        this.name,
        `unknown symbol ${request.symbol}: no file under ${this.config.path} is named for it (file_pattern ${this.config.file_pattern})`,
      );
    }
    let bars: Bar[] = [];
    const unparsed: UnparsedRow[] = [];
    let files = 0;
    for (const ref of refs) {
      const file = await this.open(ref, signal);
      const rows = await file.read(request, signal);
      if (rows.bars.length > 0) {
        files += 1;
        bars = bars.length === 0 ? rows.bars : bars.concat(rows.bars);
      }
      unparsed.push(...rows.unparsed);
    }
    // Several files of one symbol (one per year, say) may interleave; sort is stable.
    if (files > 1) bars.sort((a, b) => a.ts - b.ts);
    return { bars, unparsed, complete: true };
  }

  /**
   * The file, indexed once per version. Concurrent requests share one indexing read; a failed or
   * aborted one is forgotten, so the next request starts it again.
   */
  private async open(ref: CsvFileRef, signal: AbortSignal): Promise<CsvFile> {
    const info = await stat(ref.path);
    const version = `${info.size}:${info.mtimeMs}`;
    const known = this.opened.get(ref.path);
    if (known?.version === version) return known.file;
    const file = CsvFile.open(ref, this.config, this.name, signal);
    const entry = { version, file };
    this.opened.set(ref.path, entry);
    file.catch(() => {
      if (this.opened.get(ref.path) === entry) this.opened.delete(ref.path);
    });
    return file;
  }
}

/** Builds a CSV provider from its config entry, for the provider registry. */
export function createCsvProvider(name: string, config: CsvProviderConfig): CsvProvider {
  return new CsvProvider(name, config);
}
