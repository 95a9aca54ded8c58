/**
 * Vitest global setup: one PostgreSQL server for the whole run, so the store conformance suite and
 * the CLI tests run against a real PostgreSQL on a machine with none installed. MDP_TEST_PG_URL
 * names an existing server instead (a superuser's URL: tests create schemas and databases).
 * Tests reach it with `inject('pgUrl')` and isolate themselves in their own schema.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../helpers/embedded-postgres.js';
import { TEST_NAME_PREFIX } from '../helpers/postgres-test-names.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgresql://…` of the test server. */
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.MDP_TEST_PG_URL;
  if (external) {
    project.provide('pgUrl', external);
    return () => dropTestObjects(external);
  }
  const server = await startEmbeddedPostgres({ durable: false });
  project.provide('pgUrl', server.url);
  return () => server.stop();
}

/** On a server that outlives the run, removes every schema and database the tests created. */
async function dropTestObjects(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const pattern = `${TEST_NAME_PREFIX}%`;
    const schemas = await client.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1',
      [pattern],
    );
    for (const { name } of schemas.rows) {
      await client.query(`DROP SCHEMA ${pg.escapeIdentifier(name)} CASCADE`);
    }
    const databases = await client.query<{ name: string }>(
      'SELECT datname AS name FROM pg_database WHERE datname LIKE $1',
      [pattern],
    );
    for (const { name } of databases.rows) {
      await client.query(`DROP DATABASE ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}
