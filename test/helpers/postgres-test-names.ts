import { createHash, randomBytes } from 'node:crypto';

/** Every schema and database a test creates starts with this, so a shared server can be swept. */
export const TEST_NAME_PREFIX = 'mdp_test_';

/** A new name for a schema or database no other test (or worker) uses. */
export function uniqueTestName(): string {
  return `${TEST_NAME_PREFIX}${randomBytes(8).toString('hex')}`;
}

/** The schema of a test's temp directory: the config writer and the inspectors agree on it. */
export function schemaForDir(dir: string): string {
  return `${TEST_NAME_PREFIX}${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;
}
