import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Where to read lines from. */
export interface LineSource {
  readonly path: string;
  readonly gzip: boolean;
  /** Byte offset of the first line to read; a gzip stream cannot seek, so it always starts at 0. */
  readonly offset: number;
  /** The 1-based number of the line at `offset`. */
  readonly line: number;
  readonly signal: AbortSignal;
}

/**
 * Called once per line, without its line break. `offset` and `end` are the byte offsets of the
 * line's start and of the next line's start (in the decompressed stream for gzip). Returning
 * false stops the reading.
 */
export type LineHandler = (text: string, offset: number, end: number, line: number) => boolean;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** Large reads keep the per-chunk overhead small; memory stays at one chunk and one partial line. */
const CHUNK_BYTES = 1 << 20;

/**
 * Streams a file line by line, never holding more than a chunk and one partial line: a file of any
 * size is read in bounded memory. Lines are split on `\n` at the byte level (so offsets are exact
 * for seeking) and a trailing `\r` is dropped. Rejects with the signal's reason when aborted.
 */
export async function readLines(source: LineSource, onLine: LineHandler): Promise<void> {
  const { signal } = source;
  signal.throwIfAborted();
  const file = createReadStream(source.path, {
    start: source.gzip ? 0 : source.offset,
    highWaterMark: CHUNK_BYTES,
  });
  let stream: Readable = file;
  if (source.gzip) {
    const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
    file.on('error', (error) => gunzip.destroy(error));
    stream = file.pipe(gunzip);
  }
  let offset = source.gzip ? 0 : source.offset;
  let line = source.gzip ? 1 : source.line;
  let partial: Buffer | undefined;
  const emit = (bytes: Buffer, from: number, to: number, nextOffset: number): boolean => {
    const stop = to > from && bytes[to - 1] === CARRIAGE_RETURN ? to - 1 : to;
    const keepGoing = onLine(bytes.toString('utf8', from, stop), offset, nextOffset, line);
    offset = nextOffset;
    line += 1;
    return keepGoing;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      signal.throwIfAborted();
      let position = 0;
      if (partial !== undefined) {
        const newline = chunk.indexOf(NEWLINE);
        if (newline === -1) {
          partial = Buffer.concat([partial, chunk]);
          continue;
        }
        const joined = Buffer.concat([partial, chunk.subarray(0, newline)]);
        partial = undefined;
        if (!emit(joined, 0, joined.length, offset + joined.length + 1)) return;
        position = newline + 1;
      }
      for (;;) {
        const newline = chunk.indexOf(NEWLINE, position);
        if (newline === -1) break;
        if (!emit(chunk, position, newline, offset + newline - position + 1)) return;
        position = newline + 1;
      }
      if (position < chunk.length) partial = Buffer.from(chunk.subarray(position));
    }
    signal.throwIfAborted();
    if (partial !== undefined && partial.length > 0) {
      emit(partial, 0, partial.length, offset + partial.length);
    }
  } finally {
    file.destroy();
    stream.destroy();
  }
}
