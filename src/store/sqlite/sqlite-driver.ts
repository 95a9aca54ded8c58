import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);

/**
 * better-sqlite3, in the major that is safe on the running Node. Version 12 wraps its objects in
 * Node's raw ObjectWrap, whose destructor on Node 24 aborts the process when a statement is
 * collected after the environment is gone (at exit, or in a GC outside a context). Version 13 is
 * built on Node-API and has no such hook, but it requires Node 22 and crashes on 20. Both are
 * installed (13 under the alias `better-sqlite3-napi`) and have the same API.
 */
export const SqliteDatabase: typeof BetterSqlite3 =
  Number(process.versions.node.split('.')[0]) >= 22
    ? (require('better-sqlite3-napi') as typeof BetterSqlite3)
    : (require('better-sqlite3') as typeof BetterSqlite3);
