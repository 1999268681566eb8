/**
 * Pulling a peer's version of a volume into ours: walk both trees from the
 * root, directory by directory, and apply what reconcile() decides. Only
 * metadata moves (content is fetched when read). A directory whose m is
 * covered by our s is skipped without a request, so a sync that finds
 * nothing new costs one round trip.
 *
 * Each directory is decided and applied in one transaction, against our tree
 * as it is at that moment, so changes made through the mount in between are
 * never overwritten by a stale decision. A directory's s takes in theirs only
 * when everything in it was settled (no conflict left open, nothing postponed).
 */
import { createHash } from 'node:crypto';
import { EMPTY, decode, join, le, type Vector } from '../clock/vector.js';
import { effectiveSync } from '../clock/version.js';
import type { Db } from '../db/open.js';
import { BazilError, isBazilError } from '../errors.js';
import type { SyncCounts } from '../events.js';
import { nameBytes, showName } from '../names.js';
import { SPECIAL_KINDS, createdOf, modOf, targetSize, type Kind, type Node, type SyncedVersion, type Tree } from '../tree/tree.js';
import { hasOpenConflicts, recordConflict, settleConflicts } from './conflicts.js';
import { readListing, type Listing } from './listing.js';
import { reconcile, type Version } from './reconcile.js';
import type { Replicas } from './replicas.js';
import { recordPeerSeen } from './forget.js';
import { applySnapshots, type SnapshotChanges } from './snapshots.js';
import { PATH_MAX, readPage, readSnapshots, type DirHandle, type Page } from './validate.js';
import type { Entry } from './wire.js';
import type { Xattr } from '../tree/xattrs.js';

export interface PullOptions {
  tree: Tree;
  db: Db;
  /** The volume's row id. */
  volume: number;
  replicas: Replicas;
  /** Their public key: conflicts name it. */
  peer: Buffer;
  /** Fetches a page of their listing of a directory (null: the root), after a name (null: the first page). */
  list(dir: DirHandle | null, after: string | null): Promise<unknown>;
  /** A file open through a mount is not changed under its reader. */
  isOpen(ino: number): boolean;
  /** Called for each change held back because the file is open. */
  postponed(ino: number): void;
  /** Told of each conflict recorded (its path), once its directory's changes are committed. */
  conflictFound?(path: string): void;
  /** Told of the counts so far after each directory is applied. */
  progress?(stats: PullStats): void;
  /** Fetches their snapshot listing (sync.snapshots); none: snapshots are not pulled. */
  snapshots?(): Promise<unknown>;
  /** Told what their snapshot listing changed here. */
  snapshotsSynced?(changes: SnapshotChanges): void;
}

/** What a pull did: the counts its events carry too. */
export type PullStats = SyncCounts;

interface Pending {
  ino: number;
  path: string;
  /** Their handle of the directory; null for the root, or when they deleted it. */
  handle: DirHandle | null;
  /** The directory's s as their parent's listing showed it: what its own pages' s are relative to. */
  base: Vector;
  ours: Vector;
  theirs: Vector;
  theirsGone: boolean;
  /** The directory was deleted on one side and changed on the other: the deletion's m. */
  deleted?: Vector;
  /** In (or under) a directory restored over our deletion: that deletion's m. */
  restoring?: Vector;
}

export async function pull(opts: PullOptions): Promise<PullStats> {
  const stats = await pullTree(opts);
  // Snapshot references and deletions (engine/sync/snapshots.ts); their content comes on demand.
  if (opts.snapshots) opts.snapshotsSynced?.(applySnapshots(opts.db, opts.volume, readSnapshots(await opts.snapshots())));
  return stats;
}

