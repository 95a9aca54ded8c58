import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { SecretRedactor } from '../core/redact.js';

/**
 * pino JSON lines on stderr (pretty on a TTY), with every line passed through the config's
 * redactor so no secret reaches a log, whatever field it hides in.
 */
export function createLogger(level: string, redactor?: SecretRedactor): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    hooks: redactor ? { streamWrite: (line) => redactor.redact(line) } : {},
  };
  if (process.stderr.isTTY) {
    return pino(
      options,
      pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }),
    );
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}
