/**
 * Review (issue 13): deploy/Dockerfile's own recipe. Its header says to run
 *   docker run ... -p 9090:9090 -v "$PWD/configs/base.yaml:/etc/mdp/mdp.yaml:ro" \
 *     -e POLYGON_API_KEY=... -e MDP_METRICS_HOST=0.0.0.0 mdp serve --config /etc/mdp/mdp.yaml
 * and its HEALTHCHECK probes http://127.0.0.1:9090/healthz. With configs/base.yaml as shipped, the
 * config's `profile: dev` turns telemetry.metrics off (and the host is a literal 127.0.0.1, not
 * ${MDP_METRICS_HOST}), so nothing listens on 9090: the container is "unhealthy" for ever and
 * the published port answers nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config/load-config.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const root = join(import.meta.dirname, '..', '..');

describe('deploy/Dockerfile recipe', () => {
  it('with configs/base.yaml as its header says, serves /healthz where HEALTHCHECK and -p look', () => {
    const dockerfile = readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8');
    const probed = /HEALTHCHECK[\s\S]*?127\.0\.0\.1:(\d+)\/healthz/.exec(dockerfile);
    expect(probed).not.toBeNull();
    const port = Number(probed?.[1]);

    const config = loadConfig({
      file: join(root, 'configs', 'base.yaml'),
      env: {
        POLYGON_API_KEY: 'pk_test',
        ALPACA_KEY_ID: 'id',
        ALPACA_SECRET_KEY: 'secret',
        MDP_METRICS_HOST: '0.0.0.0',
      },
      cwd: tempDir(),
    });
    // Seen: enabled false (profile dev), host 127.0.0.1.
    expect({
      enabled: config.telemetry.metrics.enabled,
      host: config.telemetry.metrics.host,
      port: config.telemetry.metrics.port,
    }).toEqual({ enabled: true, host: '0.0.0.0', port });
  });
});
