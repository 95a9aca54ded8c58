/**
 * The TimescaleDB path, on a server without TimescaleDB: the statement that creates the
 * hypertable is checked as text, then run for real against a stand-in `create_hypertable` with
 * the extension's own signature, which records the arguments PostgreSQL bound to it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createHypertableStatement } from '../../src/store/postgres/timescale-hypertable.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';

const db = useTestPostgresPool();
const WEEK_MS = 7 * 86_400_000;

/** TimescaleDB 2.x's create_hypertable signature; the body records what it was called with. */
function standInSql(schema: string): string {
  return `
    CREATE SCHEMA "${schema}";
    CREATE TABLE "${schema}".calls (
      relation regclass, time_column name, chunk text, if_not_exists boolean, migrate_data boolean
    );
    CREATE FUNCTION "${schema}".create_hypertable(
      relation regclass,
      time_column_name name,
      partitioning_column name = NULL,
      number_partitions integer = NULL,
      associated_schema_name name = NULL,
      associated_table_prefix name = NULL,
      chunk_time_interval anyelement = NULL::bigint,
      create_default_indexes boolean = true,
      if_not_exists boolean = false,
      partitioning_func regproc = NULL,
      migrate_data boolean = false,
      chunk_target_size text = NULL,
      chunk_sizing_func regproc = NULL,
      time_partitioning_func regproc = NULL
    ) RETURNS TABLE (hypertable_id integer, schema_name name, table_name name, created boolean)
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO "${schema}".calls
      VALUES (relation, time_column_name, chunk_time_interval::text, if_not_exists, migrate_data);
      RETURN QUERY SELECT 1, 'public'::name, 'bars_ohlcv'::name, true;
    END $$;`;
}

const stores: PostgresStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

describe('createHypertableStatement', () => {
  it('calls the extension-qualified create_hypertable with every value as a parameter', () => {
    const statement = createHypertableStatement('"ts_ext"', {
      schema: '"marketdata"',
      chunkIntervalMs: WEEK_MS,
    });
    expect(statement.text).toBe(
      'SELECT "ts_ext".create_hypertable($1::regclass, $2::name, ' +
        "chunk_time_interval => $3::bigint * interval '1 millisecond', if_not_exists => true)",
    );
    expect(statement.values).toEqual(['"marketdata".bars_ohlcv', 'ts', WEEK_MS]);
  });

  it('binds on PostgreSQL to the real signature: the bars table, ts, the chunk interval', async () => {
    const store = new PostgresStore({ uri: testPostgresUrl(), schema: uniqueTestName() });
    stores.push(store);
    await store.open();
    const extension = uniqueTestName();
    await db().query(standInSql(extension));
    const statement = createHypertableStatement(`"${extension}"`, {
      schema: `"${store.schemaName}"`,
      chunkIntervalMs: 36 * 3_600_000,
    });
    const result = await db().query(statement.text, statement.values);
    expect(result.rows).toHaveLength(1);
    const calls = await db().query(
      `SELECT relation::text, time_column::text, chunk, if_not_exists, migrate_data
       FROM "${extension}".calls`,
    );
    expect(calls.rows).toEqual([
      {
        relation: `${store.schemaName}.bars_ohlcv`,
        time_column: 'ts',
        chunk: '36:00:00',
        if_not_exists: true,
        migrate_data: false,
      },
    ]);
  });
});
