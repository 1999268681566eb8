/**
 * A directory as one peer shows it to another during a sync: the directory's
 * m and s, and every entry in it, tombstones included, with their vectors.
 * Live entries carry their metadata and content reference (inline bytes or
 * the manifest root), never the content itself: that is fetched on demand.
 */
import { SELF, decode, join, raise, type Vector } from '../clock/vector.js';
import { BazilError } from '../errors.js';
import { createdOf, modOf, type Kind, type Node, type Tree } from '../tree/tree.js';
import type { Replicas, WireVector } from './replicas.js';

export interface WireEntry {
  name: string;
  kind: Kind | 'deleted';
  mode?: number;
  size?: number;
  mtime?: number;
  /** Nanoseconds past mtime's millisecond; absent: 0. */
  mtimeNs?: number;
  /** base64 */
  data?: string;
  /** base64 of the encoded manifest root */
  manifest?: string;
  target?: string;
  m: WireVector;
  /** Relative to the directory's s: the entry's s is the join of both. */
  s: WireVector;
  c: WireVector;
}

export interface WireListing {
  /** Replica keys (hex) the vectors index; the first is the sender. */
  replicas: string[];
  m: WireVector;
  s: WireVector;
  entries: WireEntry[];
}

/** The sender's side: a directory of the tree, by path. */
export function listDir(tree: Tree, replicas: Replicas, path: string): WireListing {
  const epoch = tree.tick(); // later changes get a later epoch than what this listing shows
  return tree.transaction(() => {
    const dir = tree.resolve(path);
    if (dir.kind !== 'dir') throw new BazilError('NOT_A_DIRECTORY', `${path} is not a directory`);
    const { encode, keys } = replicas.encoder();
    encode(new Map([[SELF, 1]])); // the sender is always replica 0 of the list
    const entries: WireEntry[] = tree.children(dir.ino).map((n) => ({
      ...content(n),
      name: n.name,
      kind: n.kind,
      m: encode(modOf(n)),
      s: encode(decode(n.s)),
      c: encode(createdOf(n)),
    }));
    for (const t of tree.tombstones(dir.ino)) entries.push({ name: t.name, kind: 'deleted', m: encode(t.m), s: encode(t.s), c: encode(t.c) });
    const s: Vector = raise(tree.syncVector(dir.ino), SELF, epoch);
    return { replicas: keys, m: encode(modOf(dir)), s: encode(s), entries };
  });
}

function content(n: Node): Partial<WireEntry> {
  return {
    mode: n.mode,
    size: n.size,
    mtime: n.mtime,
    ...(n.mtimeNs ? { mtimeNs: n.mtimeNs } : {}),
    ...(n.data ? { data: n.data.toString('base64') } : {}),
    ...(n.manifest ? { manifest: n.manifest.toString('base64') } : {}),
    ...(n.target !== null ? { target: n.target } : {}),
  };
}

/** A received listing, with vectors in local ids and each entry's s made whole. */
export interface Listing {
  m: Vector;
  s: Vector;
  entries: Map<string, Entry>;
}

export interface Entry {
  name: string;
  kind: Kind | 'deleted';
  mode: number;
  size: number;
  mtime: number;
  mtimeNs?: number;
  data: Buffer | null;
  manifest: Buffer | null;
  target: string | null;
  m: Vector;
  s: Vector;
  c: Vector;
}

const KINDS = new Set(['file', 'dir', 'symlink', 'deleted']);

/** The receiver's side: checks the shape (a peer's message is untrusted input) and maps the vectors. */
export function readListing(replicas: Replicas, wire: unknown): Listing {
  const bad = (what: string) => new BazilError('CORRUPT', `the peer sent a malformed directory listing (${what})`);
  const w = wire as WireListing;
  if (!w || !Array.isArray(w.replicas) || !Array.isArray(w.entries) || !isVector(w.m) || !isVector(w.s)) throw bad('missing fields');
  const vec = replicas.decoder(w.replicas.map(String));
  const dirS = vec(w.s);
  const entries = new Map<string, Entry>();
  for (const e of w.entries) {
    if (!e || typeof e.name !== 'string' || !KINDS.has(e.kind) || !isVector(e.m) || !isVector(e.s) || !isVector(e.c)) throw bad('an entry');
    if (e.name === '' || e.name === '.' || e.name === '..' || e.name.includes('/') || e.name.includes('\0')) throw bad(`the name "${e.name}"`);
    if (entries.has(e.name)) throw bad(`"${e.name}" twice`);
    const num = (x: unknown) => (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0);
    entries.set(e.name, {
      name: e.name,
      kind: e.kind,
      mode: num(e.mode) & 0o7777,
      size: num(e.size),
      mtime: num(e.mtime),
      mtimeNs: num(e.mtimeNs) < 1_000_000 ? num(e.mtimeNs) : 0,
      data: typeof e.data === 'string' ? Buffer.from(e.data, 'base64') : null,
      manifest: typeof e.manifest === 'string' ? Buffer.from(e.manifest, 'base64') : null,
      target: typeof e.target === 'string' ? e.target : null,
      m: vec(e.m),
      s: join(dirS, vec(e.s)),
      c: vec(e.c),
    });
  }
  return { m: vec(w.m), s: dirS, entries };
}

function isVector(v: unknown): v is WireVector {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && Number.isSafeInteger(p[0]) && Number.isSafeInteger(p[1]) && p[1] >= 0);
}
