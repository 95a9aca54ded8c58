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
 * A small pool on the test server for looking at what a store or a child process wrote, opened on
 * first use and closed after the file's tests.
 */
export function useTestPostgresPool(): () => pg.Pool {
  let pool: pg.Pool | undefined;
  afterAll(async () => {
    await pool?.end();
    pool = undefined;
  });
  return () => {
    pool ??= new pg.Pool({ connectionString: testPostgresUrl(), max: 3, types });
    return pool;
  };
}
