/**
 * Every reference to content a data dir holds: the files of each volume's
 * live tree, of its snapshots (and the snapshots' directory objects), of its
 * open conflicts, and of files open through a mount (an unlinked file still
 * open reads its old content). Garbage collection marks what they reach;
 * check verifies that what they reach can be had.
 *
 * A reference is an encoded manifest root. A manifest seen once is not
 * visited again (an unchanged file is in every snapshot, an unchanged
 * directory object too), so the walk costs the distinct content, not the
 * number of snapshots.
 */
import { nameFromBytes, showName } from '../names.js';
import type { Db } from '../db/open.js';
import type { ContentStore } from '../store/content.js';
import { SnapshotReader, type SnapEntry } from '../tree/snapshots.js';
import type { Node, Tree } from '../tree/tree.js';

export interface RefVolume {
  name: string;
  rowId: number;
  tree: Tree;
  store: ContentStore;
}

export interface ContentRef {
  volume: RefVolume;
  /** Where the reference is: "live", "snapshot NAME", "conflict at PATH", "open file". */
  origin: string;
  /** From the volume's (or the snapshot's) root; a snapshot directory's ends with "/". */
  path: string;
  manifest: Buffer;
}

export interface WalkOptions {
  db: Db;
  volumes: RefVolume[];
  /** The manifests of files open through a volume's mount. */
  openManifests(volume: RefVolume): Buffer[];
  /** Told of each distinct reference once. */
  visit(ref: ContentRef): Promise<void>;
  /** A snapshot directory that could not be read: what is under it is not known. */
  unreadable(volume: RefVolume, origin: string, path: string, why: string): void;
}

const childPath = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

export async function walkReferences(opts: WalkOptions): Promise<void> {
  const seen = new Set<string>();
  const visit = async (ref: ContentRef): Promise<void> => {
    const key = ref.manifest.toString('base64');
    if (seen.has(key)) return;
    seen.add(key);
    await opts.visit(ref);
  };
  for (const volume of opts.volumes) {
    const nodes = volume.tree.all();
    const byIno = new Map(nodes.map((n) => [n.ino, n]));
    const pathOf = (n: Node): string => {
      const names: string[] = [];
      for (let at: Node | undefined = n; at && at.parent !== at.ino; at = byIno.get(at.parent)) names.push(at.name);
      return `/${names.reverse().join('/')}`;
    };
    for (const n of nodes) if (n.kind === 'file' && n.manifest) await visit({ volume, origin: 'live', path: pathOf(n), manifest: n.manifest });
    for (const manifest of opts.openManifests(volume)) await visit({ volume, origin: 'open file', path: '?', manifest });
    const conflicts = opts.db
      .prepare('SELECT path, manifest FROM conflicts WHERE volume = ? AND resolved_at IS NULL AND manifest IS NOT NULL')
      .all(volume.rowId) as { path: Buffer; manifest: Buffer }[];
    for (const c of conflicts) {
      const path = nameFromBytes(c.path);
      await visit({ volume, origin: `conflict at ${showName(path)}`, path, manifest: c.manifest });
    }
    await walkSnapshots(opts, volume, visit, seen);
  }
}

/** Each snapshot's directory objects and files, depth first (without recursion: a tree may be deep). */
async function walkSnapshots(opts: WalkOptions, volume: RefVolume, visit: (ref: ContentRef) => Promise<void>, seen: Set<string>): Promise<void> {
  const reader = new SnapshotReader(opts.db, volume.rowId, volume.store);
  for (const name of reader.names()) {
    const origin = `snapshot ${name}`;
    const stack: { entry: SnapEntry; path: string }[] = [{ entry: reader.root(name), path: '/' }];
    while (stack.length > 0) {
      const { entry, path } = stack.pop()!;
      const key = entry.manifest!.toString('base64');
      if (seen.has(key)) continue; // this directory object, and all under it, was walked already
      await visit({ volume, origin, path: path === '/' ? '/' : `${path}/`, manifest: entry.manifest! });
      let children: SnapEntry[];
      try {
        children = await reader.list(entry);
      } catch (err) {
        opts.unreadable(volume, origin, path, (err as Error).message);
        continue;
      }
      for (const child of children) {
        const at = childPath(path, child.name);
        if (child.kind === 'dir' && child.manifest) stack.push({ entry: child, path: at });
        else if (child.kind === 'file' && child.manifest) await visit({ volume, origin, path: at, manifest: child.manifest });
      }
    }
  }
}
