import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { uniqueTestName } from '../helpers/postgres-test-names.js';
import { testPostgresUrl, useTestPostgresPool } from '../helpers/postgres-test-server.js';
import { runCli } from '../helpers/run-cli.js';
import { useTempDir } from '../helpers/temp-dir.js';

const SAMPLE = fileURLToPath(new URL('../../configs/sample.yaml', import.meta.url));
const SAMPLE_TEXT = readFileSync(SAMPLE, 'utf8');
const PASSWORD = 'Sup3r-S3cret-pw';
const PG_URI = `postgresql://mdp:${PASSWORD}@db.internal:5432/marketdata`;

describe('mdp validate', () => {
  const tempDir = useTempDir();

  /** A directory holding `files`; returns its path. */
  function dirWith(files: Record<string, string>): string {
    const dir = tempDir();
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('prints a summary of the resolved sample config and exits 0', async () => {
    const dir = tempDir();
    const result = await runCli(['validate', '--config', SAMPLE], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(`config ok: ${SAMPLE}, profile dev (from file, no overrides)`);
    expect(result.stdout).toContain(
      'providers (1):\n  synthetic_1  synthetic  enabled  pacing 40/min burst 10 cooldown 60s scope store',
    );
    expect(result.stdout).toContain(
      `storage:\n  primary  sqlite  sqlite:${join(dir, 'data', 'marketdata.db')}  batch 1000  upsert keys [provider, symbol, interval, ts]`,
    );
    expect(result.stdout).toContain(
      'datasets (1):\n  synthetic_smoke  synthetic_1  1m  3 symbols: AAA, BBB, CCC',
    );
    expect(result.stdout).toContain(
      'jobs (2):\n  synthetic_live  live  synthetic_smoke  lookback 2h  concurrency 1',
    );
    expect(result.stdout).toContain(
      '  synthetic_backfill  backfill  synthetic_smoke  2024-01-01T00:00:00Z → 2024-01-31T00:00:00Z  concurrency 4',
    );
    expect(result.stdout).toContain('telemetry: log_level info, metrics on 127.0.0.1:9090');
  });

  it('prints a pacing block that sets only the 429 handling, with a max_retry_after other than 15m', async () => {
    const text = SAMPLE_TEXT.replace(
      /pacing:\n( {6}.*\n)+/,
      'pacing: { cooldown_seconds: 5, max_retry_after: 2h }\n',
    );
    expect(text).not.toBe(SAMPLE_TEXT);
    const dir = dirWith({ 'mdp.yaml': text });
    const result = await runCli(['validate', '--config', join(dir, 'mdp.yaml')], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'synthetic_1  synthetic  enabled  pacing no rate cooldown 5s max_retry_after 2h scope store',
    );
  });

  it('prints cooldown_seconds 0 as the 1 s floor the run pauses', async () => {
    const text = SAMPLE_TEXT.replace(
      /pacing:\n( {6}.*\n)+/,
      'pacing: { cooldown_seconds: 0, max_retry_after: 90s }\n',
    );
    const dir = dirWith({ 'mdp.yaml': text });
    const result = await runCli(['validate', '--config', join(dir, 'mdp.yaml')], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'pacing no rate cooldown 1s (cooldown_seconds 0 raised to the floor) max_retry_after 90s scope store',
    );
  });

  it('refuses a max_retry_after under 1s or of hundreds of digits, with its position', async () => {
    const text = SAMPLE_TEXT.replace(
      /pacing:\n( {6}.*\n)+/,
      `pacing: { cooldown_seconds: 0, max_retry_after: ${'9'.repeat(400)}ms }\n`,
    );
    const dir = dirWith({ 'mdp.yaml': text });
    const result = await runCli(['validate', '--config', join(dir, 'mdp.yaml')], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /mdp\.yaml:\d+:\d+ providers\.synthetic_1\.pacing\.max_retry_after: "9{400}ms" is not a duration/,
    );
    expect(result.stderr + result.stdout).not.toContain('Infinity');
  });

  it('sample with --profile prod and MDP_PG_URI set: timescaledb, password masked', async () => {
    const result = await runCli(['validate', '--config', SAMPLE, '--profile', 'prod'], {
      env: { MDP_PG_URI: PG_URI },
    });
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      `config ok: ${SAMPLE}, profile prod (from --profile)`,
    );
    expect(result.stdout).toContain(
      'primary  timescaledb  postgresql://mdp:***@db.internal:5432/marketdata  batch 1000',
    );
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('sample with --profile prod and no MDP_PG_URI: exits 2 naming the variable and its line', async () => {
    const result = await runCli(['validate', '--config', SAMPLE, '--profile', 'prod']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const line =
      SAMPLE_TEXT.split('\n').findLastIndex((text) => text.includes('${MDP_PG_URI}')) + 1;
    expect(result.stderr).toBe(
      `error [MDP_CONFIG_INVALID]: ${SAMPLE}: 1 problem\n` +
        `  ${SAMPLE}:${line}:14 storage.primary.uri: environment variable MDP_PG_URI is not set: export it, or write \${MDP_PG_URI:-default} to give a default\n`,
    );
  });

  it('MDP_PROFILE selects a profile, and --profile wins over it', async () => {
    const env = { MDP_PROFILE: 'staging', MDP_PG_URI: PG_URI };
    const fromEnv = await runCli(['validate', '--config', SAMPLE], { env });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout.split('\n')[0]).toBe(
      `config ok: ${SAMPLE}, profile staging (from MDP_PROFILE)`,
    );
    const fromFlag = await runCli(['validate', '--config', SAMPLE, '--profile', 'dev'], { env });
    expect(fromFlag.stdout.split('\n')[0]).toBe(
      `config ok: ${SAMPLE}, profile dev (from --profile, no overrides)`,
    );
  });

  it('an unknown profile lists the known ones and exits 2', async () => {
    const result = await runCli(['validate', '--config', SAMPLE, '--profile', 'prdo']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error [MDP_CONFIG_INVALID]: ${SAMPLE}: 1 problem\n` +
        `  ${SAMPLE} unknown profile "prdo" (from --profile) (did you mean "prod"?); known profiles: dev, staging, prod; pass one of them to --profile\n`,
    );
  });

  it('--json prints the resolved config with secrets masked and the profile applied', async () => {
    const result = await runCli(['validate', '--config', SAMPLE, '--json'], {
      env: { MDP_PROFILE: 'prod', MDP_PG_URI: PG_URI },
    });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      version: number;
      profile: string;
      storage: { primary: { type: string; uri: string } };
      source: { file: string; profile: string; profileFrom: string };
      jobs: Record<string, { mode: string }>;
    };
    expect(json.version).toBe(2);
    expect(json.profile).toBe('prod');
    expect(json.storage.primary).toMatchObject({
      type: 'timescaledb',
      uri: 'postgresql://mdp:***@db.internal:5432/marketdata',
    });
    expect(json.source).toMatchObject({
      file: SAMPLE,
      profile: 'prod',
      profileFrom: 'MDP_PROFILE',
    });
    expect(json.jobs.synthetic_backfill?.mode).toBe('backfill');
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it.each([PASSWORD, 'p@ss:W0rd-99'])(
    'a password written in the file (%s) is masked in human and --json output',
    async (password) => {
      const text = SAMPLE_TEXT.replace(
        "type: sqlite\n    uri: 'sqlite:data/marketdata.db'",
        `type: postgres\n    uri: 'postgresql://mdp:${password}@db.internal:5432/marketdata'`,
      );
      const dir = dirWith({ 'mdp.yaml': text });
      const json = await runCli(['validate', '--json'], { cwd: dir });
      expect(json.code).toBe(0);
      expect(json.stdout).toContain('"uri": "postgresql://mdp:***@db.internal:5432/marketdata"');
      const human = await runCli(['validate'], { cwd: dir });
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(
        'primary  postgres  postgresql://mdp:***@db.internal:5432/marketdata',
      );
      const output = json.stdout + json.stderr + human.stdout + human.stderr;
      expect(output).not.toContain(password);
      expect(output).not.toContain(password.slice(password.indexOf('@') + 1));
    },
  );

  it('--config defaults to $MDP_CONFIG, then ./mdp.yaml', async () => {
    const dir = dirWith({ 'mdp.yaml': SAMPLE_TEXT, 'other.yaml': SAMPLE_TEXT });
    const local = await runCli(['validate'], { cwd: dir });
    expect(local.code).toBe(0);
    expect(local.stdout.split('\n')[0]).toMatch(
      new RegExp(`^config ok: ${join(dir, 'mdp.yaml')}, `),
    );
    const env = await runCli(['validate'], { cwd: dir, env: { MDP_CONFIG: 'other.yaml' } });
    expect(env.code).toBe(0);
    expect(env.stdout.split('\n')[0]).toMatch(
      new RegExp(`^config ok: ${join(dir, 'other.yaml')}, `),
    );
  });

  it('with no --config, no $MDP_CONFIG and no ./mdp.yaml: says so and how to fix it, exits 2', async () => {
    const dir = tempDir();
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `error [MDP_CONFIG_FILE]: no config file: pass --config FILE, set MDP_CONFIG, or create ./mdp.yaml in ${dir} (configs/sample.yaml is a working example)\n`,
    );
  });

  it('a config file that does not exist: exits 2 naming it', async () => {
    const dir = tempDir();
    const result = await runCli(['validate', '--config', 'nope.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error [MDP_CONFIG_FILE]: config file ${join(dir, 'nope.yaml')} does not exist; check the path, or start from configs/sample.yaml\n`,
    );
  });

  it('a file that is not YAML: exits 2 with positions, no stack trace', async () => {
    const dir = dirWith({ 'mdp.yaml': 'version: 2\nproviders: [\n  {a: 1\n' });
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error \\[MDP_CONFIG_INVALID\\]: ${join(dir, 'mdp.yaml')}: \\d+ problems?\\n {2}${join(dir, 'mdp.yaml')}:\\d+:\\d+ not valid YAML: `,
      ),
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints every error at once, sorted by line, and exits 2; the password never shows', async () => {
    const text = SAMPLE_TEXT.replace('version: 2', 'version: 3')
      .replace(
        "type: sqlite\n    uri: 'sqlite:data/marketdata.db'",
        `type: postgres\n    uri: '${PG_URI}'`,
      )
      .replace('batch_size: 1000', 'batch_size: 0')
      .replace('interval: 1m', 'interval: 3m')
      .replace(
        '    dataset: synthetic_smoke\n    mode: live',
        '    dataset: synthetic_smok\n    mode: live',
      )
      .replace("end: '2024-01-31T00:00:00Z'", "end: '2023-01-31T00:00:00Z'")
      .replace('    seed: 42\n', `    seed: 42\n    api_key: ${PASSWORD}-key\n`);
    const dir = dirWith({ 'bad.yaml': text });
    const file = join(dir, 'bad.yaml');
    const result = await runCli(['validate', '--config', 'bad.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`error [MDP_CONFIG_INVALID]: ${file}: 6 problems`);
    const reported = lines.slice(1).map((line) => {
      const match = /^ {2}(.+):(\d+):(\d+) (\S+): (.+)$/.exec(line);
      expect(match, line).not.toBeNull();
      return { file: match![1], line: Number(match![2]), path: match![4], message: match![5] };
    });
    expect(reported.map(({ line, path }) => [line, path])).toEqual([
      [3, 'version'],
      [11, 'providers.synthetic_1.api_key'],
      [22, 'storage.primary.write.batch_size'],
      [29, 'datasets.synthetic_smoke.interval'],
      [33, 'jobs.synthetic_live.dataset'],
      [49, 'jobs.synthetic_backfill.backfill.end'],
    ]);
    expect(reported.every((issue) => issue.file === file)).toBe(true);
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('a date that does not exist and a repeated symbol: exits 2 naming each with its line and column', async () => {
    const text = SAMPLE_TEXT.replace("end: '2024-01-31T00:00:00Z'", "end: '2024-02-30'").replace(
      'symbols: [AAA, BBB, CCC]',
      'symbols: [AAA, BBB, CCC, BBB]',
    );
    const dir = dirWith({ 'mdp.yaml': text });
    const file = join(dir, 'mdp.yaml');
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    const at = (needle: string): string => {
      const before = text.slice(0, text.indexOf(needle)).split('\n');
      return `${file}:${before.length}:${(before.at(-1) as string).length + 1}`;
    };
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `error [MDP_CONFIG_INVALID]: ${file}: 2 problems`,
      `  ${at('BBB]')} datasets.synthetic_smoke.symbols[3]: "BBB" is listed twice (also at symbols[1]): remove the repeat; it would fetch and count the symbol twice`,
      `  ${at("'2024-02-30'")} jobs.synthetic_backfill.backfill.end: "2024-02-30" is not a date: February 2024 has 29 days`,
    ]);
  });

  it('backfill --from and --to get the same check: a date that does not exist is a usage error naming the flag', async () => {
    const dir = dirWith({ 'mdp.yaml': SAMPLE_TEXT });
    for (const [flag, value] of [
      ['--from', '2024-02-30'],
      ['--to', '2023-02-29T00:00:00Z'],
    ] as const) {
      const result = await runCli(
        ['backfill', '--job', 'synthetic_backfill', '--dry-run', flag, value],
        { cwd: dir },
      );
      expect(result.code).toBe(2);
      expect(result.stderr.trimEnd()).toBe(
        `error [MDP_USAGE]: ${flag} "${value}" is not a date: February ${value.slice(0, 4)} has ${value.startsWith('2024') ? 29 : 28} days`,
      );
    }
  });

  it('backfill --from with an hour that does not exist names the hour', async () => {
    const dir = dirWith({ 'mdp.yaml': SAMPLE_TEXT });
    const result = await runCli(
      ['backfill', '--job', 'synthetic_backfill', '--dry-run', '--from', '2024-02-29T25:00:00Z'],
      { cwd: dir },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd()).toBe(
      'error [MDP_USAGE]: --from "2024-02-29T25:00:00Z" is not a time: there is no hour 25 (hours run from 00 to 23)',
    );
  });

  it('help validate, --version, and usage errors', async () => {
    const help = await runCli(['help', 'validate']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mdp validate \[options\]/);
    expect(help.stdout).toContain('-c, --config <file>');
    expect(help.stdout).toContain('-p, --profile <name>');
    expect(help.stdout).toContain('--json');

    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(pkg.version);

    const unknownCommand = await runCli(['valdate']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("error: unknown command 'valdate'");

    const unknownOption = await runCli(['validate', '--confg', SAMPLE]);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("error: unknown option '--confg'");

    const missingValue = await runCli(['validate', '--config']);
    expect(missingValue.code).toBe(2);
    expect(missingValue.stderr).toContain("error: option '-c, --config <file>' argument missing");
  });
});

describe('mdp validate with PostgreSQL storage', () => {
  const tempDir = useTempDir();
  const pool = useTestPostgresPool();

  /** The sample config in a temp dir with its storage replaced by `storage`. */
  function sampleWith(storage: string): string {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'mdp.yaml'),
      SAMPLE_TEXT.replace("type: sqlite\n    uri: 'sqlite:data/marketdata.db'", storage),
    );
    return dir;
  }

  it('connects and reports the server and how bars_ohlcv is stored, without the password', async () => {
    const url = testPostgresUrl();
    const schema = uniqueTestName();
    const dir = sampleWith(`type: postgres\n    uri: '${url}'\n    schema: ${schema}`);
    const before = await runCli(['validate'], { cwd: dir });
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(
      / {2}upsert keys \[provider, symbol, interval, ts\] {2}schema mdp_test_\w+ {2}statement timeout 5m {2}lock timeout 30s {2}idle in transaction timeout 1m\n/,
    );
    expect(before.stdout).toMatch(
      /^ {2}primary reachable: PostgreSQL \d+\.\d+; bars_ohlcv will be created on first use$/m,
    );
    await pool().query(`CREATE SCHEMA "${schema}"`);
    await pool().query(`CREATE TABLE "${schema}".bars_ohlcv (ts timestamptz)`);
    const after = await runCli(['validate'], { cwd: dir });
    expect(after.stdout).toMatch(/^ {2}primary reachable: .*; bars_ohlcv is a plain table$/m);
    expect(before.stdout + before.stderr + after.stdout).not.toContain(new URL(url).password);
    // Validating changes nothing on the server.
    const tables = await pool().query(
      'SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    expect(tables.rows[0]).toEqual({ n: 1 });
  });

  it('prints a PostgreSQL timeout of 0s as none (no limit)', async () => {
    const dir = sampleWith(
      `type: postgres\n    uri: '${testPostgresUrl()}'\n    schema: ${uniqueTestName()}\n    lock_timeout: 0s\n    idle_in_transaction_timeout: 0`,
    );
    const result = await runCli(['validate', '--no-connect'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      / {2}statement timeout 5m {2}lock timeout none {2}idle in transaction timeout none\n/,
    );
  });

  it('for timescaledb on a server without it: says bars_ohlcv will be a plain table', async () => {
    const dir = sampleWith(
      `type: timescaledb\n    uri: '${testPostgresUrl()}'\n    schema: ${uniqueTestName()}\n    timescale: { chunk_interval: 1d }`,
    );
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      / {2}schema mdp_test_\w+ {2}chunk 1d {2}statement timeout 5m {2}lock timeout 30s {2}idle in transaction timeout 1m\n/,
    );
    expect(result.stdout).toMatch(
      /^ {2}primary reachable: PostgreSQL \d+\.\d+; timescaledb not installed: bars_ohlcv will be a plain table$/m,
    );
  });

  it('an unreachable server is a warning line, not a failed validate; --no-connect skips the check', async () => {
    const port = await freePort();
    const dir = sampleWith(
      `type: postgres\n    uri: 'postgresql://mdp:${PASSWORD}@127.0.0.1:${port}/marketdata'`,
    );
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `  primary unreachable (warning; the config itself is valid): storage postgres: 127.0.0.1:${port} refused the connection`,
    );
    expect(result.stdout).toMatch(/\[MDP_STORE_REFUSED\]$/m);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    const offline = await runCli(['validate', '--no-connect'], { cwd: dir });
    expect(offline.code).toBe(0);
    expect(offline.stdout).not.toMatch(/reachable/);
  });

  it('refuses a schema name PostgreSQL would fold or need quoting for', async () => {
    const dir = sampleWith(`type: postgres\n    uri: '${PG_URI}'\n    schema: MarketData`);
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /storage\.primary\.schema: a schema name is 1 to 63 lower-case letters, digits and _/,
    );
  });
});
