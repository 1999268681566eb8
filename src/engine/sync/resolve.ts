/**
 * Resolving a conflict, as the user chose: keep mine, take theirs, or keep
 * both (theirs saved beside mine under a name that says where it came from).
 * The outcome is a new version that has seen both, so it syncs to every peer
 * and settles the conflict there too.
 */
import { EMPTY, join, type Vector } from '../clock/vector.js';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { showName } from '../names.js';
import type { Node, Tree } from '../tree/tree.js';
import { markResolved, openConflictsAt, type Conflict } from './conflicts.js';

export type Choice = 'mine' | 'theirs' | 'both';

export interface ResolveOptions {
  tree: Tree;
  db: Db;
  volume: number;
  /** A path from the volume's root: /dir/name. */
  path: string;
  choice: Choice;
  isOpen(ino: number): boolean;
}

export interface Resolved {
  path: string;
  /** Where theirs was saved (--both). */
  savedAs?: string;
  conflicts: number;
}

export function resolveConflict(opts: ResolveOptions): Resolved {
  const { tree, db, path, choice } = opts;
  return tree.transaction(() => {
    const open = openConflictsAt(db, opts.volume, path);
    if (open.length === 0) throw new BazilError('NOT_FOUND', `no open conflict at ${showName(path)}; see \`bazil conflicts list\``);
    // With several peers' versions, theirs is the latest recorded; the others
    // are seen (their s joins in) and set aside.
    const latest = open[open.length - 1];
    const seen = open.reduce<Vector>((s, c) => join(s, c.theirs.s), EMPTY);
    const node = lookupPath(tree, path);
    if (node && node.kind !== 'dir' && opts.isOpen(node.ino)) {
      throw new BazilError('CONFLICT', `${showName(path)} is open; close it, then resolve the conflict`);
    }
    let savedAs: string | undefined;
    if (latest.localDeleted) {
      // Their version was restored in place; mine was the deletion.
      if (node && choice === 'mine') {
        tree.joinSync(node.ino, seen);
        tree.deleteHere(node);
      } else if (node) {
        tree.supersede(node, seen);
      }
    } else if (choice === 'theirs') {
      takeTheirs(tree, path, node, latest, seen);
    } else {
      if (choice === 'both' && latest.theirs.kind !== 'deleted' && latest.theirs.kind !== 'dir') savedAs = saveBeside(tree, path, latest);
      if (node) tree.supersede(node, seen);
    }
    for (const c of open) markResolved(db, c.id, c === latest ? choice : 'superseded');
    return { path, savedAs, conflicts: open.length };
  });
}

function lookupPath(tree: Tree, path: string): Node | undefined {
  try {
    return tree.resolve(path);
  } catch (err) {
    if (err instanceof BazilError && (err.code === 'NOT_FOUND' || err.code === 'NOT_A_DIRECTORY')) return undefined;
    throw err;
  }
}

function split(path: string): { dir: string; name: string } {
  const i = path.lastIndexOf('/');
  return { dir: path.slice(0, i) || '/', name: path.slice(i + 1) };
}

function takeTheirs(tree: Tree, path: string, node: Node | undefined, c: Conflict, seen: Vector): void {
  const t = c.theirs;
  if (t.kind === 'deleted') {
    if (!node) return;
    if (node.kind === 'dir' && tree.children(node.ino).length > 0) {
      throw new BazilError('NOT_EMPTY', `${showName(path)} is a directory with files in it; move them out or choose --mine`);
    }
    tree.joinSync(node.ino, seen);
    tree.deleteHere(node);
    return;
  }
  const version = { kind: t.kind, mode: t.mode, size: t.size, mtime: t.mtime, data: t.data, manifest: t.manifest, target: t.target, m: t.m, s: seen, c: t.c };
  if (node && node.kind === t.kind && t.kind !== 'dir') {
    tree.replaceSynced(node, version);
    return;
  }
  if (node) {
    if (node.kind === 'dir' && tree.children(node.ino).length > 0) {
      throw new BazilError('NOT_EMPTY', `${showName(path)} is a directory with files in it; move them out or choose --mine or --both`);
    }
    tree.joinSync(node.ino, seen);
    tree.deleteHere(node);
  }
  const { dir, name } = split(path);
  tree.insertSynced(ensureDir(tree, dir), name, version);
}

/** The directory at path, made (with its parents) if it was deleted since the conflict: what is restored needs a place. */
function ensureDir(tree: Tree, path: string): number {
  let ino = tree.root;
  for (const name of path.split('/').filter(Boolean)) {
    const node = tree.lookup(ino, name) ?? tree.create(ino, name, 'dir', 0o755);
    if (node.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `${showName(path)} is no longer a directory here; move ${showName(node.name)} away, then resolve again`);
    ino = node.ino;
  }
  return ino;
}

/** Saves theirs as a new file beside path: NAME.conflict-PEER.EXT, PEER being the peer's name or its key's start (then -2, -3, ... if taken). */
function saveBeside(tree: Tree, path: string, c: Conflict): string {
  const { dir, name } = split(path);
  const parent = tree.get(ensureDir(tree, dir));
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const tag = `${stem}.conflict-${c.peerName ?? c.peer.slice(0, 8)}`;
  let copy = `${tag}${ext}`;
  for (let n = 2; tree.lookup(parent.ino, copy); n++) copy = `${tag}-${n}${ext}`;
  const t = c.theirs;
  const made = tree.create(parent.ino, copy, t.kind === 'symlink' ? 'symlink' : 'file', t.mode, t.target);
  if (t.kind === 'file') tree.setContent(made.ino, t.manifest ? { size: t.size, manifest: t.manifest } : { size: t.size, data: t.data ?? Buffer.alloc(0) }, t.mtime);
  return dir === '/' ? `/${copy}` : `${dir}/${copy}`;
}
