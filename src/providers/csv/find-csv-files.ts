import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CsvProviderConfig } from '../../core/config/config-schema.js';
import { PermanentProviderError } from '../../core/errors.js';
import type { CsvFileRef } from './csv-file.js';

/** What a directory contributes when `path` names one: its CSV files, plain or gzipped. */
const CSV_FILE = /\.csv(\.gz)?$/i;
const WILDCARD = /[*?]/;

/**
 * The files of a CSV provider, sorted by name: every *.csv and *.csv.gz of a directory, the files
 * matching a glob in the last path segment (`*` any run of characters, `?` one), or one file. When
 * the symbol comes from the file name, files whose name does not match `file_pattern` are left out;
 * with `only`, so are files of other symbols. Listed on every call: files may come and go.
 */
export async function findCsvFiles(
  config: CsvProviderConfig,
  provider: string,
  only?: string,
): Promise<CsvFileRef[]> {
  const path = resolve(config.path);
  let paths: string[];
  if (WILDCARD.test(basename(path))) {
    const pattern = globToRegExp(basename(path));
    const names = await list(dirname(path), config, provider);
    paths = names.filter((name) => pattern.test(name)).map((name) => join(dirname(path), name));
  } else {
    const info = await stat(path).catch((error: unknown) => {
      throw missing(config, provider, error);
    });
    paths = info.isDirectory()
      ? (await list(path, config, provider))
          .filter((name) => CSV_FILE.test(name))
          .map((name) => join(path, name))
      : [path];
  }
  const filePattern = new RegExp(config.file_pattern);
  const refs: CsvFileRef[] = [];
  for (const file of paths.sort()) {
    const gzip =
      config.compression === 'gzip' || (config.compression === 'auto' && /\.gz$/i.test(file));
    let symbol: string | undefined;
    if (config.symbol_column === undefined) {
      symbol = filePattern.exec(basename(file))?.groups?.symbol;
      if (!symbol) continue;
      if (only !== undefined && symbol !== only) continue;
    }
    refs.push({ path: file, gzip, symbol });
  }
  return refs;
}

async function list(dir: string, config: CsvProviderConfig, provider: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error: unknown) {
    throw missing(config, provider, error);
  }
}

function missing(
  config: CsvProviderConfig,
  provider: string,
  error: unknown,
): PermanentProviderError {
  const code = (error as { code?: unknown }).code;
  const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code ?? error)})`;
  return new PermanentProviderError(
    provider,
    `path ${config.path} (${resolve(config.path)}) ${reason}: point path at a directory of CSV files, a file, or a glob such as data/*.csv.gz`,
    { cause: error },
  );
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .split('')
    .map((char) =>
      char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`);
}
