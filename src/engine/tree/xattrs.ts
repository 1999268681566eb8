/**
 * Extended attributes of the tree's inodes: the user.* namespace only, names
 * and values as bytes. They belong to the inode (a node's removal drops them:
 * a trigger of migration 10). Setting or removing one is a change of the
 * file (its ctime, and its version: they sync with it).
 */
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';

/** The largest value, in bytes (XATTR_SIZE_MAX: the kernel refuses larger ones with E2BIG). */
export const XATTR_VALUE_MAX = 65536;
/** The bytes of one inode's names (each with its NUL), so that listxattr(2) always fits its 64 KiB. */
export const XATTR_NAMES_MAX = 65536;
/** The bytes of one inode's names and values together. */
export const XATTR_TOTAL_MAX = 256 * 1024;

const USER = Buffer.from('user.');

/** Whether the name is one Bazil stores: user.SOMETHING. */
export function isUserXattr(name: Buffer): boolean {
  return name.length > USER.length && name.subarray(0, USER.length).equals(USER);
}

/** setxattr(2)'s flags. */
export type XattrMode = 'either' | 'create' | 'replace';

/** One attribute: its full name's bytes and its value. */
export type Xattr = [name: Buffer, value: Buffer];

/** Whether a list of attributes fits one inode's bounds (sorted, unique names are the caller's part). */
export function xattrsFit(list: Xattr[]): boolean {
  let names = 0;
  let total = 0;
  for (const [name, value] of list) {
    if (!isUserXattr(name) || name.length > 255 || value.length > XATTR_VALUE_MAX) return false;
    names += name.length + 1;
    total += name.length + value.length;
  }
  return names <= XATTR_NAMES_MAX && total <= XATTR_TOTAL_MAX;
}

/** What a set did: `missing` (replace, and there was none), `full` (the inode's bound would be passed). */
export type SetResult = 'set' | 'missing' | 'full';

export class Xattrs {
  private readonly stmts;

  constructor(
    db: Db,
    private readonly transaction: <T>(fn: () => T) => T,
    /** Records a change of the inode's metadata (its ctime). */
    private readonly touch: (ino: number) => void,
  ) {
    this.stmts = {
      get: db.prepare('SELECT value FROM xattrs WHERE ino = ? AND name = ?').pluck(),
      names: db.prepare('SELECT name FROM xattrs WHERE ino = ? ORDER BY name').pluck(),
      all: db.prepare('SELECT name, value FROM xattrs WHERE ino = ? ORDER BY name').raw(),
      clear: db.prepare('DELETE FROM xattrs WHERE ino = ?'),
      sizes: db.prepare('SELECT coalesce(sum(length(name) + 1), 0) AS names, coalesce(sum(length(name) + length(value)), 0) AS total FROM xattrs WHERE ino = ? AND name != ?'),
      put: db.prepare('INSERT OR REPLACE INTO xattrs (ino, name, value) VALUES (?, ?, ?)'),
      remove: db.prepare('DELETE FROM xattrs WHERE ino = ? AND name = ?'),
    };
  }

  get(ino: number, name: Buffer): Buffer | undefined {
    return this.stmts.get.get(ino, name) as Buffer | undefined;
  }

  /** The names, in byte order. */
  names(ino: number): Buffer[] {
    return this.stmts.names.all(ino) as Buffer[];
  }

  /** Every attribute, in name order. */
  all(ino: number): Xattr[] {
    return this.stmts.all.all(ino) as Xattr[];
  }

  /** Makes the inode's attributes exactly `list` (a peer's version); inside the caller's transaction. */
  replaceAll(ino: number, list: Xattr[]): void {
    this.stmts.clear.run(ino);
    for (const [name, value] of list) this.stmts.put.run(ino, name, value);
  }

  set(ino: number, name: Buffer, value: Buffer, mode: XattrMode): SetResult {
    if (!isUserXattr(name)) throw new BazilError('INVALID_ARGUMENT', `only user.* extended attributes are stored`);
    return this.transaction(() => {
      const exists = this.get(ino, name) !== undefined;
      if (mode === 'create' && exists) throw new BazilError('ALREADY_EXISTS', `the extended attribute ${name} exists already`);
      if (mode === 'replace' && !exists) return 'missing';
      const others = this.stmts.sizes.get(ino, name) as { names: number; total: number };
      if (value.length > XATTR_VALUE_MAX || others.names + name.length + 1 > XATTR_NAMES_MAX || others.total + name.length + value.length > XATTR_TOTAL_MAX) return 'full';
      this.stmts.put.run(ino, name, value);
      this.touch(ino);
      return 'set';
    });
  }

  /** False when there was none. */
  remove(ino: number, name: Buffer): boolean {
    return this.transaction(() => {
      if (this.stmts.remove.run(ino, name).changes === 0) return false;
      this.touch(ino);
      return true;
    });
  }
}
