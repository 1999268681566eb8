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
import type { ContentStore, FileReader, Piece, ReaderHooks, WriteResult } from '../store/content.js';
import { decodeNode, encodeNode, encodedSizes } from '../store/manifest.js';
import { Extents } from './extents.js';
import { Spill } from './spill.js';
import type { Content, Node, Tree } from './tree.js';

/** Files up to this size are stored inline in the database. */
export const INLINE_MAX = 16 * 1024;
/**
 * The largest file size Bazil keeps: 8 TiB. Writes and truncates past it are
 * EFBIG. An open file's written bytes wait in a sparse temp file at their own
 * offsets, so the data dir's file system must allow the size too: 8 TiB is
 * within ext4's 16 TiB (and every larger limit).
 */
export const MAX_FILE_SIZE = 2 ** 43;
/** Bytes per piece when streaming a file into the store. */
const PIECE = 1 << 20;
/** A new file written front to back streams into the store once it is this big. */
const STREAM_AFTER = 4 << 20;
/** Bytes queued for the store before writers wait. */
const STREAM_QUEUE = 32 << 20;

/** Committed content, as readers see it. */
type Base = { kind: 'inline'; data: Buffer } | { kind: 'manifest'; reader: FileReader };

export function baseOf(store: ContentStore, node: Pick<Node, 'ino' | 'data' | 'manifest'>, hooks?: ReaderHooks): Base {
  if (node.manifest) return { kind: 'manifest', reader: store.reader(decodeNode(node.manifest, `the manifest of inode ${node.ino}`), hooks) };
  return { kind: 'inline', data: node.data ?? Buffer.alloc(0) };
}

/** The number of bytes the content holds. */
export function baseSize(base: Base): number {
  return base.kind === 'inline' ? base.data.length : base.reader.size;
}

/**
 * A file's size and how many of its bytes are stored (not holes), as its
 * content says. A node's size column is not used for this: one that says more
 * than the content holds (a bad listing from a peer) would make reads hand out
 * bytes that do not exist. The content is what reads verify, so it sets the size.
 */
export function contentSizes(content: { data?: Buffer | null; manifest?: Buffer | null }, what: string): { size: number; stored: number } {
  if (content.manifest) return encodedSizes(content.manifest, what);
  const n = content.data?.length ?? 0;
  return { size: n, stored: n };
}

/** Copies committed bytes [start, end) into out at outOffset: all of them, or CORRUPT. */
export async function readBase(base: Base, out: Buffer, outOffset: number, start: number, end: number): Promise<void> {
  // Callers ask only for bytes the content has; a short copy would leave out's old bytes (another file's, in a FUSE buffer) in place.
  const has = baseSize(base);
  if (start < 0 || end > has || start > end) throw new BazilError('CORRUPT', `asked for bytes ${start}-${end} of content that holds ${has}`);
  const copied = base.kind === 'inline' ? base.data.copy(out, outOffset, start, end) : (await base.reader.read(start, end - start)).copy(out, outOffset);
  if (copied !== end - start) throw new BazilError('CORRUPT', `read ${copied} bytes of ${end - start} at ${start}: the content is shorter than its manifest says`);
}

/**
 * lseek(2)'s SEEK_DATA (data true) or SEEK_HOLE over a file of `size` bytes:
 * the ranges in `written` over the committed content, visible up to `visible`
 * (past it, what was not written is a hole). Returns the first offset at or
 * after `off` that is data, or that starts a hole (the end counts as one);
 * undefined (ENXIO) when `off` is at or past the end, or no data follows it.
 * Zeros stored as data (short holes, inline files) are reported as data.
 */
export async function seekContent(base: Base, visible: number, size: number, written: Extents, off: number, data: boolean): Promise<number | undefined> {
  if (off >= size) return undefined;
  for (const seg of written.segments(off, size)) {
    if (seg.inside) {
      if (data) return seg.start;
      continue;
    }
    const baseEnd = Math.min(seg.end, visible);
    if (seg.start < baseEnd) {
      const at = await seekBase(base, seg.start, data);
      if (at !== undefined && at < baseEnd) return at;
    }
    if (!data && baseEnd < seg.end) return Math.max(seg.start, baseEnd);
  }
  return data ? undefined : size;
}

/** The same over committed content alone; an inline file is all data. */
function seekBase(base: Base, off: number, data: boolean): Promise<number | undefined> {
  if (base.kind === 'inline') return Promise.resolve(data ? off : base.data.length);
  return data ? base.reader.nextData(off) : base.reader.nextHole(off);
}

