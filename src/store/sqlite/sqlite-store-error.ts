import { MdpError, StoreError } from '../../core/errors.js';

/** The `storage` label of every error this backend raises. */
const STORAGE = 'sqlite';

/** What the store was doing when SQLite failed; goes into the message. */
export type SqliteAction = 'open' | 'read' | 'write';

/** Node's and SQLite's error codes, e.g. `EACCES`, `SQLITE_READONLY_DBMOVED`. */
function codeOf(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns whatever better-sqlite3 or the file system threw into a StoreError that names the file
 * and the fix. MdpErrors (already explained) pass through unchanged.
 */
export function sqliteStoreError(error: unknown, file: string, action: SqliteAction): MdpError {
  if (error instanceof MdpError) return error;
  const code = codeOf(error);
  const detail = `${messageOf(error)}${code ? ` (${code})` : ''}`;
  const options = { cause: error };
  const base = code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1');

  switch (base) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return new StoreError(
        'MDP_STORE_CORRUPT',
        STORAGE,
        `${file} is not a usable SQLite database: ${detail}. Point storage.primary.uri at ` +
          'another file, or move this one aside (if it holds data you need, try ' +
          '`sqlite3 FILE .recover`).',
        options,
      );
    case 'SQLITE_READONLY':
      return new StoreError(
        'MDP_STORE_READONLY',
        STORAGE,
        `${file} is read-only: ${detail}. Make the file, its directory and any -wal/-shm ` +
          'files beside it writable by this user, or point storage.primary.uri elsewhere.',
        options,
      );
    case 'SQLITE_FULL':
    case 'ENOSPC':
      return new StoreError(
        'MDP_STORE_FULL',
        STORAGE,
        `the disk holding ${file} is full, or the file reached storage.primary.max_size: ` +
          `${detail}. Free space on that volume (or raise max_size) or point ` +
          'storage.primary.uri at one with room; the failed transaction was rolled back.',
        options,
      );
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StoreError(
        'MDP_STORE_BUSY',
        STORAGE,
        `${file} stayed locked by another connection past the busy timeout: ${detail}. ` +
          'Another process holds a long write transaction; retry when it has finished.',
        { ...options, transient: true },
      );
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
    case 'EACCES':
    case 'EPERM':
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EROFS':
      return new StoreError(
        'MDP_STORE_OPEN',
        STORAGE,
        `cannot open ${file}: ${detail}. Check that the path names a file (not a directory) ` +
          'in a directory this user can create and write, or change storage.primary.uri.',
        options,
      );
    case 'SQLITE_IOERR':
      return new StoreError(
        'MDP_STORE_IO',
        STORAGE,
        `I/O error on ${file}: ${detail}. Check the disk and file system (dmesg), then retry.`,
        { ...options, transient: true },
      );
    default:
      return new StoreError(
        action === 'open'
          ? 'MDP_STORE_OPEN'
          : action === 'read'
            ? 'MDP_STORE_READ'
            : 'MDP_STORE_WRITE',
        STORAGE,
        `${action} failed on ${file}: ${detail}.` +
          (action === 'write' ? ' The transaction was rolled back; nothing of it was kept.' : ''),
        options,
      );
  }
}
