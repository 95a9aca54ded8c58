import pg from 'pg';
import { afterAll, inject } from 'vitest';

/** The URL of the run's PostgreSQL server (test/setup/postgres.ts). */
export function testPostgresUrl(): string {
  return inject('pgUrl');
}

/** int8 as number, as the store reads it: counts and ids in assertions are plain numbers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 && format !== 'binary'
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A small pool on the test server (or the one `url` names) for looking at what a store or a child
 * process wrote, opened on first use and closed after the file's tests.
 */
export function useTestPostgresPool(url: () => string = testPostgresUrl): () => pg.Pool {
  let pool: pg.Pool | undefined;
  afterAll(async () => {
    await pool?.end();
    pool = undefined;
  });
  return () => {
    if (pool === undefined) {
      pool = new pg.Pool({ connectionString: url(), max: 3, types });
      // A test that restarts its server drops these idle connections; the pool replaces them.
      pool.on('error', () => {});
    }
    return pool;
  };
}