async function pullTree(opts: PullOptions): Promise<PullStats> {
  const stats: PullStats = { dirs: 1, copied: 0, deleted: 0, conflicts: 0, postponed: 0 };
  const { tree } = opts;
  const walk = new Walk(opts, stats);
  const first = await walk.page(null, EMPTY, null);
  // What they have seen everywhere: tombstones they have seen can be forgotten (forget.ts).
  recordPeerSeen(opts.db, opts.volume, opts.peer, first.s);
  const ours = effectiveSync(tree.syncVector(tree.root), tree.epoch());
  if (first.m.size > 0 && le(first.m, ours)) {
    tree.transaction(() => tree.joinSync(tree.root, first.s));
    return stats;
  }
  const root = await readListing(first, (after) => walk.page(null, EMPTY, after));
  await walk.run({ ino: tree.root, path: '/', handle: null, base: EMPTY, ours, theirs: root.s, theirsGone: false }, root);
  walk.reportRefused();
  return stats;
}

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Extended attributes as part of a file's content key: equal lists, equal keys. */
function xattrsKey(list: Xattr[]): string {
  if (list.length === 0) return '';
  const h = createHash('sha256');
  for (const [name, value] of list) h.update(`${name.length}:${value.length}:`).update(name).update(value);
  return `:x${h.digest('base64')}`;
}

function contentKey(x: { kind: string; size: number; data: Buffer | null; manifest: Buffer | null; target: string | null; rdev: number }, xattrs: Xattr[]): string | undefined {
  if (x.kind === 'file') return `f${x.size}:${(x.manifest ?? x.data ?? Buffer.alloc(0)).toString('base64')}${xattrsKey(xattrs)}`;
  if (x.kind === 'symlink') return `l:${x.target}`;
  if (SPECIAL_KINDS.includes(x.kind as Kind)) return `${x.kind}:${x.rdev}`;
  return undefined;
}

function versionOf(e: Entry, s: Vector = e.s, m: Vector = e.m): SyncedVersion {
  const kind = e.kind as Kind;
  const data = kind === 'file' && !e.manifest ? (e.data ?? Buffer.alloc(0)) : null;
  const target = kind === 'symlink' ? (e.target ?? '') : null;
  const size = data ? data.length : target !== null ? targetSize(target) : kind === 'file' ? e.size : 0;
  return { kind, mode: e.mode, size, mtime: e.mtime, mtimeNs: e.mtimeNs, data, manifest: kind === 'file' ? e.manifest : null, target, rdev: e.rdev, xattrs: e.xattrs, m, s, c: e.c };
}

/** Their side of a name they deleted without a trace: what their directory had seen. */
function deletion(name: string, seen: Vector): Entry {
  return { name, kind: 'deleted', mode: 0, size: 0, mtime: 0, data: null, manifest: null, target: null, rdev: 0, xattrs: [], ino: null, m: seen, s: seen, c: new Map() };
}

class Walk {
  /** Open conflicts with this volume: only then can a sync settle one. */
  private readonly anyOpen: boolean;
  private readonly peerHex: string;
  /** Paths of their entries refused for being too long. */
  private readonly tooLong: string[] = [];
  /** Conflicts recorded by the transaction under way, told once it commits. */
  private found: string[] = [];

  constructor(
    private readonly opts: PullOptions,
    private readonly stats: PullStats,
  ) {
    this.peerHex = opts.peer.toString('hex');
    this.anyOpen = hasOpenConflicts(opts.db, opts.volume);
  }

  /** A page of their listing, checked (validate.ts). */
  async page(dir: DirHandle | null, base: Vector, after: string | null): Promise<Page> {
    return readPage(await this.opts.list(dir, after), { replicas: this.opts.replicas, peer: this.peerHex, root: dir === null, after, base });
  }

