/**
 * Multi-symbol requests against a local fake of Alpaca's /v2/stocks/bars (regular-session minutes,
 * pages of up to 10,000 bars), paced at the free plan's 200 requests a minute, burst 1: the same
 * 10-symbol backfill (4 weeks of 1-minute bars) and live cycle (1 day's lookback) run by
 * `mdp` child processes with `symbols_per_request: 100` and with 1 (one symbol a request, the
 * reference). Prints requests and wall time side by side, and checks both stored the same rows.
 *
 *   npm run bench -- --alpaca
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alpacaFakeApi } from '../test/providers/alpaca/alpaca-fake-api.js';

const run = promisify(execFile);
const MDP = new URL('../bin/mdp.js', import.meta.url).pathname;
const SYMBOLS = ['SPY', 'AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'QQQ', 'IWM'];

const api = alpacaFakeApi({ keyId: 'bench', secretKey: 'bench', pageSize: 10_000 });
let requests = 0;
const server = createServer((req, res) => {
  requests += 1;
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  void Promise.resolve(api({ method: req.method ?? 'GET', url, headers: req.headers })).then(
    (reply) => {
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.json ?? null));
    },
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

interface Outcome {
  readonly requests: number;
  readonly seconds: number;
  readonly summary: string;
}

async function measure(mode: 'backfill' | 'live', symbolsPerRequest: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'mdp-bench-alpaca-'));
  try {
    const config = join(dir, 'mdp.yaml');
    const job =
      mode === 'backfill'
        ? { mode, backfill: { start: '2024-06-03', end: '2024-07-01' } }
        : { mode, live: { lookback: '1d' } };
    writeFileSync(
      config,
      JSON.stringify({
        version: 2,
        providers: {
          alpaca_1: {
            type: 'alpaca',
            key_id: 'bench',
            secret_key: 'bench',
            base_url: baseUrl,
            symbols_per_request: symbolsPerRequest,
            pacing: { requests_per_minute: 200, burst: 1, cooldown_seconds: 60 },
          },
        },
        storage: { primary: { type: 'sqlite', uri: `sqlite:${join(dir, 'bench.db')}` } },
        datasets: { minutes: { provider: 'alpaca_1', symbols: SYMBOLS, interval: '1m' } },
        jobs: { bench: { dataset: 'minutes', ...job, execution: { concurrency: 2 } } },
        telemetry: { log_level: 'warn', metrics: { enabled: false } },
      }),
    );
    requests = 0;
    const started = performance.now();
    const command = mode === 'backfill' ? 'backfill' : 'run';
    const { stdout } = await run('node', [MDP, command, '--config', config, '--job', 'bench']);
    const seconds = (performance.now() - started) / 1000;
    return { requests, seconds, summary: stdout.split('\n')[0] ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = (summary: string): string => /([\d,]+) rows written/.exec(summary)?.[1] ?? '?';
console.log(`alpaca multi-symbol requests, ${SYMBOLS.length} symbols, pacing 200/min burst 1`);
for (const mode of ['backfill', 'live'] as const) {
  const batched = await measure(mode, 100);
  const single = await measure(mode, 1);
  console.log(
    `  ${mode.padEnd(8)} batched: ${batched.requests} requests in ${batched.seconds.toFixed(1)} s` +
      ` | one symbol a request: ${single.requests} requests in ${single.seconds.toFixed(1)} s` +
      ` | requests ${((batched.requests / single.requests) * 100).toFixed(0)}%,` +
      ` time ${((batched.seconds / single.seconds) * 100).toFixed(0)}%` +
      ` | rows ${rows(batched.summary)} vs ${rows(single.summary)}`,
  );
}
server.close();
