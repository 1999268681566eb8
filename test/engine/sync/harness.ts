/** Replicas of one volume in one process, synced by calling pull() directly: the sync's logic without a network or a mount. */
import { join } from 'node:path';
import { createDataDir, DataDir } from '../../../src/engine/datadir.js';
import { listPage } from '../../../src/engine/sync/listing.js';
import { pull, type PullStats } from '../../../src/engine/sync/pull.js';
import { Replicas } from '../../../src/engine/sync/replicas.js';
import { listConflicts } from '../../../src/engine/sync/conflicts.js';
import { resolveConflict, type Choice } from '../../../src/engine/sync/resolve.js';
import { Tree, type Node } from '../../../src/engine/tree/tree.js';
import { createVolume, volumeRowId } from '../../../src/engine/tree/volumes.js';
import { tempDir } from '../../helpers.js';

type T = Parameters<typeof tempDir>[0];

export class Rep {
  readonly tree: Tree;
  readonly replicas: Replicas;
  readonly key: Buffer;
  readonly volume: number;
  /** Inodes "open through a mount". */
  readonly open = new Set<number>();
  readonly postponed: number[] = [];

  constructor(
    readonly name: string,
    readonly dir: DataDir,
  ) {
    createVolume(dir.db, 'v', 'default');
    this.volume = volumeRowId(dir.db, 'v');
    this.tree = new Tree(dir.db, this.volume);
    this.key = dir.publicKey();
    this.replicas = new Replicas(dir.db, this.key);
  }

  static make(t: T, name: string): Rep {
    const path = join(tempDir(t), name);
    createDataDir(path);
    const dir = DataDir.open(path, { write: true });
    t.after(() => dir.close());
    return new Rep(name, dir);
  }

  pullFrom(other: Rep): Promise<PullStats> {
    return pull({
      tree: this.tree,
      db: this.dir.db,
      volume: this.volume,
      replicas: this.replicas,
      peer: other.key,
      // Through JSON, as on the wire.
      list: async (dir, after) => JSON.parse(JSON.stringify(listPage(other.tree, other.replicas, dir, after))),
      isOpen: (ino) => this.open.has(ino),
      postponed: (ino) => this.postponed.push(ino),
    });
  }

  // ---- file operations, by path ----
  node(path: string): Node {
    return this.tree.resolve(path);
  }

  has(path: string): boolean {
    try {
      this.tree.resolve(path);
      return true;
    } catch {
      return false;
    }
  }

  private parentAndName(path: string): [number, string] {
    const i = path.lastIndexOf('/');
    return [this.tree.resolve(path.slice(0, i) || '/').ino, path.slice(i + 1)];
  }

  write(path: string, text: string): void {
    const [parent, name] = this.parentAndName(path);
    const node = this.tree.lookup(parent, name) ?? this.tree.create(parent, name, 'file', 0o644);
    const data = Buffer.from(text);
    this.tree.setContent(node.ino, { size: data.length, data }, Date.now());
  }

  read(path: string): string {
    return (this.node(path).data ?? Buffer.alloc(0)).toString();
  }

  mkdir(path: string): void {
    const [parent, name] = this.parentAndName(path);
    this.tree.create(parent, name, 'dir', 0o755);
  }

  rm(path: string): void {
    const node = this.node(path);
    if (node.kind === 'dir') for (const c of this.tree.children(node.ino)) this.rm(`${path}/${c.name}`);
    const [parent, name] = this.parentAndName(path);
    this.tree.remove(parent, name, node.kind === 'dir');
  }

  mv(from: string, to: string): void {
    const [fp, fn] = this.parentAndName(from);
    const [tp, tn] = this.parentAndName(to);
    this.tree.rename(fp, fn, tp, tn);
  }

  conflicts(all = false) {
    return listConflicts(this.dir.db, this.volume, all);
  }

  resolve(path: string, choice: Choice) {
    return resolveConflict({ tree: this.tree, db: this.dir.db, volume: this.volume, path, choice, isOpen: (ino) => this.open.has(ino) });
  }

  /** path -> 'dir' | 'file:CONTENT' | 'link:TARGET', for comparing trees. */
  listing(): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (ino: number, path: string) => {
      for (const c of this.tree.children(ino)) {
        const p = `${path}/${c.name}`;
        out.set(p, c.kind === 'dir' ? 'dir' : c.kind === 'symlink' ? `link:${c.target}` : `file:${(c.data ?? c.manifest ?? Buffer.alloc(0)).toString()}`);
        if (c.kind === 'dir') walk(c.ino, p);
      }
    };
    walk(this.tree.root, '');
    return out;
  }
}