  /**
   * Merges a directory and everything under it (theirs is null when they
   * deleted it). Depth first, with an explicit stack (a tree may be as deep as
   * paths reach): a directory is finished after all its subdirectories, and
   * takes their s in only when all of them settled.
   */
  async run(top: Pending, theirs: Listing | null): Promise<void> {
    const { tree } = this.opts;
    interface Frame {
      at: Pending;
      subs: Pending[];
      next: number;
      settled: boolean;
    }
    const open = (at: Pending, listing: Listing | null): Frame => {
      const subs: Pending[] = [];
      this.found = [];
      const settled = tree.transaction(() => this.decide(at, listing, subs));
      for (const path of this.found) this.opts.conflictFound?.(path);
      this.opts.progress?.({ ...this.stats });
      return { at, subs, next: 0, settled };
    };
    const stack = [open(top, theirs)];
    while (stack.length > 0) {
      const f = stack[stack.length - 1];
      if (f.next < f.subs.length) {
        const sub = f.subs[f.next++];
        let listing: Listing | null = null;
        if (!sub.theirsGone) {
          if (!sub.handle) throw new Error(`internal: ${showName(sub.path)} is a directory of theirs without a handle`);
          try {
            const first = await this.page(sub.handle, sub.base, null);
            listing = await readListing(first, (after) => this.page(sub.handle, sub.base, after));
            this.stats.dirs++;
          } catch (err) {
            // Renamed or deleted there since their parent was listed: the next sync sees it.
            if (!isBazilError(err, 'NOT_FOUND') && !isBazilError(err, 'NOT_A_DIRECTORY')) throw err;
            f.settled = false;
            continue;
          }
          sub.theirs = listing.s;
        }
        stack.push(open(sub, listing));
        continue;
      }
      stack.pop();
      if (f.settled) this.finish(f.at);
      if (stack.length > 0) stack[stack.length - 1].settled &&= f.settled;
    }
  }

  /** Settles a directory whose every entry settled. */
  private finish(at: Pending): void {
    const { tree } = this.opts;
    tree.transaction(() => {
      const node = tree.get(at.ino);
      if (at.deleted && tree.children(at.ino).length === 0 && node.parent !== node.ino) {
        // Deleted on one side, changed on the other, and nothing live came
        // of the change: the deletion stands, whichever side deleted it.
        // Both sides must come to this, or each would keep the outcome it
        // reached (an empty directory here, none there) with an s that
        // covers the other's. The deletion's m covers both versions, so a
        // replica holding either one takes it.
        tree.deleteSynced(node, join(at.deleted, modOf(node)), at.theirs);
      } else {
        // What survives has seen the deletion: its m covers it, or a replica
        // that has seen our m would skip it, take our s, and keep what the
        // deletion removed.
        if (at.deleted) tree.coverUp(at.ino, at.deleted);
        tree.joinSync(at.ino, at.theirs);
      }
    });
  }

  /** Entries not taken because their path is too long for Linux: the pull fails once it has done the rest. */
  reportRefused(): void {
    if (this.tooLong.length === 0) return;
    const example = this.tooLong[0];
    throw new BazilError(
      'NAME_TOO_LONG',
      `peer sent ${this.tooLong.length} entr${this.tooLong.length === 1 ? 'y' : 'ies'} whose path is longer than ${PATH_MAX - 1} bytes (PATH_MAX), such as ${showName(example.slice(0, 60))}...; ` +
        'they were not taken, everything else was synced; shorten the path on that peer',
    );
  }

