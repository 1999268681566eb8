/**
 * Snapshots: a volume's tree serialized into immutable directory objects in the
 * store, under a name. A directory object is "BZD1\n" followed by a JSON array
 * of its entries, sorted by name; it is stored like a file (chunked, encrypted,
 * deduplicated) and referenced by its encoded manifest root, so an unchanged
 * directory costs nothing new in the next snapshot.
 */
import type { Db } from '../db/open.js';
import { BazilError, isBazilError } from '../errors.js';
import { checkName } from '../names.js';
import type { ContentStore } from '../store/content.js';
import { decodeNode, encodeNode } from '../store/manifest.js';
import { LruCache } from '../store/lru.js';
import { toHex } from '../store/convergent.js';
import type { Kind, Node, Tree } from './tree.js';
import type { Xattr } from './xattrs.js';
import { volumeRowId } from './volumes.js';

export interface SnapshotInfo {
  name: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** One entry of a snapshot directory. */
export interface SnapEntry {
  name: string;
  kind: Kind;
  mode: number;
  size: number;
  mtime: number;
  /** Inline file bytes. */
  data?: Buffer;
  /** File manifest root, or for a directory the manifest root of its directory object. */
  manifest?: Buffer;
  target?: string;
  /** A device's number. */
  rdev?: number;
  /** Extended attributes, in name order. */
  xattrs?: Xattr[];
}

const MAGIC = 'BZD1\n';
const KIND_LETTERS: Record<Kind, string> = { file: 'f', dir: 'd', symlink: 'l', fifo: 'p', socket: 's', chardev: 'c', blockdev: 'b' };
const LETTER_KINDS: Record<string, Kind> = { f: 'file', d: 'dir', l: 'symlink', p: 'fifo', s: 'socket', c: 'chardev', b: 'blockdev' };

interface Wire {
  n: string;
  k: string;
  m: number;
  s: number;
  t: number;
  d?: string;
  h?: string;
  l?: string;
  r?: number;
  /** [base64 name, base64 value] */
  x?: [string, string][];
}

function encodeDir(entries: SnapEntry[]): Buffer {
  const wire: Wire[] = entries.map((e) => ({
    n: e.name,
    k: KIND_LETTERS[e.kind],
    m: e.mode,
    s: e.size,
    t: e.mtime,
    ...(e.data ? { d: e.data.toString('base64') } : {}),
    ...(e.manifest ? { h: e.manifest.toString('base64') } : {}),
    ...(e.target !== undefined ? { l: e.target } : {}),
    ...(e.rdev ? { r: e.rdev } : {}),
    ...(e.xattrs?.length ? { x: e.xattrs.map(([k, v]): [string, string] => [k.toString('base64'), v.toString('base64')]) } : {}),
  }));
  return Buffer.from(MAGIC + JSON.stringify(wire));
}

function decodeDir(bytes: Buffer, what: string): SnapEntry[] {
  const corrupt = () => new BazilError('CORRUPT', `${what} is not a valid directory object`);
  if (bytes.subarray(0, MAGIC.length).toString() !== MAGIC) throw corrupt();
  let wire: Wire[];
  try {
    wire = JSON.parse(bytes.subarray(MAGIC.length).toString());
  } catch {
    throw corrupt();
  }
  if (!Array.isArray(wire)) throw corrupt();
  return wire.map((w) => {
    const kind = LETTER_KINDS[w.k];
    if (!kind || typeof w.n !== 'string') throw corrupt();
    if (w.x !== undefined && !(Array.isArray(w.x) && w.x.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string'))) throw corrupt();
    return {
      name: w.n,
      kind,
      mode: w.m,
      size: w.s,
      mtime: w.t,
      data: w.d !== undefined ? Buffer.from(w.d, 'base64') : undefined,
      manifest: w.h !== undefined ? Buffer.from(w.h, 'base64') : undefined,
      target: w.l,
      rdev: w.r,
      xattrs: w.x?.map(([k, v]): Xattr => [Buffer.from(k, 'base64'), Buffer.from(v, 'base64')]),
    };
  });
}

async function storeBytes(store: ContentStore, bytes: Buffer): Promise<Buffer> {
  const { manifest } = await store.writeFile([bytes]);
  return encodeNode(manifest);
}

async function loadBytes(store: ContentStore, manifest: Buffer, what: string): Promise<Buffer> {
  const reader = store.reader(decodeNode(manifest, what));
  return reader.read(0, reader.size);
}

/**
 * Serializes the tree as it is now (one consistent read of the database) and
 * records it under `name`. Committing open files first is the caller's job.
 */
export async function takeSnapshot(tree: Tree, store: ContentStore, db: Db, name: string): Promise<SnapshotInfo> {
  checkName('snapshot', name);
  const exists = db.prepare('SELECT 1 FROM snapshots WHERE volume = ? AND name = ?');
  if (exists.get(tree.volumeId, name)) throw new BazilError('ALREADY_EXISTS', `a snapshot named "${name}" already exists; pick another name`);
  // Its directory objects are referenced only once the snapshot is recorded: garbage collection spares them until then.
  const release = store.hold();
  try {
    return await serialize(tree, store, db, name);
  } finally {
    release();
  }
}

async function serialize(tree: Tree, store: ContentStore, db: Db, name: string): Promise<SnapshotInfo> {
  const byParent = new Map<number, Node[]>();
  for (const node of tree.all()) {
    if (node.ino === tree.root) continue;
    const list = byParent.get(node.parent) ?? [];
    list.push(node);
    byParent.set(node.parent, list);
  }
  // Directories are stored children first, without recursion (a tree may be as deep as paths reach).
  const dirs: number[] = [];
  for (const stack = [tree.root]; stack.length > 0; ) {
    const ino = stack.pop()!;
    dirs.push(ino);
    for (const n of byParent.get(ino) ?? []) if (n.kind === 'dir') stack.push(n.ino);
  }
  const stored = new Map<number, Buffer>();
  for (let i = dirs.length - 1; i >= 0; i--) {
    const children = (byParent.get(dirs[i]) ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const entries: SnapEntry[] = children.map((n) => ({
      name: n.name,
      kind: n.kind,
      mode: n.mode,
      size: n.size,
      mtime: n.mtime,
      data: n.kind === 'file' && !n.manifest ? (n.data ?? Buffer.alloc(0)) : undefined,
      manifest: n.kind === 'dir' ? stored.get(n.ino) : (n.manifest ?? undefined),
      target: n.target ?? undefined,
      rdev: n.rdev || undefined,
      xattrs: tree.xattrs.all(n.ino),
    }));
    stored.set(dirs[i], await storeBytes(store, encodeDir(entries)));
    // A stored directory's children are no longer needed.
    for (const n of children) if (n.kind === 'dir') stored.delete(n.ino);
  }
  const root = stored.get(tree.root)!;
  const createdAt = Date.now();
  try {
    db.prepare('INSERT INTO snapshots (volume, name, root, created_at) VALUES (?, ?, ?, ?)').run(tree.volumeId, name, root, createdAt);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw new BazilError('ALREADY_EXISTS', `a snapshot named "${name}" already exists; pick another name`);
    }
    throw err;
  }
  return { name, createdAt };
}

export function listSnapshots(db: Db, volume: string): SnapshotInfo[] {
  const id = volumeRowId(db, volume);
  return (db.prepare('SELECT name, created_at FROM snapshots WHERE volume = ? ORDER BY created_at, name').all(id) as { name: string; created_at: number }[]).map(
    (r) => ({ name: r.name, createdAt: r.created_at }),
  );
}

/**
 * Deletes a snapshot and records the deletion, which syncs (engine/sync/snapshots.ts):
 * the snapshot goes on every peer, and what only it referenced can be collected.
 */
export function deleteSnapshot(db: Db, volume: string, name: string): void {
  const id = volumeRowId(db, volume);
  db.transaction(() => {
    const row = db.prepare('SELECT root FROM snapshots WHERE volume = ? AND name = ?').get(id, name) as { root: Buffer } | undefined;
    if (!row) throw new BazilError('NOT_FOUND', `volume ${volume} has no snapshot named "${name}"; see them with \`bazil volume snapshot list ${volume}\``);
    db.prepare('DELETE FROM snapshots WHERE volume = ? AND name = ?').run(id, name);
    db.prepare('INSERT OR IGNORE INTO snapshot_deletions (volume, name, root, deleted_at) VALUES (?, ?, ?, ?)').run(id, name, row.root, Date.now());
  })();
}

/** Read-only access to a volume's snapshots, with decoded directories cached. */
export class SnapshotReader {
  private readonly dirs = new LruCache<SnapEntry[]>(1024);

  constructor(
    private readonly db: Db,
    private readonly volumeId: number,
    private readonly store: ContentStore,
  ) {}

  names(): string[] {
    return (this.db.prepare('SELECT name FROM snapshots WHERE volume = ? ORDER BY name').all(this.volumeId) as { name: string }[]).map((r) => r.name);
  }

  /** The root of snapshot `name` as a directory entry. */
  root(name: string): SnapEntry {
    const row = this.db.prepare('SELECT root, created_at FROM snapshots WHERE volume = ? AND name = ?').get(this.volumeId, name) as
      | { root: Buffer; created_at: number }
      | undefined;
    if (!row) throw new BazilError('NOT_FOUND', `no snapshot named "${name}"`);
    return { name, kind: 'dir', mode: 0o755, size: 0, mtime: row.created_at, manifest: row.root };
  }

  async list(dir: SnapEntry): Promise<SnapEntry[]> {
    if (dir.kind !== 'dir' || !dir.manifest) throw new BazilError('NOT_A_DIRECTORY', `"${dir.name}" is not a directory`);
    const key = toHex(dir.manifest);
    const hit = this.dirs.get(key);
    if (hit) return hit;
    const entries = decodeDir(await loadBytes(this.store, dir.manifest, `snapshot directory "${dir.name}"`), `snapshot directory "${dir.name}"`);
    this.dirs.set(key, entries);
    return entries;
  }

  /** The entry at `path` (slash-separated, relative to the snapshot's root). */
  async resolve(name: string, path: string[]): Promise<SnapEntry> {
    let entry = this.root(name);
    for (const part of path) {
      let children: SnapEntry[];
      try {
        children = await this.list(entry);
      } catch (err) {
        if (isBazilError(err, 'NOT_A_DIRECTORY')) throw new BazilError('NOT_A_DIRECTORY', `${path.join('/')}: a component is not a directory`);
        throw err;
      }
      const next = children.find((c) => c.name === part);
      if (!next) throw new BazilError('NOT_FOUND', `${path.join('/')}: no such file or directory in snapshot "${name}"`);
      entry = next;
    }
    return entry;
  }
}