export class OpenFile {
  /** Open handles; the OpenFile goes away when the last one is released. */
  refs = 0;
  /** The committed content's manifest root, which reads use: garbage collection keeps what it reaches. */
  manifest: Buffer | null;
  size: number;
  mtime: number;
  private base: Base;
  /** Committed bytes still visible: a truncate hides the rest even if the file grows again. */
  private baseVisible: number;
  private readonly dirty = new Extents();
  /** Holes punched (fallocate) in the committed content since the last commit: they read as zeros. Never overlaps dirty. */
  private readonly punched = new Extents();
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
    /** What reads of the committed content tell (chunks fetched, the end reached by read-ahead). */
    private readonly hooks?: ReaderHooks,
  ) {
    this.mtime = node.mtime;
    this.manifest = node.manifest;
    this.base = baseOf(store, node, hooks);
    this.size = baseSize(this.base); // what the content holds, whatever node.size says (see contentSizes)
    this.baseVisible = this.size;
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
      for (const u of this.unwritten(seg.start, seg.end)) {
        if (u.base) await readBase(this.base, buf, u.start - offset, u.start, u.end);
        else buf.fill(0, u.start - offset, u.end - offset); // a hole reads as zeros
      }
    }
    return end - offset;
  }

  /**
   * What was not written in [start, end) (a segment outside `dirty`), cut into
   * committed bytes (base) and holes: punched, or past the committed bytes.
   * holeAfter: a hole or the file's end follows a base piece.
   */
  private *unwritten(start: number, end: number): Generator<{ start: number; end: number; base: boolean; holeAfter: boolean }> {
    for (const seg of this.punched.segments(start, end)) {
      if (seg.inside) {
        yield { start: seg.start, end: seg.end, base: false, holeAfter: false };
        continue;
      }
      const baseEnd = Math.min(seg.end, this.baseVisible);
      if (seg.start < baseEnd) yield { start: seg.start, end: baseEnd, base: true, holeAfter: baseEnd < end || baseEnd === this.size };
      if (baseEnd < seg.end) yield { start: Math.max(seg.start, baseEnd), end: seg.end, base: false, holeAfter: false };
    }
  }

  /** SEEK_DATA (data true) or SEEK_HOLE from `off`, as seekContent; undefined is ENXIO. */
  async seek(off: number, data: boolean): Promise<number | undefined> {
    if (off >= this.size) return undefined;
    // A file being streamed was written front to back from empty: all data.
    if (this.ingest) return data ? off : this.size;
    return seekContent(this.base, this.baseVisible, this.size, this.dirty, off, data);
  }

  /** About how many bytes are stored or waiting to be, holes not counted: for st_blocks. */
  get stored(): number {
    if (this.ingest) return this.size;
    const base = this.base.kind === 'inline' ? this.base.data.length : this.base.reader.stored;
    return Math.max(0, Math.min(base, this.baseVisible) - this.punched.bytes) + this.dirty.bytes;
  }

  write(data: Buffer, offset: number): Promise<number> {
    // As write(2) at the file size limit: what fits is written, then EFBIG.
    if (offset + data.length > MAX_FILE_SIZE) {
      if (offset >= MAX_FILE_SIZE) return Promise.reject(tooBig(offset + data.length));
      data = data.subarray(0, MAX_FILE_SIZE - offset);
    }
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
      this.punched.remove(offset, offset + data.length);
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
    const buf = Buffer.alloc(size);
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
    // A file whose last name went while it was open keeps its content for its openers only.
    if (this.tree.exists(this.ino)) this.tree.setContent(this.ino, content, this.mtime, durable);
    this.manifest = content.manifest ?? null;
    this.base = baseOf(this.store, { ino: this.ino, data: content.data ?? null, manifest: content.manifest ?? null }, this.hooks);
    this.baseVisible = content.size;
    this.dirty.clear();
    this.punched.clear();
    this.changed = false;
    await this.spill.reset();
  }

  truncate(size: number): Promise<void> {
    if (size > MAX_FILE_SIZE) return Promise.reject(tooBig(size));
    return this.serialized(async () => {
      if (this.ingest) await this.finishIngest();
      if (size < this.size) {
        this.dirty.truncate(size);
        this.punched.truncate(size);
        this.baseVisible = Math.min(this.baseVisible, size);
      }
      this.size = size;
      this.mtime = Date.now();
      this.changed = true;
    });
  }

  /**
   * fallocate(2): `punch` (FALLOC_FL_PUNCH_HOLE with KEEP_SIZE) makes [offset,
   * offset + length) of the file a hole; otherwise (mode 0) the size grows to
   * cover the range, which reads as zeros. No space is reserved: the range is
   * a hole until written (keepSize alone is then nothing to do).
   */
  allocate(offset: number, length: number, punch: boolean, keepSize: boolean): Promise<void> {
    const end = offset + length;
    if (end > MAX_FILE_SIZE) return Promise.reject(tooBig(end));
    return this.serialized(async () => {
      if (this.ingest) await this.finishIngest();
      if (punch) {
        const to = Math.min(end, this.size);
        if (offset >= to) return;
        this.dirty.remove(offset, to);
        this.punched.add(offset, to);
      } else if (keepSize || end <= this.size) return;
      else this.size = end;
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
    const result = await this.store.writeFile(this.layout(size));
    if (result.size !== size) throw new BazilError('INTERNAL', `inode ${this.ino}: stored ${result.size} bytes of ${size}`);
    return { size, manifest: encodeNode(result.manifest) };
  }

  /**
   * The file as pieces to store: the bytes written, the committed content
   * where nothing was written over it (its chunks reused where the cut points
   * line up, so a commit costs what was changed, not the file size), and holes
   * where nothing was ever written. Holes are neither read nor stored.
   */
  private async *layout(size: number): AsyncGenerator<Piece> {
    for (const seg of this.dirty.segments(0, size)) {
      if (seg.inside) {
        for (let at = seg.start; at < seg.end; at += PIECE) {
          const buf = Buffer.alloc(Math.min(PIECE, seg.end - at));
          await this.spill.read(buf, 0, buf.length, at);
          yield buf;
        }
        continue;
      }
      for (const u of this.unwritten(seg.start, seg.end)) {
        if (!u.base) yield { hole: u.end - u.start };
        else if (this.base.kind === 'inline') yield Buffer.from(this.base.data.subarray(u.start, u.end));
        else yield* this.base.reader.pieces(u.start, u.end, u.holeAfter);
      }
    }
  }

  /** Drops the dirty buffer; call after the last handle is released (and committed). */
  async close(): Promise<void> {
    await this.queue;
    await this.spill.close();
  }
}

function tooBig(size: number): BazilError {
  return new BazilError('FILE_TOO_BIG', `a file of ${size} bytes is larger than Bazil keeps (${MAX_FILE_SIZE} bytes, 8 TiB)`);
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
