/**
 * The live tree of one volume, in SQLite: each node is a dirent (parent, name)
 * and its inode (kind, mode, size, mtime, content) in one row. A file's other
 * names (hard links) are rows of `links`: each shows as a Node of its own
 * (`link` set) with the inode's content and attributes, and its own creation
 * and sync vectors, so that to a peer each name is an entry of its own (links
 * sync as separate files, their content stored once). Every method is one
 * short synchronous transaction: callers on the FUSE path never hold the
 * database across an await.
 */
import { SELF, decode, encode, equal, join, type Vector } from '../clock/vector.js';
import * as clocks from '../clock/version.js';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { nameBytes, nameFromBytes, showName } from '../names.js';
import type { Time } from './times.js';
import { Xattrs, type Xattr } from './xattrs.js';

/** Special files (FIFOs, sockets, devices) have no content: they are what their kind (and a device its number) says. */
export type SpecialKind = 'fifo' | 'socket' | 'chardev' | 'blockdev';
export type Kind = 'file' | 'dir' | 'symlink' | SpecialKind;
export const SPECIAL_KINDS: readonly Kind[] = ['fifo', 'socket', 'chardev', 'blockdev'];
export const isDevice = (kind: string): boolean => kind === 'chardev' || kind === 'blockdev';

export interface Node {
  ino: number;
  parent: number;
  /** The name's bytes in the engine's string form (names.ts); stored as they are. */
  name: string;
  kind: Kind;
  /** Permission bits only (07777). */
  mode: number;
  size: number;
  /** Milliseconds since the epoch. */
  mtime: number;
  /** Nanoseconds past mtime's millisecond (times set with utimens keep them). */
  mtimeNs: number;
  /** The access time as utimens last set it (reads do not change it); until then, mtime. */
  atime: number;
  atimeNs: number;
  ctime: number;
  /** A small file's bytes, kept inline. */
  data: Buffer | null;
  /** A larger file's encoded manifest root. */
  manifest: Buffer | null;
  target: string | null;
  /** A device's number (st_rdev); 0 for the rest. */
  rdev: number;
  /** Version vectors (clock/vector.ts encoding): modification, stored sync (relative to the parent's), creation. */
  m: Buffer | null;
  s: Buffer | null;
  c: Buffer | null;
  /** True for a hard link: a name of `ino` other than its first (nodes' row). */
  link?: boolean;
}

/** A deleted entry, kept so that the deletion syncs. Its s is whole, not relative. */
export interface Tombstone extends clocks.Clocks {
  parent: number;
  name: string;
  kind: Kind;
}

/** A version from a peer, as the sync writes it into the tree; its s is their whole sync vector, joined into ours. */
export interface SyncedVersion extends clocks.Clocks {
  kind: Kind;
  mode: number;
  size: number;
  mtime: number;
  /** Nanoseconds past mtime's millisecond. */
  mtimeNs?: number;
  data: Buffer | null;
  manifest: Buffer | null;
  target: string | null;
  /** A device's number; absent: 0. */
  rdev?: number;
  /** Extended attributes (files, directories); absent: none. */
  xattrs?: Xattr[];
}

/**
 * A committed change that caches of the tree (the kernel's, through a mount)
 * must drop: inode `ino`'s attributes or content, and with `entry`, the name
 * that now points elsewhere or nowhere. A file's new content from a commit of
 * its own writes is not one: whoever wrote it has it already.
 */
export interface TreeChange {
  ino: number;
  entry?: { parent: number; name: string };
}

/** File content as stored: inline bytes or a manifest root. */
export type Content = { size: number; data: Buffer; manifest?: undefined } | { size: number; manifest: Buffer; data?: undefined };

export const KIND_CODES: Record<Kind, number> = { file: 1, dir: 2, symlink: 3, fifo: 4, socket: 5, chardev: 6, blockdev: 7 };
export const KINDS: Kind[] = ['file', 'file', 'dir', 'symlink', 'fifo', 'socket', 'chardev', 'blockdev'];
/** A sync vector encoded as stored (clock/version.ts: without this replica's own entry). */
const storedSync = (s: Vector): Buffer | null => encode(clocks.storedSync(s));

export const modOf = (node: Pick<Node, 'm'>): Vector => (node.m ? decode(node.m) : clocks.FIRST);
export const createdOf = (node: Pick<Node, 'c'>): Vector => (node.c ? decode(node.c) : clocks.FIRST);

