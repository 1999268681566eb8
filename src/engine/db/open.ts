import Database from 'better-sqlite3';
import { BazilError } from '../errors.js';
import { MIGRATIONS } from './schema.js';

export type Db = Database.Database;

/**
 * Opens the metadata database (creating it when `create` is set): WAL, full
 * sync, foreign keys on, and migrated to the schema this build knows. A
 * database from a newer build is refused and left untouched.
 */
export function openDb(path: string, options: { create?: boolean } = {}): Db {
  const db = new Database(path, { fileMustExist: !options.create });
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `the database ${db.name} has schema version ${version}, newer than this bazil knows (${MIGRATIONS.length}); upgrade bazil to use this data dir`,
    );
  }
  if (version === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
