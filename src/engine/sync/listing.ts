/**
 * A directory as one peer shows it to another during a sync: the directory's
 * m and s, and every entry in it, tombstones included, with their vectors.
 * Live entries carry their metadata and content reference (inline bytes or
 * the manifest root), never the content itself: that is fetched on demand.
 *
 * A directory is named by a handle (its inode on the sender, with the parent
 * and name it was listed under), checked in one lookup: listing costs the
 * same at any depth. A listing comes in pages of at most PAGE_BYTES, in name
 * order, each asked for after the last name of the page before, so a
 * directory of any size fits the peer message limit.
 */
import { SELF, decode, join, type Vector } from '../clock/vector.js';
import { effectiveSync } from '../clock/version.js';
import { BazilError } from '../errors.js';
import { showName } from '../names.js';
import { createdOf, isDevice, modOf, type Node, type Tombstone, type Tree } from '../tree/tree.js';
import type { Xattr } from '../tree/xattrs.js';
import type { Replicas, WireVector } from './replicas.js';
import { compareNames, MAX_DIR_ENTRIES, type DirHandle, type Page } from './validate.js';
import type { Entry, WireEntry, WirePage } from './wire.js';

/** A page carries at most about this many bytes of entries (as JSON): far under a peer message's limit. */
export const PAGE_BYTES = 1 << 20;
/** Rows read from each table per page. */
const PAGE_ROWS = 4096;

/**
 * The sender's side: one page of a directory (null: the root), from after
 * `after` (null: the first). NOT_FOUND when the handle no longer names a
 * directory there (moved or deleted since its parent was listed).
 */
export function listPage(tree: Tree, replicas: Replicas, at: DirHandle | null, after: string | null): WirePage {
  const epoch = tree.tick(); // later changes get a later epoch than what this page shows
  return tree.transaction(() => {
    const dir = at ? tree.dirAt(at.ino, at.parent, at.name) : tree.get(tree.root);
    if (!dir) throw new BazilError('NOT_FOUND', `"${showName(at!.name)}" is no longer a directory in the one it was listed in; it was moved or deleted since`);
    const { encode, keys } = replicas.encoder();
    encode(new Map([[SELF, 1]])); // the sender is always replica 0 of the list
    const nodes = tree.childrenAfter(dir.ino, after ?? '', PAGE_ROWS);
    const tombs = tree.tombstonesAfter(dir.ino, after ?? '', PAGE_ROWS);
    const entries: WireEntry[] = [];
    let bytes = 0;
    let i = 0;
    let j = 0;
    for (;;) {
      // A table read to its limit may have more before the other's next name: the page ends here.
      if ((i === nodes.length && nodes.length === PAGE_ROWS) || (j === tombs.length && tombs.length === PAGE_ROWS)) break;
      if (i === nodes.length && j === tombs.length) break;
      const order = i === nodes.length ? 1 : j === tombs.length ? -1 : compareNames(nodes[i].name, tombs[j].name);
      const entry = order <= 0 ? live(nodes[i], encode, tree.xattrs.all(nodes[i].ino)) : deleted(tombs[j], encode);
      const size = JSON.stringify(entry).length;
      if (entries.length > 0 && bytes + size > PAGE_BYTES) break;
      entries.push(entry);
      bytes += size;
      if (order <= 0) i++;
      if (order >= 0) j++; // a tombstone under a live name is not shown: the live entry replaced it
    }
    const more = i < nodes.length || j < tombs.length || nodes.length === PAGE_ROWS || tombs.length === PAGE_ROWS;
    const s: Vector = effectiveSync(decode(dir.s), epoch);
    return { ino: dir.ino, replicas: keys, m: encode(modOf(dir)), s: encode(s), entries, ...(more && entries.length > 0 ? { next: entries[entries.length - 1].name } : {}) };
  });
}

type Encode = (v: Vector) => WireVector;

function live(n: Node, encode: Encode, xattrs: Xattr[]): WireEntry {
  return {
    name: n.name,
    kind: n.kind,
    mode: n.mode,
    size: n.size,
    mtime: n.mtime,
    ...(n.mtimeNs ? { mtimeNs: n.mtimeNs } : {}),
    ...(n.kind === 'file' && n.data ? { data: n.data.toString('base64') } : {}),
    ...(n.kind === 'file' && n.manifest ? { manifest: n.manifest.toString('base64') } : {}),
    ...(n.kind === 'symlink' && n.target !== null ? { target: n.target } : {}),
    ...(n.kind === 'dir' ? { ino: n.ino } : {}),
    ...(isDevice(n.kind) ? { rdev: n.rdev } : {}),
    ...(xattrs.length > 0 ? { xattrs: xattrs.map(([k, v]): [string, string] => [k.toString('base64'), v.toString('base64')]) } : {}),
    m: encode(modOf(n)),
    s: encode(decode(n.s)),
    c: encode(createdOf(n)),
  };
}

function deleted(t: Tombstone, encode: Encode): WireEntry {
  return { name: t.name, kind: 'deleted', m: encode(t.m), s: encode(t.s), c: encode(t.c) };
}

/** A received listing, with vectors in local ids and each entry's s made whole. */
export interface Listing {
  /** The directory's inode on the sender. */
  ino: number;
  m: Vector;
  s: Vector;
  entries: Map<string, Entry>;
}

/**
 * The receiver's side: the rest of a listing after its first (checked) page.
 *
 * The pages are read at different moments and the directory may change in
 * between. Each entry is as its own page showed it, with that page's s. The
 * directory's s is the first page's: the least, so it claims nothing a later
 * page's change could have hidden (a name renamed from a later page to an
 * earlier one shows on neither, and must not look as if we had seen it and
 * deleted it). Its m is the join of the pages', which covers every entry
 * shown. A changed directory is caught up on by the next sync.
 */
export async function readListing(first: Page, nextPage: (after: string) => Promise<Page>): Promise<Listing> {
  const entries = new Map<string, Entry>();
  let m = first.m;
  for (let page = first; ; ) {
    for (const e of page.entries) entries.set(e.name, e);
    if (entries.size > MAX_DIR_ENTRIES) throw new BazilError('CORRUPT', `the peer listed more than ${MAX_DIR_ENTRIES} entries in one directory`);
    if (page.next === null) break;
    page = await nextPage(page.next);
    m = join(m, page.m);
  }
  return { ino: first.ino, m, s: first.s, entries };
}
