/**
 * The files open in one volume, by inode: one OpenFile per open inode, shared
 * by all its handles. The mount opens and releases them; the sync asks whether
 * a file is open (it does not change a file under its readers) and waits for
 * its last close.
 *
 * Read-ahead goes on past a file's end into the next file of its directory
 * (in name order, as `cat dir/*`, `cp -r` and `tar` mostly read), so a
 * program reading a directory's files one after the other does not wait for
 * a round trip to a peer at the start of each.
 */
import type { ContentStore } from '../store/content.js';
import { decodeNode } from '../store/manifest.js';
import { OpenFile } from './open-file.js';
import type { Node, Tree } from './tree.js';

/** Entries looked at after a file for the next file to read ahead in (directories in between are skipped). */
const NEXT_LOOKS = 4;

export class OpenFiles {
  private readonly files = new Map<number, OpenFile>();
  /** Callbacks waiting for a file's last close, by inode. */
  private readonly waiting = new Map<number, (() => void)[]>();

  constructor(
    private readonly tree: Tree,
    private readonly store: ContentStore,
    /** Where open files keep their dirty buffers. */
    private readonly tmpDir: string,
    /** Told, per open file, the size of each chunk a read had to fetch from a source. */
    private readonly fetched?: (ino: number, bytes: number) => void,
  ) {}

  get(ino: number): OpenFile | undefined {
    return this.files.get(ino);
  }

  /** The manifests open files read from (garbage collection keeps their content). */
  manifests(): Buffer[] {
    return [...this.files.values()].flatMap((f) => (f.manifest ? [f.manifest] : []));
  }

  isOpen(ino: number): boolean {
    return this.files.has(ino);
  }

  /** Opens a handle on node's file (the OpenFile is shared with its other handles). */
  open(node: Node): OpenFile {
    let file = this.files.get(node.ino);
    if (!file) {
      const ino = node.ino;
      file = new OpenFile(ino, node, this.tree, this.store, this.tmpDir, {
        fetched: this.fetched && ((bytes) => this.fetched!(ino, bytes)),
        nearEnd: (chunks) => this.readAheadNext(ino, chunks),
      });
      this.files.set(node.ino, file);
    }
    file.refs++;
    return file;
  }

  /** Releases a handle; the last one commits the file and closes it. */
  async release(file: OpenFile): Promise<void> {
    file.refs--;
    if (file.refs > 0) return;
    try {
      await file.commit();
    } finally {
      if (file.refs === 0) {
        this.files.delete(file.ino);
        await file.close();
        this.closed(file.ino);
      }
    }
  }

  /** Calls fn when the file's last handle is released (or at once if it is not open). */
  whenClosed(ino: number, fn: () => void): void {
    if (!this.isOpen(ino)) return fn();
    this.waiting.set(ino, [...(this.waiting.get(ino) ?? []), fn]);
  }

  /** Commits every open file's writes; for snapshots and unmount. */
  async commitAll(durable = false): Promise<void> {
    for (const file of this.files.values()) await file.commit(durable);
  }

  /** After an unmount (with everything committed) nothing is open any more: what waited for a close can go ahead. */
  async closeAll(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    for (const file of files) await file.close();
    for (const ino of [...this.waiting.keys()]) this.closed(ino);
  }

  /** Starts fetching the first chunks of the file after ino in its directory (a few entries on at most), unless it is open. */
  private readAheadNext(ino: number, chunks: number): void {
    if (!this.tree.exists(ino)) return;
    const node = this.tree.get(ino);
    const next = this.tree.childrenAfter(node.parent, node.name, NEXT_LOOKS).find((n) => n.kind === 'file');
    if (!next?.manifest || this.isOpen(next.ino)) return;
    void this.store
      .reader(decodeNode(next.manifest, `the manifest of inode ${next.ino}`))
      .prefetch(0, chunks)
      .catch(() => {}); // read-ahead only: a failure shows when the file is read
  }

  private closed(ino: number): void {
    const fns = this.waiting.get(ino);
    this.waiting.delete(ino);
    for (const fn of fns ?? []) fn();
  }
}