/** The longest name a directory entry may have, in bytes (as NAME_MAX). */
export const NAME_MAX = 255;

interface Row extends Omit<Node, 'kind' | 'name' | 'target' | 'link'> {
  kind: number;
  name: Buffer;
  target: Buffer | null;
  link: number;
}

const INODE_COLUMNS =
  'kind, mode, size, mtime, mtime_ns AS mtimeNs, coalesce(atime, mtime) AS atime, iif(atime IS NULL, mtime_ns, atime_ns) AS atimeNs, ctime, data, manifest, target, rdev, m';
const COLUMNS = `ino, parent, name, ${INODE_COLUMNS}, s, c, 0 AS link`;
/** A hard link as a node: the inode's columns, the link's name and vectors. */
const LINK_COLUMNS = `links.ino AS ino, links.parent AS parent, links.name AS name, ${INODE_COLUMNS}, links.s AS s, links.c AS c, 1 AS link`;
const LINKS = 'links JOIN nodes ON nodes.ino = links.ino';

interface TombRow {
  parent: number;
  name: Buffer;
  kind: number;
  m: Buffer;
  s: Buffer | null;
  c: Buffer | null;
}

const tombFromRow = (r: TombRow): Tombstone => ({ parent: r.parent, name: nameFromBytes(r.name), kind: KINDS[r.kind], m: decode(r.m), s: decode(r.s), c: decode(r.c) });

const fromRow = (r: Row): Node => {
  const node: Node = { ...r, name: nameFromBytes(r.name), target: r.target && nameFromBytes(r.target), kind: KINDS[r.kind], link: r.link === 1 };
  // A link's version is the inode's, and is never older than the name itself.
  if (node.link) node.m = encode(join(modOf(node), createdOf(node)));
  return node;
};
/** Nodes of two name-ordered lists (names and links) as one, in the database's byte order of names. */
const mergeByName = (a: Row[], b: Row[]): Node[] => [...a, ...b].sort((x, y) => Buffer.compare(x.name, y.name)).map(fromRow);

/** Names, targets and paths are stored as their bytes (BLOBs). */
const stored = (name: string): Buffer => nameBytes(name);
const storedOrNull = (s: string | null): Buffer | null => (s === null ? null : nameBytes(s));

/** A symlink's size: its target's length in bytes. */
export const targetSize = (target: string): number => nameBytes(target).length;

export function checkNameLength(name: string): void {
  const bytes = nameBytes(name).length;
  if (bytes > NAME_MAX) throw new BazilError('NAME_TOO_LONG', `the name "${showName(name.slice(0, 40))}..." is ${bytes} bytes long, more than ${NAME_MAX}`);
}

export function checkEntryName(name: string): void {
  checkNameLength(name);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new BazilError('INVALID_ARGUMENT', `"${showName(name)}" is not a valid file name`);
  }
}

export class Tree {
  readonly root: number;
  /** The inodes' extended attributes. */
  readonly xattrs: Xattrs;
  private readonly stmts;
  private readonly listeners = new Set<() => void>();
  private readonly changeListeners = new Set<(changes: TreeChange[]) => void>();
  /** What the open transaction changed, told to changeListeners after its commit. */
  private changes: TreeChange[] = [];
  /** Set when a transaction changed the tree: listeners hear of it after the commit. */
  private touched = false;

