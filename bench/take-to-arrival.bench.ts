/**
 * How late a paced request reaches the server after its token was taken (its drift), and how
 * much that drift varies from one request to the next: a server whose bucket has a burst of 1
 * refuses a request that arrives less than 1/rate after the previous one, so every millisecond a
 * request travels faster than the one before must be covered by the pacing's margin.
 *
 * The server runs in a child process (its own event loop, as a provider's is) and stamps each
 * arrival on the machine's clock (timeOrigin + now, comparable across processes); this process
 * sends the requests through the real path (callProvider, a TokenBucket at burst 1, the Polygon
 * provider over HTTP) from `CONCURRENCY` workers, with the event loop stalled now and then as a
 * run's writes and parsing stall it. Prints the drift (p50, p99, max) and the arrival gaps below
 * the interval (what a burst-1 server at exactly the rate would refuse).
 *
 *   npm run bench -- --drift
 *   MDP_BENCH_REQUESTS=300 MDP_BENCH_STALL_MS=30 npm run bench -- --drift
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { polygonProviderSchema, retrySchema } from '../src/core/config/config-schema.js';
import { callProvider } from '../src/pipeline/policies/provider-call.js';
import { RateLimitCooldown } from '../src/pipeline/policies/rate-limit-cooldown.js';
import { TokenBucket, type PacingBucket } from '../src/pipeline/policies/token-bucket.js';
import { systemTiming } from '../src/pipeline/timing.js';
import { PolygonProvider } from '../src/providers/polygon/polygon-provider.js';

const REQUESTS = Number(process.env.MDP_BENCH_REQUESTS ?? 150);
const PER_MINUTE = Number(process.env.MDP_BENCH_RATE ?? 300);
const CONCURRENCY = 3;
/** Longest stall of this process's event loop, drawn at random every few milliseconds. */
const STALL_MS = Number(process.env.MDP_BENCH_STALL_MS ?? 15);

/** The machine's clock in ms, the same in every process (unlike performance.now()). */
const clock = (): number => performance.timeOrigin + performance.now();

if (process.argv.includes('--drift-server')) {
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    arrivals.push(clock());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'OK', ticker: 'SPY', results: [], resultsCount: 0 }));
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  process.on('message', () => {
    process.send?.({ arrivals }, () => process.exit(0));
  });
} else {
  await measure();
}

async function measure(): Promise<void> {
  const child = fork(import.meta.filename, ['--drift-server'], { stdio: 'inherit' });
  const { port } = await message<{ port: number }>(child);
  const provider = new PolygonProvider(
    'polygon',
    polygonProviderSchema.parse({
      type: 'polygon',
      api_key: 'bench',
      base_url: `http://127.0.0.1:${port}`,
      limit: 200,
    }),
  );
  const takes: number[] = [];
  const inner = new TokenBucket({ burst: 1, requestsPerMinute: PER_MINUTE }, systemTiming);
  const bucket: PacingBucket = {
    acquire: async (signal) => {
      await inner.acquire(signal);
      takes.push(clock());
    },
    pause: (ms) => inner.pause(ms),
    estimateMs: (requests) => inner.estimateMs(requests),
  };
  const stalls = setInterval(() => {
    const until = performance.now() + Math.random() * STALL_MS;
    while (performance.now() < until);
  }, 7);
  const cooldown = new RateLimitCooldown({ cooldownMs: 1000, maxRetryAfterMs: 5000 }, systemTiming);
  const signal = new AbortController().signal;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        await callProvider(
          provider,
          { symbol: 'SPY', interval: '1m', start: i * 60_000, end: (i + 1) * 60_000 },
          {
            retry: retrySchema.parse({ max_attempts: 1 }),
            cooldown,
            bucket,
            timeoutMs: 10_000,
            timing: systemTiming,
            random: Math.random,
            signal,
          },
        );
      }
    }),
  );
  clearInterval(stalls);
  const elapsedMs = performance.now() - started;
  child.send('done');
  const { arrivals } = await message<{ arrivals: number[] }>(child);
  report(takes, arrivals, elapsedMs);
}

function report(takes: readonly number[], arrivals: readonly number[], elapsedMs: number): void {
  const intervalMs = 60_000 / PER_MINUTE;
  const drift = takes.map((take, i) => (arrivals[i] as number) - take).sort((a, b) => a - b);
  const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] as number));
  const short = gaps.filter((gap) => gap < intervalMs);
  const at = (q: number): string =>
    (drift[Math.floor(q * (drift.length - 1))] as number).toFixed(1);
  console.log(
    `${takes.length} requests at ${PER_MINUTE}/min burst 1, ${CONCURRENCY} workers, loop stalls up to ${STALL_MS} ms`,
  );
  console.log(`take-to-arrival drift ms: p50 ${at(0.5)}  p99 ${at(0.99)}  max ${at(1)}`);
  console.log(
    `arrival gaps below ${intervalMs} ms: ${short.length} of ${gaps.length}` +
      (short.length ? ` (shortest ${Math.min(...short).toFixed(1)} ms)` : ''),
  );
  const busyMs = (arrivals.at(-1) as number) - (arrivals[0] as number);
  const used = (100 * (arrivals.length - 1) * intervalMs) / busyMs;
  console.log(`budget used: ${used.toFixed(1)}% (${(elapsedMs / 1000).toFixed(1)} s in all)`);
}

function message<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => child.once('message', (value) => resolve(value as T)));
}
