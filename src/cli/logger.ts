import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { SecretRedactor } from '../core/redact.js';

/** How log lines are written beyond their level and secrets. */
export interface LoggerOptions {
  /** `--verbose`: errors in log lines keep their stack (and their causes' stacks). */
  readonly verbose?: boolean;
}

/**
 * An error in a log line (`err`) as its type, code, message and fields, without the stack: a
 * warning repeated at every heartbeat or bar close would otherwise carry a dozen lines of frames
 * each time. `--verbose` keeps them.
 */
function errorWithoutStack(value: unknown): unknown {
  const serialized = pino.stdSerializers.err(value as Error) as unknown;
  if (serialized === null || typeof serialized !== 'object' || !('stack' in serialized)) {
    return serialized;
  }
  const { stack: _stack, ...rest } = serialized as Record<string, unknown>;
  return rest;
}

/**
 * pino JSON lines on stderr (pretty on a TTY), times in ISO-8601, with every line passed through
 * the config's redactor so no secret reaches a log, whatever field it hides in.
 */
export function createLogger(
  level: string,
  redactor?: SecretRedactor,
  options: LoggerOptions = {},
): Logger {
  const settings: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: options.verbose ? pino.stdSerializers.err : errorWithoutStack },
    hooks: redactor ? { streamWrite: (line) => redactor.redact(line) } : {},
  };
  if (process.stderr.isTTY) {
    return pino(
      settings,
      pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }),
    );
  }
  return pino(settings, pino.destination({ dest: 2, sync: true }));
}
