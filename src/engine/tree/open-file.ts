/**
 * Files open through a mount. Each open inode has one OpenFile, shared by all
 * its handles: writes land in a local dirty buffer (spill.ts: memory, then a
 * sparse file in the data dir's tmp/; extents.ts: which bytes were written),
 * reads merge that buffer over the committed content, and commit() stores the result in the
 * encrypted store and records it in the tree (commit-on-close).
 *
 * Small files are kept inline in the database: one row write instead of an
 * object file and its fsync, which is what makes many small files fast.
 */
import { BazilError } from '../errors.js';
import type { ContentStore, FileReader, WriteResult } from '../store/content.js';
import { decodeNode, encodeNode } from '../store/manifest.js';
import { Extents } from './extents.js';
import { Spill } from './spill.js';
import type { Content, Node, Tree } from './tree.js';

/** Files up to this size are stored inline in the database. */
export const INLINE_MAX = 16 * 1024;
/** Bytes per piece when streaming a file into the store. */
const PIECE = 1 << 20;
/** A new file written front to back streams into the store once it is this big. */
const STREAM_AFTER = 4 << 20;
/** Bytes queued for the store before writers wait. */
const STREAM_QUEUE = 32 << 20;

/** Committed content, as readers see it. */
type Base = { kind: 'inline'; data: Buffer } | { kind: 'manifest'; reader: FileReader };

export function baseOf(store: ContentStore, node: Pick<Node, 'ino' | 'data' | 'manifest'>): Base {
  if (node.manifest) return { kind: 'manifest', reader: store.reader(decodeNode(node.manifest, `the manifest of inode ${node.ino}`)) };
  return { kind: 'inline', data: node.data ?? Buffer.alloc(0) };
}

/** Copies committed bytes [start, end) into out at outOffset. */
export async function readBase(base: Base, out: Buffer, outOffset: number, start: number, end: number): Promise<void> {
  if (base.kind === 'inline') {
    base.data.copy(out, outOffset, start, end);
    return;
  }
  const bytes = await base.reader.read(start, end - start);
  bytes.copy(out, outOffset);
}

export class OpenFile {
  /** Open handles; the OpenFile goes away when the last one is released. */
  refs = 0;
  size: number;
  mtime: number;
  private base: Base;
  /** Committed bytes still visible: a truncate hides the rest even if the file grows again. */
  private baseVisible: number;
  private readonly dirty = new Extents();
  private changed = false;
  private readonly spill: Spill;
  /** Serializes writes, truncates and commits. */
  private queue: Promise<unknown> = Promise.resolve();
  /** While a new file is written front to back, its bytes go straight into the store. */
  private ingest?: Ingest;

