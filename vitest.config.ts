import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway PostgreSQL for the run (or MDP_TEST_PG_URL), for the PostgreSQL store tests.
    globalSetup: ['test/setup/postgres.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // At least two files at once, also on a 2-core machine (vitest's default there is one): most
    // of the suite's time is spent waiting on child processes, servers, ticks and heartbeats, not
    // on the CPU. Measured on this 2-core host with other work on it (load 7-8): the whole suite in
    // 19.5 min with 2 workers, where CI's quiet run with 1 took 17 min.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
