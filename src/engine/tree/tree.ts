/**
 * The live tree of one volume, in SQLite: each node is a dirent (parent, name)
 * and its inode (kind, mode, size, mtime, content) in one row, since there are
 * no hard links. Every method is one short synchronous transaction: callers on
 * the FUSE path never hold the database across an await.
 */
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';

export type Kind = 'file' | 'dir' | 'symlink';

export interface Node {
  ino: number;
  parent: number;
  name: string;
  kind: Kind;
  /** Permission bits only (07777). */
  mode: number;
  size: number;
  /** Milliseconds since the epoch. */
  mtime: number;
  ctime: number;
  /** A small file's bytes, kept inline. */
  data: Buffer | null;
  /** A larger file's encoded manifest root. */
  manifest: Buffer | null;
  target: string | null;
}

/** File content as stored: inline bytes or a manifest root. */
export type Content = { size: number; data: Buffer; manifest?: undefined } | { size: number; manifest: Buffer; data?: undefined };

const KIND_CODES: Record<Kind, number> = { file: 1, dir: 2, symlink: 3 };
const KINDS: Kind[] = ['file', 'file', 'dir', 'symlink'];

/** The longest name a directory entry may have, in bytes (as NAME_MAX). */
export const NAME_MAX = 255;

interface Row extends Omit<Node, 'kind'> {
  kind: number;
}

const COLUMNS = 'ino, parent, name, kind, mode, size, mtime, ctime, data, manifest, target';

const fromRow = (r: Row): Node => ({ ...r, kind: KINDS[r.kind] });

export function checkNameLength(name: string): void {
  if (Buffer.byteLength(name) > NAME_MAX) throw new BazilError('NAME_TOO_LONG', `the name "${name.slice(0, 40)}..." is longer than ${NAME_MAX} bytes`);
}

export function checkEntryName(name: string): void {
  checkNameLength(name);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new BazilError('INVALID_ARGUMENT', `"${name}" is not a valid file name`);
  }
}

