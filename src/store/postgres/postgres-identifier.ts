import { StoreError } from '../../core/errors.js';

/** The names config accepts (see storageSchema): what PostgreSQL would leave unchanged unquoted. */
const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A schema name from config as a quoted SQL identifier. Checked again here, not only by the config
 * schema, because a Store can be built by code that never read a config file.
 */
export function quoteIdentifier(name: string, setting: string): string {
  if (!SAFE_IDENTIFIER.test(name)) {
    throw new StoreError(
      'MDP_STORE_CONFIG',
      'postgres',
      `${setting} "${name}" is not a usable name: write 1 to 63 lower-case letters, digits and _, ` +
        'not starting with a digit (e.g. marketdata)',
    );
  }
  return `"${name}"`;
}
