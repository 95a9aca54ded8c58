import { StoreError } from '../core/errors.js';

/** What every backend's migration has, whatever form its SQL takes. */
export interface NumberedMigration {
  /** Applied in increasing order; recorded in `mdp_migrations`. */
  readonly id: number;
  readonly name: string;
}

/** What a migrate call found and did. */
export interface MigrationOutcome {
  /** Ids applied by this call (empty when the database was already current). */
  readonly applied: number[];
  /** The highest id recorded in the database, which may exceed the newest known one. */
  readonly latest: number;
}

/** The highest id of a migration list, 0 for none: the schema version this mdp knows. */
export function newestMigrationId(migrations: readonly NumberedMigration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.id), 0);
}

/** The migrations oldest first, as they must apply, whatever order the list is written in. */
export function inIdOrder<M extends NumberedMigration>(migrations: readonly M[]): M[] {
  return [...migrations].sort((a, b) => a.id - b.id);
}

/**
 * Throws MDP_STORE_SCHEMA_NEWER when a newer mdp has migrated the database past what
 * `migrations` know: this one could misread tables it does not know. `elsewhere` is the
 * backend's way to start over, e.g. `point storage.primary.uri at another file`.
 */
export function refuseNewerSchema(
  storage: 'sqlite' | 'postgres',
  target: string,
  latest: number,
  migrations: readonly NumberedMigration[],
  elsewhere: string,
): void {
  const known = newestMigrationId(migrations);
  if (latest <= known) return;
  throw new StoreError(
    'MDP_STORE_SCHEMA_NEWER',
    storage,
    `${target} has schema version ${latest}, newer than this mdp knows (${known}). ` +
      `Upgrade mdp, or ${elsewhere}.`,
  );
}