export class Tree {
  readonly root: number;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    readonly volumeId: number,
  ) {
    this.stmts = {
      get: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE ino = ?`),
      lookup: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE parent = ? AND name = ? AND ino != parent`),
      children: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE parent = ? AND ino != parent ORDER BY name`),
      countDirs: db.prepare('SELECT count(*) AS n FROM nodes WHERE parent = ? AND kind = 2 AND ino != parent'),
      hasChild: db.prepare('SELECT 1 FROM nodes WHERE parent = ? AND ino != parent LIMIT 1'),
      insert: db.prepare(
        'INSERT INTO nodes (volume, parent, name, kind, mode, size, mtime, ctime, data, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      remove: db.prepare('DELETE FROM nodes WHERE ino = ?'),
      move: db.prepare('UPDATE nodes SET parent = ?, name = ?, ctime = ? WHERE ino = ?'),
      touchDir: db.prepare('UPDATE nodes SET mtime = ?, ctime = ? WHERE ino = ?'),
      setMode: db.prepare('UPDATE nodes SET mode = ?, ctime = ? WHERE ino = ?'),
      setMtime: db.prepare('UPDATE nodes SET mtime = ?, ctime = ? WHERE ino = ?'),
      setContent: db.prepare('UPDATE nodes SET size = ?, data = ?, manifest = ?, mtime = ?, ctime = ? WHERE ino = ?'),
      touchRoot: db.prepare('UPDATE nodes SET ctime = ctime WHERE ino = ?'),
      all: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE volume = ?`),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
    };
    this.root = this.ensureRoot();
  }

  private ensureRoot(): number {
    const find = this.db.prepare("SELECT ino FROM nodes WHERE volume = ? AND parent = ino AND name = ''");
    return this.db.transaction(() => {
      const found = find.get(this.volumeId) as { ino: number } | undefined;
      if (found) return found.ino;
      const now = Date.now();
      const ino = Number(this.stmts.insert.run(this.volumeId, 0, '', KIND_CODES.dir, 0o755, 0, now, now, null, null).lastInsertRowid);
      this.db.prepare('UPDATE nodes SET parent = ino WHERE ino = ?').run(ino);
      return ino;
    }).immediate();
  }

  /** Runs fn in one transaction; durable makes its commit survive power loss (fsync). */
  transaction<T>(fn: () => T, durable = false): T {
    // WAL with synchronous=NORMAL survives a crash of the process, not of the
    // machine; FULL syncs the log at commit, for fsync(2) and for shutdown.
    if (!durable) this.stmts.syncNormal.run();
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      if (!durable) this.stmts.syncFull.run();
    }
  }

  /** Makes every earlier commit durable: one synced write covers the unsynced ones before it. */
  sync(): void {
    this.transaction(() => this.stmts.touchRoot.run(this.root), true);
  }

  get(ino: number): Node {
    const row = this.stmts.get.get(ino) as Row | undefined;
    if (!row) throw new BazilError('NOT_FOUND', `no file with inode ${ino}`);
    return fromRow(row);
  }

  lookup(parent: number, name: string): Node | undefined {
    const row = this.stmts.lookup.get(parent, name) as Row | undefined;
    return row && fromRow(row);
  }

  /** The node at a slash-separated path from the root ('/' is the root). */
  resolve(path: string): Node {
    // One lookup per component: the root (always a directory) is not read on the way.
    let node: Node | undefined;
    for (const name of path.split('/')) {
      if (name === '') continue;
      if (node && node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `${path}: a component is not a directory`);
      checkNameLength(name);
      node = this.lookup(node ? node.ino : this.root, name);
      if (!node) throw new BazilError('NOT_FOUND', `${path}: no such file or directory`);
    }
    return node ?? this.get(this.root);
  }

  /** How many subdirectories a directory has (its link count is 2 more). */
  subdirCount(dir: number): number {
    return (this.stmts.countDirs.get(dir) as { n: number }).n;
  }

  children(dir: number): Node[] {
    return (this.stmts.children.all(dir) as Row[]).map(fromRow);
  }

  /** Every node of the volume, read in one statement: a consistent view. */
  all(): Node[] {
    return (this.stmts.all.all(this.volumeId) as Row[]).map(fromRow);
  }

  create(parent: number, name: string, kind: Kind, mode: number, target: string | null = null): Node {
    checkEntryName(name);
    return this.transaction(() => {
      this.requireDir(parent);
      if (this.lookup(parent, name)) throw new BazilError('ALREADY_EXISTS', `"${name}" already exists`);
      const now = Date.now();
      const size = kind === 'symlink' ? Buffer.byteLength(target ?? '') : 0;
      const data = kind === 'file' ? Buffer.alloc(0) : null;
      const ino = Number(this.stmts.insert.run(this.volumeId, parent, name, KIND_CODES[kind], mode & 0o7777, size, now, now, data, target).lastInsertRowid);
      this.stmts.touchDir.run(now, now, parent);
      return this.get(ino);
    });
  }

  /** unlink(2) when dir is false, rmdir(2) when true. Returns the removed node. */
  remove(parent: number, name: string, dir: boolean): Node {
    return this.transaction(() => {
      this.requireDir(parent);
      const node = this.lookup(parent, name);
      if (!node) throw new BazilError('NOT_FOUND', `"${name}": no such file or directory`);
      if (dir && node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `"${name}" is not a directory`);
      if (!dir && node.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `"${name}" is a directory; use rmdir`);
      if (dir && this.stmts.hasChild.get(node.ino)) throw new BazilError('NOT_EMPTY', `directory "${name}" is not empty`);
      this.stmts.remove.run(node.ino);
      const now = Date.now();
      this.stmts.touchDir.run(now, now, parent);
      return node;
    });
  }

  /** rename(2), with its rules for replacing an existing target. Returns the node replaced, if any. */
  rename(fromParent: number, fromName: string, toParent: number, toName: string): Node | undefined {
    checkEntryName(toName);
    return this.transaction(() => {
      this.requireDir(fromParent);
      this.requireDir(toParent);
      const node = this.lookup(fromParent, fromName);
      if (!node) throw new BazilError('NOT_FOUND', `"${fromName}": no such file or directory`);
      const existing = this.lookup(toParent, toName);
      if (existing?.ino === node.ino) return undefined;
      if (node.kind === 'dir' && this.isAncestor(node.ino, toParent)) {
        throw new BazilError('INVALID_ARGUMENT', `cannot move directory "${fromName}" into itself`);
      }
      if (existing) {
        if (node.kind === 'dir' && existing.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `"${toName}" is not a directory`);
        if (node.kind !== 'dir' && existing.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `"${toName}" is a directory`);
        if (existing.kind === 'dir' && this.stmts.hasChild.get(existing.ino)) throw new BazilError('NOT_EMPTY', `directory "${toName}" is not empty`);
        this.stmts.remove.run(existing.ino);
      }
      const now = Date.now();
      this.stmts.move.run(toParent, toName, now, node.ino);
      this.stmts.touchDir.run(now, now, fromParent);
      if (toParent !== fromParent) this.stmts.touchDir.run(now, now, toParent);
      return existing;
    });
  }

  setMode(ino: number, mode: number): void {
    this.transaction(() => this.changed(this.stmts.setMode.run(mode & 0o7777, Date.now(), ino), ino));
  }

  setMtime(ino: number, mtime: number): void {
    this.transaction(() => this.changed(this.stmts.setMtime.run(mtime, Date.now(), ino), ino));
  }

  /** Records a file's new content; durable for fsync(2). */
  setContent(ino: number, content: Content, mtime: number, durable = false): void {
    this.transaction(() => {
      const r = this.stmts.setContent.run(content.size, content.data ?? null, content.manifest ?? null, mtime, Date.now(), ino);
      this.changed(r, ino);
    }, durable);
  }

  private changed(result: { changes: number }, ino: number): void {
    if (result.changes === 0) throw new BazilError('NOT_FOUND', `no file with inode ${ino}`);
  }

  private requireDir(ino: number): void {
    if (this.get(ino).kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `inode ${ino} is not a directory`);
  }

  /** True when `ancestor` is `ino` or one of its parents. */
  private isAncestor(ancestor: number, ino: number): boolean {
    for (let at = ino; ; ) {
      if (at === ancestor) return true;
      const node = this.get(at);
      if (node.parent === node.ino) return false;
      at = node.parent;
    }
  }
}

