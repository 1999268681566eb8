/**
 * The writer lock of a data dir. It is an SQLite database held in exclusive
 * locking mode: the kernel drops the underlying POSIX lock when the process
 * exits however it exits, so a crash never leaves a stale lock behind.
 */
import Database from 'better-sqlite3';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BazilError } from './errors.js';

export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock or throws LOCKED naming the holder's pid. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, 'lock');
    closeSync(openSync(path, 'a', 0o600)); // create it private; SQLite keeps an existing file's mode
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // BEGIN EXCLUSIVE takes the exclusive lock; exclusive mode keeps it until close.
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        const pid = readPid(dataDir);
        throw new BazilError(
          'LOCKED',
          `data dir ${dataDir} is in use by another bazil process${pid ? ` (pid ${pid})` : ''}; ` +
            'wait for it to finish or stop it, then try again',
        );
      }
      throw err;
    }
    writeFileSync(join(dataDir, 'lock.pid'), `${process.pid}\n`, { mode: 0o600 });
    return new DataDirLock(db);
  }

  release(): void {
    this.db.close();
  }
}

function readPid(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'lock.pid'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