  constructor(
    readonly ino: number,
    node: Node,
    private readonly tree: Tree,
    private readonly store: ContentStore,
    tmpDir: string,
  ) {
    this.size = node.size;
    this.mtime = node.mtime;
    this.base = baseOf(store, node);
    this.baseVisible = node.size;
    this.spill = new Spill(tmpDir, String(ino));
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Reads up to `length` bytes at `offset` into buf; returns the count (0 at end of file). */
  async read(buf: Buffer, length: number, offset: number): Promise<number> {
    // Streamed bytes are readable once stored: finish the stream, then read the store.
    if (this.ingest) await this.serialized(async () => this.ingest && this.finishIngest());
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return 0;
    for (const seg of this.dirty.segments(offset, end)) {
      const at = seg.start - offset;
      if (seg.inside) {
        await this.spill.read(buf, at, seg.end - seg.start, seg.start);
        continue;
      }
      const baseEnd = Math.min(seg.end, this.baseVisible);
      if (seg.start < baseEnd) await readBase(this.base, buf, at, seg.start, baseEnd);
      // Past the committed bytes and never written: a hole, which reads as zeros.
      const zeroFrom = Math.max(seg.start, baseEnd);
      if (zeroFrom < seg.end) buf.fill(0, zeroFrom - offset, seg.end - offset);
    }
    return end - offset;
  }

  write(data: Buffer, offset: number): Promise<number> {
    return this.serialized(async () => {
      if (this.ingest && offset === this.size) {
        await this.ingest.push(Buffer.from(data)); // a copy: the caller's buffer is reused
        this.grown(offset + data.length);
        return data.length;
      }
      if (this.ingest) await this.finishIngest();
      else if (this.canIngest(offset, offset + data.length)) {
        const head = this.size > 0 ? await this.readSpill(this.size) : undefined;
        this.ingest = new Ingest(this.store);
        if (head) await this.ingest.push(head);
        await this.ingest.push(Buffer.from(data));
        await this.spill.reset();
        this.dirty.clear();
        this.grown(offset + data.length);
        return data.length;
      }
      await this.spill.write(data, offset);
      this.dirty.add(offset, offset + data.length);
      this.grown(offset + data.length);
      return data.length;
    });
  }

  private grown(end: number): void {
    this.size = Math.max(this.size, end);
    this.mtime = Date.now();
    this.changed = true;
  }

  /**
   * Streaming starts when a file that began empty, written front to back so
   * far, is appended to past STREAM_AFTER bytes: chunking and encryption then
   * overlap the writes instead of all waiting for the close.
   */
  private canIngest(offset: number, end: number): boolean {
    const frontToBack = this.size === 0 || (this.dirty.first === 0 && this.dirty.coversTo(this.size));
    return offset === this.size && end > STREAM_AFTER && this.baseVisible === 0 && frontToBack;
  }

  private async readSpill(size: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(size);
    await this.read(buf, size, 0);
    return buf;
  }

  /** Ends streaming: records what was streamed as the committed content. */
  private async finishIngest(durable = false): Promise<void> {
    const ingest = this.ingest!;
    this.ingest = undefined;
    const result = await ingest.finish();
    await this.committed({ size: result.size, manifest: encodeNode(result.manifest) }, durable);
  }

  /** Records content in the tree and makes it the base that reads see; the dirty buffer is empty after. */
  private async committed(content: Content, durable: boolean): Promise<void> {
    this.tree.setContent(this.ino, content, this.mtime, durable);
    this.base = baseOf(this.store, { ino: this.ino, data: content.data ?? null, manifest: content.manifest ?? null });
    this.baseVisible = content.size;
    this.dirty.clear();
    this.changed = false;
    await this.spill.reset();
  }

  truncate(size: number): Promise<void> {
    return this.serialized(async () => {
      if (this.ingest) await this.finishIngest();
      if (size < this.size) {
        this.dirty.truncate(size);
        this.baseVisible = Math.min(this.baseVisible, size);
      }
      this.size = size;
      this.mtime = Date.now();
      this.changed = true;
    });
  }

  /** Sets the mtime the next commit records (utimens on an open file). */
  setMtime(mtime: number): void {
    this.mtime = mtime;
  }

  /**
   * Stores what was written and records it in the tree. With durable (fsync),
   * the tree's commit is synced to disk too; store objects always are.
   */
  commit(durable = false): Promise<void> {
    return this.serialized(async () => {
      if (this.ingest) return this.finishIngest(durable);
      if (!this.changed) {
        if (durable) this.tree.sync();
        return;
      }
      await this.committed(await this.store_(), durable);
    });
  }

  private async store_(): Promise<Content> {
    const size = this.size;
    if (size <= INLINE_MAX) {
      const data = Buffer.alloc(size);
      await this.read(data, size, 0);
      return { size, data };
    }
    const result = await this.store.writeFile(this.pieces(size));
    if (result.size !== size) throw new BazilError('INTERNAL', `inode ${this.ino}: stored ${result.size} bytes of ${size}`);
    return { size, manifest: encodeNode(result.manifest) };
  }

  private async *pieces(size: number): AsyncGenerator<Buffer> {
    for (let at = 0; at < size; at += PIECE) {
      const buf = Buffer.allocUnsafe(Math.min(PIECE, size - at));
      await this.read(buf, buf.length, at);
      yield buf;
    }
  }

  /** Drops the dirty buffer; call after the last handle is released (and committed). */
  async close(): Promise<void> {
    await this.queue;
    await this.spill.close();
  }
}

/** A file being streamed into the store as it is written: a bounded queue feeding writeFile. */
class Ingest {
  private readonly pieces: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private wakeReader?: () => void;
  private wakeWriter?: () => void;
  private failure?: unknown;
  private readonly result: Promise<WriteResult>;

  constructor(store: ContentStore) {
    this.result = store.writeFile(this.source());
    this.result.catch((err) => {
      this.failure = err;
      this.wakeWriter?.();
    });
  }

  private async *source(): AsyncGenerator<Buffer> {
    for (;;) {
      const piece = this.pieces.shift();
      if (piece) {
        this.queued -= piece.length;
        this.wakeWriter?.();
        yield piece;
      } else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  async push(piece: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.pieces.push(piece);
    this.queued += piece.length;
    this.wakeReader?.();
    while (this.queued > STREAM_QUEUE && !this.failure) await new Promise<void>((resolve) => (this.wakeWriter = resolve));
    if (this.failure) throw this.failure;
  }

  finish(): Promise<WriteResult> {
    this.ended = true;
    this.wakeReader?.();
    return this.result;
  }
}