  constructor(
    private readonly db: Db,
    readonly volumeId: number,
  ) {
    this.stmts = {
      get: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE ino = ?`),
      exists: db.prepare('SELECT 1 FROM nodes WHERE ino = ?'),
      lookup: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE parent = ? AND name = ? AND ino != parent`),
      lookupLink: db.prepare(`SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE links.parent = ? AND links.name = ?`),
      children: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE parent = ? AND ino != parent ORDER BY name`),
      childLinks: db.prepare(`SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE links.parent = ? ORDER BY links.name`),
      childrenAfter: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE parent = ? AND ino != parent AND name > ? ORDER BY name LIMIT ?`),
      childLinksAfter: db.prepare(`SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE links.parent = ? AND links.name > ? ORDER BY links.name LIMIT ?`),
      linksOf: db.prepare('SELECT parent, name, s, c FROM links WHERE ino = ? ORDER BY parent, name'),
      linkCount: db.prepare('SELECT count(*) FROM links WHERE ino = ?').pluck(),
      insertLink: db.prepare('INSERT INTO links (parent, name, ino, s, c) VALUES (?, ?, ?, ?, ?)'),
      removeLink: db.prepare('DELETE FROM links WHERE parent = ? AND name = ?'),
      moveLink: db.prepare('UPDATE links SET parent = ?, name = ?, s = ?, c = ? WHERE parent = ? AND name = ?'),
      setLinkS: db.prepare('UPDATE links SET s = ? WHERE parent = ? AND name = ?'),
      // The inode takes over a link's name and vectors (its first name was removed).
      promote: db.prepare('UPDATE nodes SET parent = ?, name = ?, s = ?, c = ?, m = ?, ctime = ? WHERE ino = ?'),
      allLinks: db.prepare(`SELECT ${LINK_COLUMNS} FROM ${LINKS} WHERE nodes.volume = ?`),
      dirAt: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE ino = ? AND volume = ? AND parent = ? AND name = ? AND kind = 2 AND ino != parent`),
      countDirs: db.prepare('SELECT count(*) AS n FROM nodes WHERE parent = ? AND kind = 2 AND ino != parent'),
      hasChild: db.prepare('SELECT 1 FROM nodes WHERE parent = ? AND ino != parent UNION ALL SELECT 1 FROM links WHERE parent = ? LIMIT 1'),
      insert: db.prepare(
        'INSERT INTO nodes (volume, parent, name, kind, mode, size, mtime, ctime, data, target, m, s, c, rdev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertSynced: db.prepare(
        'INSERT INTO nodes (volume, parent, name, kind, mode, size, mtime, mtime_ns, ctime, data, manifest, target, m, s, c, rdev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      replaceSynced: db.prepare('UPDATE nodes SET mode = ?, size = ?, mtime = ?, mtime_ns = ?, ctime = ?, data = ?, manifest = ?, target = ?, rdev = ?, m = ?, s = ?, c = ? WHERE ino = ?'),
      setM: db.prepare('UPDATE nodes SET m = ? WHERE ino = ?'),
      setS: db.prepare('UPDATE nodes SET s = ? WHERE ino = ?'),
      setMC: db.prepare('UPDATE nodes SET m = ?, c = ?, s = ? WHERE ino = ?'),
      epoch: db.prepare('SELECT epoch FROM volumes WHERE id = ?').pluck(),
      tick: db.prepare('UPDATE volumes SET epoch = epoch + 1 WHERE id = ?'),
      tomb: db.prepare('SELECT parent, name, kind, m, s, c FROM tombstones WHERE parent = ? AND name = ?'),
      tombs: db.prepare('SELECT parent, name, kind, m, s, c FROM tombstones WHERE parent = ? ORDER BY name'),
      tombsAfter: db.prepare('SELECT parent, name, kind, m, s, c FROM tombstones WHERE parent = ? AND name > ? ORDER BY name LIMIT ?'),
      putTomb: db.prepare('INSERT OR REPLACE INTO tombstones (volume, parent, name, kind, m, s, c) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      dropTomb: db.prepare('DELETE FROM tombstones WHERE parent = ? AND name = ?'),
      dropTombsIn: db.prepare('DELETE FROM tombstones WHERE parent = ?'),
      remove: db.prepare('DELETE FROM nodes WHERE ino = ?'),
      move: db.prepare('UPDATE nodes SET parent = ?, name = ?, ctime = ? WHERE ino = ?'),
      touchDir: db.prepare('UPDATE nodes SET mtime = ?, mtime_ns = 0, ctime = ? WHERE ino = ?'),
      setMode: db.prepare('UPDATE nodes SET mode = ?, ctime = ? WHERE ino = ?'),
      setCtime: db.prepare('UPDATE nodes SET ctime = ? WHERE ino = ?'),
      setTimes: db.prepare('UPDATE nodes SET mtime = ?, mtime_ns = ?, atime = ?, atime_ns = ?, ctime = ? WHERE ino = ?'),
      // The same millisecond as recorded keeps its nanoseconds: utimens set
      // both on a file still open, whose commit then records that time.
      setContent: db.prepare('UPDATE nodes SET size = ?, data = ?, manifest = ?, mtime_ns = iif(mtime = ?, mtime_ns, 0), mtime = ?, ctime = ? WHERE ino = ?'),
      touchRoot: db.prepare('UPDATE nodes SET ctime = ctime WHERE ino = ?'),
      all: db.prepare(`SELECT ${COLUMNS} FROM nodes WHERE volume = ?`),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
    };
    this.root = this.ensureRoot();
    this.xattrs = new Xattrs(db, (fn) => this.transaction(fn), (ino) => this.xattrsChanged(ino));
  }

  private ensureRoot(): number {
    const find = this.db.prepare("SELECT ino FROM nodes WHERE volume = ? AND parent = ino AND name = x''");
    return this.db.transaction(() => {
      const found = find.get(this.volumeId) as { ino: number } | undefined;
      if (found) return found.ino;
      const now = Date.now();
      const ino = Number(this.stmts.insert.run(this.volumeId, 0, Buffer.alloc(0), KIND_CODES.dir, 0o755, 0, now, now, null, null, null, null, null, 0).lastInsertRowid);
      this.db.prepare('UPDATE nodes SET parent = ino WHERE ino = ?').run(ino);
      return ino;
    }).immediate();
  }

  /** Runs fn in one transaction; durable makes its commit survive power loss (fsync). */
  transaction<T>(fn: () => T, durable = false): T {
    // WAL with synchronous=NORMAL survives a crash of the process, not of the
    // machine; FULL syncs the log at commit, for fsync(2) and for shutdown.
    if (this.db.inTransaction) return fn();
    if (!durable) this.stmts.syncNormal.run();
    let result: T;
    try {
      result = this.db.transaction(fn).immediate();
    } catch (err) {
      this.touched = false;
      this.changes = [];
      throw err;
    } finally {
      if (!durable) this.stmts.syncFull.run();
    }
    const changes = this.changes;
    this.changes = [];
    if (changes.length > 0) for (const listener of this.changeListeners) listener(changes);
    if (this.touched) {
      this.touched = false;
      for (const listener of this.listeners) listener();
    }
    return result;
  }

  /** Calls listener with what each committed transaction changed (see TreeChange). Returns the unsubscribe function. */
  onTreeChange(listener: (changes: TreeChange[]) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changedEntry(node: Pick<Node, 'ino' | 'parent' | 'name'>): void {
    this.changes.push({ ino: node.ino, entry: { parent: node.parent, name: node.name } }, { ino: node.parent });
  }

  /** Calls listener after every committed change (local or synced). Returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The volume's current epoch: what local changes are stamped with. */
  epoch(): number {
    return this.stmts.epoch.get(this.volumeId) as number;
  }

  /**
   * Called when a peer is shown the tree: if anything was changed in the
   * current epoch, later changes get the next one, so the peer can tell them
   * apart from what it saw. Returns the epoch the peer saw.
   */
  tick(): number {
    return this.transaction(() => {
      const epoch = this.epoch();
      // Nothing stamped with the current epoch yet: the peer saw up to the one before.
      if ((modOf(this.get(this.root)).get(SELF) ?? 0) < epoch) return epoch - 1;
      this.stmts.tick.run(this.volumeId);
      return epoch;
    });
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

  exists(ino: number): boolean {
    return this.stmts.exists.get(ino) !== undefined;
  }

  lookup(parent: number, name: string): Node | undefined {
    const row = (this.stmts.lookup.get(parent, stored(name)) ?? this.stmts.lookupLink.get(parent, stored(name))) as Row | undefined;
    return row && fromRow(row);
  }

  /** How many names the inode has (st_nlink of a file). */
  nameCount(ino: number): number {
    return 1 + (this.stmts.linkCount.get(ino) as number);
  }

  private hasChild(dir: number): boolean {
    return this.stmts.hasChild.get(dir, dir) !== undefined;
  }

  /** The node at a slash-separated path from the root ('/' is the root). */
  resolve(path: string): Node {
    // One lookup per component: the root (always a directory) is not read on the way.
    let node: Node | undefined;
    for (const name of path.split('/')) {
      if (name === '') continue;
      if (node && node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `${showName(path)}: a component is not a directory`);
      checkNameLength(name);
      node = this.lookup(node ? node.ino : this.root, name);
      if (!node) throw new BazilError('NOT_FOUND', `${showName(path)}: no such file or directory`);
    }
    return node ?? this.get(this.root);
  }

  /** How many subdirectories a directory has (its link count is 2 more). */
  subdirCount(dir: number): number {
    return (this.stmts.countDirs.get(dir) as { n: number }).n;
  }

  children(dir: number): Node[] {
    return mergeByName(this.stmts.children.all(dir) as Row[], this.stmts.childLinks.all(dir) as Row[]);
  }

  /** Up to limit entries of dir named after `after` (in the database's byte order of names), in that order. */
  childrenAfter(dir: number, after: string, limit: number): Node[] {
    const a = this.stmts.childrenAfter.all(dir, stored(after), limit) as Row[];
    return mergeByName(a, this.stmts.childLinksAfter.all(dir, stored(after), limit) as Row[]).slice(0, limit);
  }

  /**
   * A directory of this volume by handle: its inode, checked in one lookup to
   * still be named `name` in `parent` (a peer's handle from an earlier listing).
   */
  dirAt(ino: number, parent: number, name: string): Node | undefined {
    const row = this.stmts.dirAt.get(ino, this.volumeId, parent, stored(name)) as Row | undefined;
    return row && fromRow(row);
  }

  /** Every node of the volume, hard links included, read in one transaction: a consistent view. */
  all(): Node[] {
    return this.db.transaction(() => [...(this.stmts.all.all(this.volumeId) as Row[]), ...(this.stmts.allLinks.all(this.volumeId) as Row[])].map(fromRow))();
  }

  /** A new entry; rdev: a device's number. */
  create(parent: number, name: string, kind: Kind, mode: number, target: string | null = null, rdev = 0): Node {
    checkEntryName(name);
    return this.transaction(() => {
      this.requireDir(parent);
      if (this.lookup(parent, name)) throw new BazilError('ALREADY_EXISTS', `"${showName(name)}" already exists`);
      const now = Date.now();
      const size = kind === 'symlink' ? targetSize(target ?? '') : 0;
      const data = kind === 'file' ? Buffer.alloc(0) : null;
      const stamp = encode(this.stampVector());
      // What this name's tombstone had seen, this entry has seen too.
      const seen = this.takeTomb(parent, name)?.s;
      const ino = Number(
        this.stmts.insert.run(this.volumeId, parent, stored(name), KIND_CODES[kind], mode & 0o7777, size, now, now, data, storedOrNull(target), stamp, seen ? storedSync(seen) : null, stamp, isDevice(kind) ? rdev : 0)
          .lastInsertRowid,
      );
      this.stmts.touchDir.run(now, now, parent);
      this.stampAncestors(parent);
      this.changedEntry({ ino, parent, name });
      return this.get(ino);
    });
  }

  /** link(2): a new name for a file (or symbolic link). Returns the new name's node. */
  link(ino: number, parent: number, name: string): Node {
    checkEntryName(name);
    return this.transaction(() => {
      this.requireDir(parent);
      if (this.get(ino).kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `inode ${ino} is a directory: directories have one name`);
      if (this.lookup(parent, name)) throw new BazilError('ALREADY_EXISTS', `"${showName(name)}" already exists`);
      const now = Date.now();
      // What this name's tombstone had seen, this entry has seen too (as create).
      const seen = this.takeTomb(parent, name)?.s;
      this.stmts.insertLink.run(parent, stored(name), ino, seen ? storedSync(seen) : null, encode(this.stampVector()));
      this.stmts.setCtime.run(now, ino);
      this.stmts.touchDir.run(now, now, parent);
      this.stampAncestors(parent);
      this.changedEntry({ ino, parent, name });
      this.changes.push({ ino });
      return this.lookup(parent, name)!;
    });
  }

  /** What this replica has seen of a name: a link's own s over its directory's. */
  private nameSync(node: Node): Vector {
    return node.link ? join(decode(node.s), this.syncVector(node.parent)) : this.syncVector(node.ino);
  }

  /** Joins v into what a name has seen (a link's own s, or its inode's). */
  private joinNameSync(node: Node, v: Vector): void {
    if (!node.link) return this.joinSync(node.ino, v);
    this.stmts.setLinkS.run(storedSync(join(decode(node.s), v)), node.parent, stored(node.name));
  }

  /**
   * Takes a name away. The inode goes with its last name; when its first name
   * goes and links remain, one of them becomes its first (with its vectors).
   */
  private dropName(node: Node): void {
    const now = Date.now();
    if (node.link) {
      this.stmts.removeLink.run(node.parent, stored(node.name));
      this.stmts.setCtime.run(now, node.ino);
    } else {
      const other = this.stmts.linksOf.get(node.ino) as { parent: number; name: Buffer; s: Buffer | null; c: Buffer | null } | undefined;
      if (other) {
        this.stmts.removeLink.run(other.parent, other.name);
        this.stmts.promote.run(other.parent, other.name, other.s, other.c, encode(join(modOf(node), decode(other.c))), now, node.ino);
      } else this.stmts.remove.run(node.ino);
    }
    this.changedEntry(node);
  }

  /** unlink(2) when dir is false, rmdir(2) when true. Returns the removed node. */
  remove(parent: number, name: string, dir: boolean): Node {
    return this.transaction(() => {
      this.requireDir(parent);
      const node = this.lookup(parent, name);
      if (!node) throw new BazilError('NOT_FOUND', `"${showName(name)}": no such file or directory`);
      if (dir && node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `"${showName(name)}" is not a directory`);
      if (!dir && node.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `"${showName(name)}" is a directory; use rmdir`);
      if (dir && this.hasChild(node.ino)) throw new BazilError('NOT_EMPTY', `directory "${showName(name)}" is not empty`);
      this.deleteLocally(node);
      const now = Date.now();
      this.stmts.touchDir.run(now, now, parent);
      this.stampAncestors(parent);
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
      if (!node) throw new BazilError('NOT_FOUND', `"${showName(fromName)}": no such file or directory`);
      const existing = this.lookup(toParent, toName);
      if (existing?.ino === node.ino) return undefined;
      if (node.kind === 'dir' && this.isAncestor(node.ino, toParent)) {
        throw new BazilError('INVALID_ARGUMENT', `cannot move directory "${showName(fromName)}" into itself`);
      }
      if (existing) {
        if (node.kind === 'dir' && existing.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `"${showName(toName)}" is not a directory`);
        if (node.kind !== 'dir' && existing.kind === 'dir') throw new BazilError('IS_A_DIRECTORY', `"${showName(toName)}" is a directory`);
        if (existing.kind === 'dir' && this.hasChild(existing.ino)) throw new BazilError('NOT_EMPTY', `directory "${showName(toName)}" is not empty`);
      }
      // To a peer, a rename is a deletion of the old name and a new entry under
      // the new one (whose content it already has). The entry has seen all that
      // the old one and the one it replaces had seen.
      let seen = this.nameSync(node);
      if (existing) {
        seen = join(seen, this.nameSync(existing));
        this.dropName(existing);
      }
      const targetTomb = this.takeTomb(toParent, toName);
      if (targetTomb) seen = join(seen, targetTomb.s);
      this.putTomb(node, this.stampVector());
      const stamp = this.stampVector();
      const m = node.kind === 'dir' ? join(modOf(node), stamp) : stamp;
      const now = Date.now();
      this.changedEntry(node);
      this.changedEntry({ ino: node.ino, parent: toParent, name: toName });
      if (existing) this.changes.push({ ino: existing.ino });
      if (node.link) {
        this.stmts.moveLink.run(toParent, stored(toName), storedSync(seen), encode(stamp), fromParent, stored(fromName));
        this.stmts.setCtime.run(now, node.ino);
      } else {
        this.stmts.move.run(toParent, stored(toName), now, node.ino);
        this.stmts.setMC.run(encode(m), encode(stamp), storedSync(seen), node.ino);
      }
      this.stmts.touchDir.run(now, now, fromParent);
      if (toParent !== fromParent) this.stmts.touchDir.run(now, now, toParent);
      this.stampAncestors(fromParent);
      this.stampAncestors(toParent);
      return existing;
    });
  }

  /** A change of an inode's extended attributes: its ctime, and a new version that syncs. */
  private xattrsChanged(ino: number): void {
    this.changed(this.stmts.setCtime.run(Date.now(), ino), ino);
    this.changes.push({ ino });
    this.stamp(ino);
  }

  setMode(ino: number, mode: number): void {
    this.transaction(() => {
      this.changed(this.stmts.setMode.run(mode & 0o7777, Date.now(), ino), ino);
      this.changes.push({ ino });
      this.stamp(ino);
    });
  }

  /**
   * utimens(2): sets each time given (null leaves it as it is). The access
   * time does not sync: only a new mtime is a change that peers see.
   */
  setTimes(ino: number, atime: Time | null, mtime: Time | null): void {
    this.transaction(() => {
      const node = this.get(ino);
      const a = atime ?? { ms: node.atime, ns: node.atimeNs };
      const m = mtime ?? { ms: node.mtime, ns: node.mtimeNs };
      this.stmts.setTimes.run(m.ms, m.ns, a.ms, a.ns, Date.now(), ino);
      this.changes.push({ ino });
      if (m.ms !== node.mtime || m.ns !== node.mtimeNs) this.stamp(ino);
    });
  }

  /** Records a file's new content; durable for fsync(2). */
  setContent(ino: number, content: Content, mtime: number, durable = false): void {
    this.transaction(() => {
      const r = this.stmts.setContent.run(content.size, content.data ?? null, content.manifest ?? null, mtime, mtime, Date.now(), ino);
      this.changed(r, ino);
      this.stamp(ino);
    }, durable);
  }

  // ---- version vectors ----------------------------------------------------

  /** {this replica: current epoch}: the stamp of a change made now. */
  private stampVector(): Vector {
    return clocks.localStamp(this.epoch());
  }

  /** A local change to a node: it gets a new m, and its ancestors' m cover it. */
  private stamp(ino: number): void {
    const node = this.get(ino);
    const stamp = this.stampVector();
    this.stmts.setM.run(encode(node.kind === 'dir' ? join(modOf(node), stamp) : stamp), ino);
    this.touched = true;
    if (node.parent !== ino) this.stampAncestors(node.parent);
    // Every name of the inode changed: each directory holding one covers it.
    for (const l of this.linksOf(ino)) this.stampAncestors(l.parent);
  }

  private linksOf(ino: number): { parent: number }[] {
    return this.stmts.linksOf.all(ino) as { parent: number }[];
  }

  /** Raises m of dir and its ancestors to cover a local change. */
  private stampAncestors(dir: number): void {
    this.coverUp(dir, this.stampVector());
  }

  /**
   * Makes m of dir and of each ancestor cover m (a directory's m is the join of
   * its subtree's). Stops at the first that already does: its ancestors do too.
   */
  coverUp(dir: number, m: Vector): void {
    this.touched = true;
    for (let at = dir; ; ) {
      const node = this.get(at);
      const before = modOf(node);
      const after = join(before, m);
      if (equal(before, after) && node.m) return;
      this.stmts.setM.run(encode(after), at);
      if (node.parent === at) return;
      at = node.parent;
    }
  }

  /** What this replica has seen of a node: the join of its and its ancestors' stored s (without its own entry). */
  syncVector(ino: number): Vector {
    let s: Vector = new Map();
    for (let at = ino; ; ) {
      const node = this.get(at);
      s = join(s, decode(node.s));
      if (node.parent === at) return s;
      at = node.parent;
    }
  }

  /** Joins v into a node's stored s. */
  joinSync(ino: number, v: Vector): void {
    const node = this.get(ino);
    const before = decode(node.s);
    const after = join(before, v);
    if (!equal(before, after)) this.stmts.setS.run(storedSync(after), ino);
  }

  tombstone(parent: number, name: string): Tombstone | undefined {
    const row = this.stmts.tomb.get(parent, stored(name)) as TombRow | undefined;
    return row && tombFromRow(row);
  }

  tombstones(dir: number): Tombstone[] {
    return (this.stmts.tombs.all(dir) as TombRow[]).map(tombFromRow);
  }

  /** Up to limit tombstones of dir named after `after`, in name order (as childrenAfter). */
  tombstonesAfter(dir: number, after: string, limit: number): Tombstone[] {
    return (this.stmts.tombsAfter.all(dir, stored(after), limit) as TombRow[]).map(tombFromRow);
  }

  private takeTomb(parent: number, name: string): Tombstone | undefined {
    const tomb = this.tombstone(parent, name);
    if (tomb) this.stmts.dropTomb.run(parent, stored(name));
    return tomb;
  }

  private putTomb(node: Node, m: Vector, s: Vector = this.nameSync(node)): void {
    this.stmts.putTomb.run(this.volumeId, node.parent, stored(node.name), KIND_CODES[node.kind], encode(m), storedSync(s), encode(createdOf(node)));
    // A directory's tombstone stands for everything that was in it.
    if (node.kind === 'dir') this.stmts.dropTombsIn.run(node.ino);
    this.touched = true;
  }

  /** Deletes a node here (unlink, rmdir): its tombstone is stamped now. */
  private deleteLocally(node: Node): void {
    this.putTomb(node, this.stampVector());
    this.dropName(node);
  }

  // ---- changes from a peer --------------------------------------------------

  /** Writes a peer's version as a new entry (over a tombstone, if any). */
  insertSynced(parent: number, name: string, v: SyncedVersion): Node {
    checkEntryName(name);
    const tomb = this.takeTomb(parent, name);
    const seen = tomb ? join(tomb.s, v.s) : v.s;
    const now = Date.now();
    const ino = Number(
      this.stmts.insertSynced.run(this.volumeId, parent, stored(name), KIND_CODES[v.kind], v.mode & 0o7777, v.size, v.mtime, v.mtimeNs ?? 0, now, v.data, v.manifest, storedOrNull(v.target), encode(v.m), storedSync(seen), encode(v.c), isDevice(v.kind) ? (v.rdev ?? 0) : 0)
        .lastInsertRowid,
    );
    this.xattrs.replaceAll(ino, v.xattrs ?? []);
    this.coverUp(parent, v.m);
    this.changedEntry({ ino, parent, name });
    return this.get(ino);
  }

  /** Writes a peer's version over a node of the same kind, keeping its inode. */
  replaceSynced(node: Node, v: SyncedVersion): void {
    if (this.nameCount(node.ino) > 1) return this.replaceLinked(node, v);
    const seen = join(decode(node.s), v.s);
    const m = node.kind === 'dir' ? join(modOf(node), v.m) : v.m;
    this.stmts.replaceSynced.run(v.mode & 0o7777, v.size, v.mtime, v.mtimeNs ?? 0, Date.now(), v.data, v.manifest, storedOrNull(v.target), isDevice(v.kind) ? (v.rdev ?? 0) : 0, encode(m), storedSync(seen), encode(v.c), node.ino);
    this.xattrs.replaceAll(node.ino, v.xattrs ?? []);
    this.changes.push({ ino: node.ino });
    this.coverUp(node.parent, v.m);
  }

  /**
   * A peer's version over one name of a file with several: to the peer that
   * name is a file of its own, so here it becomes one too (a new inode with
   * their content); the other names keep theirs. Changing them all would be
   * a change of ours to names the peer may have changed or deleted meanwhile.
   */
  private replaceLinked(node: Node, v: SyncedVersion): void {
    const seen = join(decode(node.s), v.s);
    this.dropName(node);
    this.insertSynced(node.parent, node.name, { ...v, s: seen });
  }

  /** Ours and theirs are the same content: only the vectors merge. */
  mergeSynced(node: Node, m: Vector, s: Vector): void {
    this.joinNameSync(node, s);
    const merged = join(modOf(node), m);
    this.stmts.setM.run(encode(merged), node.ino);
    this.coverUp(node.parent, merged);
  }

  /** Records that ours and theirs met: ours stays, stamped to supersede both (a resolved conflict). */
  supersede(node: Node, theirs: Vector): void {
    this.joinNameSync(node, theirs);
    this.stamp(node.ino);
  }

  /** Deletes one node (a directory must be empty) because a peer deleted it; the tombstone keeps their m. */
  deleteSynced(node: Node, m: Vector, s: Vector): void {
    if (node.kind === 'dir' && this.hasChild(node.ino)) throw new BazilError('NOT_EMPTY', `directory "${showName(node.name)}" is not empty`);
    this.putTomb(node, m, join(this.nameSync(node), s));
    this.dropName(node);
    this.coverUp(node.parent, m);
  }

  /**
   * Records, with a tombstone stamped now, that an entry a peer still has stays
   * deleted here (it was deleted with a directory whose tombstone stood for it):
   * the peer then sees our deletion, not just our directory without it.
   */
  keepDeleted(parent: number, name: string, kind: Kind, s: Vector, c: Vector): void {
    const stamp = this.stampVector();
    this.stmts.putTomb.run(this.volumeId, parent, stored(name), KIND_CODES[kind], encode(stamp), storedSync(s), encode(c));
    this.coverUp(parent, stamp);
  }

  /**
   * Keeps a peer's deletion of a name that is not live here: a new tombstone
   * with their vectors, or theirs merged into ours (both deleted it).
   */
  keepSyncedDeletion(parent: number, name: string, m: Vector, s: Vector, c: Vector): void {
    const tomb = this.tombstone(parent, name);
    const kind = tomb ? KIND_CODES[tomb.kind] : KIND_CODES.file; // a peer's tombstone does not say
    const merged = tomb ? join(tomb.m, m) : m;
    this.stmts.putTomb.run(this.volumeId, parent, stored(name), kind, encode(merged), storedSync(tomb ? join(tomb.s, s) : s), encode(tomb ? tomb.c : c));
    this.coverUp(parent, merged);
  }

  /** Deletes a node by a local decision (resolving a conflict for theirs' deletion). */
  deleteHere(node: Node): void {
    if (node.kind === 'dir' && this.hasChild(node.ino)) throw new BazilError('NOT_EMPTY', `directory "${showName(node.name)}" is not empty`);
    this.deleteLocally(node);
    this.stampAncestors(node.parent);
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