  /** Decides and applies every name of one directory; subdirectories to walk go to pending. */
  private decide(at: Pending, theirs: Listing | null, pending: Pending[]): boolean {
    const { tree } = this.opts;
    const children = new Map(tree.children(at.ino).map((n) => [n.name, n]));
    const tombs = new Map(tree.tombstones(at.ino).map((t) => [t.name, t]));
    const names = new Set([...children.keys(), ...tombs.keys(), ...(theirs?.entries.keys() ?? [])]);
    let settled = true;
    for (const name of names) {
      const node = children.get(name);
      const tomb = node ? undefined : tombs.get(name);
      const e = theirs?.entries.get(name);
      const ours: Version | undefined = node
        ? { kind: node.kind, m: modOf(node), s: join(at.ours, decode(node.s)), c: createdOf(node), content: contentKey(node, tree.xattrs.all(node.ino)) }
        : tomb
          ? { kind: 'deleted', m: tomb.m, s: join(at.ours, tomb.s), c: tomb.c }
          : this.deletedWithDir(at, e);
      const theirsV: Version | undefined = e && { kind: e.kind, m: e.m, s: e.s, c: e.c, content: contentKey(e, e.xattrs) };
      const d = reconcile(ours, theirsV, at.ours, at.theirs);
      const path = childPath(at.path, name);
      if (e && e.kind !== 'deleted' && d.do !== 'nothing' && nameBytes(path).length >= PATH_MAX) {
        // Linux could not name it (a peer could send a chain deeper than any path reaches).
        this.tooLong.push(path);
        settled = false;
        continue;
      }
      switch (d.do) {
        case 'nothing':
          if (e && node) this.settle(path);
          if (e && e.kind !== 'deleted' && !node && !tomb) tree.keepDeleted(at.ino, name, e.kind, at.ours, e.c);
          // Kept in a directory they deleted, as new to them by their
          // deletion's s. That s is the least of what they had seen in the
          // directory: they may have seen this too, and more in it (deleted
          // with the rest). Our s must not take theirs in over what we keep,
          // or it would claim what we never had: the directory stays
          // unsettled until they take ours back.
          if (node && at.theirsGone) settled = false;
          break;
        case 'same':
          if (node) tree.mergeSynced(node, e!.m, e!.s);
          // A deletion: theirs (none, when they have no trace) merges into ours.
          else tree.keepSyncedDeletion(at.ino, name, join(ours?.m ?? EMPTY, e?.m ?? at.theirs), join(ours?.s ?? EMPTY, e?.s ?? at.theirs), e?.c ?? ours!.c);
          this.settle(path);
          break;
        case 'take':
          settled = this.take(at, theirs, name, node, e, pending) && settled;
          break;
        case 'merge': {
          let dir = node;
          if (d.create) {
            if (node) throw new Error(`reconcile asked to create ${showName(path)}, which exists`);
            // Restored over our deletion: its m covers the deletion at once (what
            // the deletion removed and theirs lacks stays deleted, without a
            // tombstone of its own), even if the walk below does not settle.
            dir = tree.insertSynced(at.ino, name, versionOf(e!, d.ours, join(this.restoredM(at, e!), d.deleted ?? EMPTY)));
            this.stats.copied++;
          }
          const restoring = d.create && d.deleted ? join(at.restoring ?? EMPTY, d.deleted) : at.restoring;
          pending.push({ ino: dir!.ino, path, ...this.handleOf(theirs, e), ours: d.ours, theirs: d.theirs, theirsGone: d.theirsGone, deleted: d.deleted, restoring });
          break;
        }
        case 'conflict':
          this.conflict(path, e!, false);
          settled = false;
          break;
        case 'restore':
          // Its m covers our deletion as well as theirs: otherwise our s (which
          // has our deletion) would claim it superseded, and a replica that
          // took our deletion would judge theirs seen, and we its deletion.
          tree.insertSynced(at.ino, name, versionOf(e!, e!.s, join(this.restoredM(at, e!), d.deleted)));
          this.stats.copied++;
          this.conflict(path, e!, true);
          break;
        case 'keep':
          this.conflict(path, e ?? deletion(name, at.theirs), false);
          settled = false;
          break;
      }
    }
    return settled;
  }

  /**
   * In a directory restored over our deletion, a name we have no trace of
   * but whose creation we had seen went with the directory, whose tombstone
   * stood for it: it was deleted then, not earlier. Judged by the directory's
   * s alone, a deletion of theirs it had seen would look newer than ours and
   * be kept with their m, which a version we deleted with the directory (and
   * that a peer still holds) is covered by.
   */
  private deletedWithDir(at: Pending, e: Entry | undefined): Version | undefined {
    if (!at.deleted || at.theirsGone || !e || !le(e.c, at.ours)) return undefined;
    return { kind: 'deleted', m: at.deleted, s: at.ours, c: e.c };
  }

