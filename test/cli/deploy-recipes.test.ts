/**
 * Review (issue 13): deploy/Dockerfile's own recipe. Its header said to run
 *   docker run ... -p 9090:9090 -v "$PWD/configs/base.yaml:/etc/mdp/mdp.yaml:ro" \
 *     -e POLYGON_API_KEY=... -e MDP_METRICS_HOST=0.0.0.0 mdp serve --config /etc/mdp/mdp.yaml
 * and its HEALTHCHECK probes http://127.0.0.1:9090/healthz. With configs/base.yaml as shipped, the
 * config's `profile: dev` turned telemetry.metrics off (and the host was a literal 127.0.0.1, not
 * ${MDP_METRICS_HOST}), so nothing listened on 9090: the container was "unhealthy" for ever and
 * the published port answered nothing. deploy/mdp.service ran base.yaml in profile dev too.
 *
 * Each recipe's command is read from the recipe itself (its --profile and -e settings), and
 * base.yaml is loaded as that command would load it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type MdpConfig } from '../../src/core/config/load-config.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const root = join(import.meta.dirname, '..', '..');
const recipe = (name: string): string => readFileSync(join(root, 'deploy', name), 'utf8');

/** base.yaml as `command` loads it, with the secrets it names set to placeholders. */
function baseConfigAs(command: string, env: Record<string, string>): MdpConfig {
  const profile = /--profile\s+(\S+)/.exec(command)?.[1];
  return loadConfig({
    file: join(root, 'configs', 'base.yaml'),
    ...(profile === undefined ? {} : { profile }),
    env: {
      POLYGON_API_KEY: 'pk_test',
      ALPACA_KEY_ID: 'id',
      ALPACA_SECRET_KEY: 'secret',
      MDP_PG_URI: 'postgres://mdp@db.example/mdp',
      ...env,
    },
    cwd: tempDir(),
  });
}

const metricsOf = (config: MdpConfig) => ({
  enabled: config.telemetry.metrics.enabled,
  host: config.telemetry.metrics.host,
  port: config.telemetry.metrics.port,
});

describe('deploy/ recipes with configs/base.yaml', () => {
  it('docker run as the Dockerfile says serves /healthz where HEALTHCHECK and -p look', () => {
    const dockerfile = recipe('Dockerfile');
    const probed = /HEALTHCHECK[\s\S]*?127\.0\.0\.1:(\d+)\/healthz/.exec(dockerfile);
    expect(probed).not.toBeNull();
    const port = Number(probed?.[1]);
    const run = /^# {3}docker run[\s\S]*?mdp serve[^\n]*/m.exec(dockerfile)?.[0] ?? '';
    expect(run).toContain('configs/base.yaml');
    expect(run).toContain(`-p ${port}:${port}`);
    const env = Object.fromEntries(
      [...run.matchAll(/-e ([A-Z_]+)=(\S+)/g)].map((match) => [match[1] ?? '', match[2] ?? '']),
    );
    // Seen: enabled false (profile dev), host 127.0.0.1.
    expect(metricsOf(baseConfigAs(run, env))).toEqual({ enabled: true, host: '0.0.0.0', port });
  });

  it("the systemd unit's ExecStart serves /metrics on the loopback", () => {
    const exec = /^ExecStart=(.*)$/m.exec(recipe('mdp.service'))?.[1] ?? '';
    expect(exec).toContain('serve --config /etc/mdp/mdp.yaml');
    // Seen: profile dev, metrics off.
    expect(metricsOf(baseConfigAs(exec, {}))).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 9090,
    });
  });
});
