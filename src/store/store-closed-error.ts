import { StoreError } from '../core/errors.js';

/** A store used before open() or after close(): a programming error, the same in every backend. */
export function storeClosedError(storage: 'sqlite' | 'postgres', target: string): StoreError {
  return new StoreError(
    'MDP_STORE_CLOSED',
    storage,
    `${target} is not open; call open() before using the store`,
  );
}