  /**
   * A version taken (as new, or restored as changed since) in a directory
   * restored over our deletion: judged by the directory's s, which is the
   * least of what we had seen in it, so we may well have had a later version
   * of it, or deleted it, before the directory went. If theirs had not seen
   * that deletion, its m takes the deletion's in: our s has all our own
   * changes, so with their m alone, a replica still holding a version (or a
   * deletion) of ours from before would judge ours older and keep its own,
   * and we would judge its own seen and keep theirs.
   */
  private restoredM(at: Pending, e: Entry): Vector {
    return at.restoring && !le(at.restoring, e.s) ? join(e.m, at.restoring) : e.m;
  }

  /** Theirs replaces ours: their version, or their deletion. */
  private take(at: Pending, theirs: Listing | null, name: string, node: Node | undefined, e: Entry | undefined, pending: Pending[]): boolean {
    const { tree } = this.opts;
    const path = childPath(at.path, name);
    if (!e || e.kind === 'deleted') {
      if (!node && e) tree.keepSyncedDeletion(at.ino, name, e.m, e.s, e.c);
      const settled = !node || this.remove(node, e?.m ?? at.theirs, e?.s ?? at.theirs);
      if (settled) this.settle(path);
      return settled;
    }
    if (node && node.kind === e.kind && e.kind !== 'dir') {
      if (this.busy(node)) return false;
      tree.replaceSynced(node, versionOf(e, e.s, this.restoredM(at, e)));
    } else {
      if (node && !this.remove(node, e.m, e.s)) return false;
      const made = tree.insertSynced(at.ino, name, versionOf(e, e.kind === 'dir' ? new Map() : e.s, this.restoredM(at, e)));
      if (e.kind === 'dir') pending.push({ ino: made.ino, path, ...this.handleOf(theirs, e), ours: new Map(), theirs: e.s, theirsGone: false, restoring: at.restoring });
    }
    this.stats.copied++;
    this.settle(path);
    return true;
  }

  /** Their handle of a directory entry of theirs, and its s as listed (what its pages' s are relative to). */
  private handleOf(theirs: Listing | null, e: Entry | undefined): { handle: DirHandle | null; base: Vector } {
    if (!theirs || !e || e.kind !== 'dir' || e.ino === null) return { handle: null, base: EMPTY };
    return { handle: { ino: e.ino, parent: theirs.ino, name: e.name }, base: e.s };
  }

  /** Deletes a node and everything under it for their deletion; what is open stays, and false says so. */
  private remove(node: Node, m: Vector, s: Vector): boolean {
    const { tree } = this.opts;
    // The subtree parents first (without recursion: it may be deep), then deleted children first.
    const order: Node[] = [];
    for (const stack = [node]; stack.length > 0; ) {
      const n = stack.pop()!;
      order.push(n);
      if (n.kind === 'dir') for (const child of tree.children(n.ino)) stack.push(child);
    }
    const kept = new Set<number>(); // directories that keep something open, and open files
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i];
      if (n.kind === 'dir' ? kept.has(n.ino) : this.busy(n)) {
        kept.add(n.ino);
        kept.add(n.parent);
        continue;
      }
      tree.deleteSynced(n, m, s);
      this.stats.deleted++;
    }
    return !kept.has(node.ino);
  }

  private busy(node: Node): boolean {
    if (!this.opts.isOpen(node.ino)) return false;
    this.stats.postponed++;
    this.opts.postponed(node.ino);
    return true;
  }

  private conflict(path: string, theirs: Entry, localDeleted: boolean): void {
    recordConflict(this.opts.db, this.opts.volume, path, this.opts.peer, theirs, localDeleted);
    this.stats.conflicts++;
    this.found.push(path);
  }

  private settle(path: string): void {
    if (this.anyOpen) settleConflicts(this.opts.db, this.opts.volume, path, this.opts.peer);
  }
}
