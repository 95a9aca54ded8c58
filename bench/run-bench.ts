/**
 * `npm run bench [-- --store sqlite|postgres]`: runs the benchmark of one store (SQLite by
 * default); `npm run bench -- --csv` runs the CSV provider's instead, `-- --alpaca` the
 * multi-symbol request comparison, `-- --budget` the cost of a take from a shared provider budget, `-- --drift` how late paced requests reach a server after their take. Each benchmark is a script
 * that runs when imported; see its header for its options.
 */
const BENCHES = {
  sqlite: './sqlite-pipeline.bench.js',
  postgres: './postgres-pipeline.bench.js',
} as const;

const args = process.argv.slice(2);
if (args.includes('--csv')) {
  await import('./csv-provider.bench.js');
  process.exit(0);
}
if (args.includes('--budget')) {
  await import('./provider-budget.bench.js');
  process.exit(0);
}
if (args.includes('--drift')) {
  await import('./take-to-arrival.bench.js');
  process.exit(0);
}
if (args.includes('--alpaca')) {
  await import('./alpaca-batching.bench.js');
  process.exit(0);
}
const flag = args.indexOf('--store');
const store = flag === -1 ? 'sqlite' : args[flag + 1];
if (store !== 'sqlite' && store !== 'postgres') {
  console.error(`--store must be sqlite or postgres, got ${store ?? 'nothing'}`);
  process.exit(2);
}
await import(BENCHES[store]);
