/**
 * The content store of one sharing key: files in, manifests out, and any byte
 * range of a manifest back. It chunks, hashes, encrypts and dedups; where the
 * encrypted objects live is the ObjectStore's business.
 */
import { BazilError, isBazilError } from '../errors.js';
import { Chunker, DEFAULT_CHUNK_PARAMS, gearTable, type ChunkParams } from './chunker.js';
import { ConvergentKey, sha256Async, toHex } from './convergent.js';
import { LruCache } from './lru.js';
import {
  DEFAULT_FANOUT,
  ManifestBuilder,
  decodeNode,
  encodeNode,
  holeEntry,
  isHole,
  manifestSize,
  manifestStored,
  nodeEntry,
  storedOf,
  type FanoutParams,
  type ManifestEntry,
  type ManifestNode,
} from './manifest.js';
import type { ObjectStore } from './objects.js';

export interface ContentStoreOptions {
  chunk?: ChunkParams;
  fanout?: FanoutParams;
  /** Bytes of decrypted chunks kept for repeated reads. */
  cacheBytes?: number;
  /** Where to fetch objects missing from the local store (peers), asked in order (the first that has it answers). */
  sources?: () => ObjectSource[];
  /** Told of each object fetched from a source, once its bytes are verified (the cache's where-table). */
  fetched?(id: Buffer, source: ObjectSource, kept: boolean): void;
  /** When no source could provide an object: which stores were last known to hold it, for the message. */
  knownHolders?(id: Buffer): string | undefined;
}

/** Somewhere else that may hold an object: a peer's store. */
export interface ObjectSource {
  /** For messages: peer 1a2b3c4d... */
  name: string;
  /** The store as the cache's where-table names it (peer:HEX). */
  store: string;
  /**
   * The object's bytes, and whether the source keeps it (holds it for good, not
   * as an evictable cache copy); NOT_FOUND when it has none.
   */
  get(id: Uint8Array): Promise<{ bytes: Buffer; kept: boolean }>;
}

/** A run of zero bytes that are not stored: a hole, as in a sparse file. */
export interface Hole {
  hole: number;
}

/**
 * Bytes already stored as one data chunk (from the manifest the file had): the
 * entry is reused as it is when the chunker is at a cut point there, so an edit
 * re-chunks from the chunk before it until the cut points line up again, and the
 * rest of the file is neither read nor written.
 */
export interface Stored {
  entry: ManifestEntry;
  bytes(): Promise<Buffer>;
}

/** What a file is written from, in file order. */
export type Piece = Uint8Array | Hole | Stored;

const isHolePiece = (p: Piece): p is Hole => typeof (p as Hole).hole === 'number';
const isStoredPiece = (p: Piece): p is Stored => (p as Stored).entry !== undefined;

/** Holes are cut into entries of at most this many bytes, so a span never nears 2^53. */
const HOLE_MAX = 2 ** 48;
/**
 * Shorter holes are stored as zeros: a hole ends a chunk, and many small ones
 * (posix_fallocate's fallback writes a byte per block) would make many tiny
 * chunks where zeros make a few that dedup to one object.
 */
export const HOLE_MIN = 64 * 1024;

export interface WriteStats {
  /** File bytes read from the source, holes excluded. */
  bytes: number;
  /** Data chunks the file was cut into. */
  chunks: number;
  /** Objects (data chunks and manifest nodes) that were not stored before. */
  newObjects: number;
  /** Plaintext bytes of those new objects: what this write added to the store. */
  newBytes: number;
}

export interface WriteResult {
  manifest: ManifestNode;
  size: number;
  stats: WriteStats;
}

/** Chunks being hashed, encrypted and written at once while the next are cut. */
const WRITE_WINDOW = 8;
/** Chunks fetched ahead of a sequential reader. */
const READ_AHEAD = 8;

export class ContentStore {
  private readonly key: ConvergentKey;
  private readonly gear: Int32Array;
  private readonly chunkParams: ChunkParams;
  private readonly fanout: FanoutParams;
  private readonly chunkCache: LruCache<Buffer>;
  private readonly nodeCache = new LruCache<ManifestNode>(256);
  private readonly loading = new Map<string, Promise<Buffer>>();
  private readonly sources: () => ObjectSource[];
  private readonly options: ContentStoreOptions;

  constructor(
    readonly objects: ObjectStore,
    sharingKey: Uint8Array,
    options: ContentStoreOptions = {},
  ) {
    this.key = new ConvergentKey(sharingKey);
    this.gear = gearTable(sharingKey);
    this.chunkParams = options.chunk ?? DEFAULT_CHUNK_PARAMS;
    this.fanout = options.fanout ?? DEFAULT_FANOUT;
    this.chunkCache = new LruCache<Buffer>(options.cacheBytes ?? 32 << 20, (b) => b.length);
    this.sources = options.sources ?? (() => []);
    this.options = options;
  }

  /** Where the chunk with plaintext hash h is stored (for tools and tests). */
  objectId(h: Uint8Array): Buffer {
    return this.key.objectId(h);
  }

  /** Stores one chunk; `stored` is false when it was already present. */
  async putChunk(plain: Buffer): Promise<{ h: Buffer; stored: boolean }> {
    const h = await sha256Async(plain);
    const stored = await this.objects.put(this.key.objectId(h), () => this.key.seal(plain, h));
    return { h, stored };
  }

  /**
   * The verified plaintext of the chunk with hash h. `fetched` hears the size
   * of what had to come from a source (for progress), when this call started
   * the fetch.
   */
  async getChunk(h: Buffer, fetched?: (bytes: number) => void): Promise<Buffer> {
    const hex = toHex(h);
    const hit = this.chunkCache.get(hex);
    if (hit) {
      this.objects.touch?.(this.key.objectId(h)); // a read from memory is a use too: the cache's recency
      return hit;
    }
    // Readers and read-ahead asking for the same chunk share one fetch.
    let loading = this.loading.get(hex);
    if (!loading) {
      loading = this.load(h, fetched);
      this.loading.set(hex, loading);
      loading.then(
        (plain) => {
          this.chunkCache.set(hex, plain);
          this.loading.delete(hex);
        },
        () => this.loading.delete(hex),
      );
    }
    return loading;
  }

  /**
   * Reads the local object of the chunk with hash h from disk (no memory
   * cache), decrypts and verifies it: NOT_FOUND when it is not here, CORRUPT
   * when its bytes are not that chunk. Returns its size on disk.
   */
  async verify(h: Buffer): Promise<number> {
    const object = await this.objects.get(this.key.objectId(h));
    await this.key.open(object, h);
    return object.length;
  }

  /** Replaces a bad local copy of the chunk with hash h by a verified one from a source (UNAVAILABLE when none has it). */
  async refetch(h: Buffer): Promise<void> {
    const id = this.key.objectId(h);
    if (this.sources().length === 0) throw new BazilError('UNAVAILABLE', `object ${toHex(id)} is bad here, and this volume has no peer or store to fetch a good copy from; add one with \`bazil volume storage add\``);
    await this.objects.remove?.(id);
    await this.load(h);
  }

  /**
   * A chunk from the local store, else from the first source that has it. A
   * fetched object is verified before it is kept locally: a source can make a
   * read fail, never store bad bytes here.
   */
  private async load(h: Buffer, fetched?: (bytes: number) => void): Promise<Buffer> {
    const id = this.key.objectId(h);
    try {
      return await this.key.open(await this.objects.get(id), h);
    } catch (err) {
      const corrupt = isBazilError(err, 'CORRUPT');
      if (!isBazilError(err, 'NOT_FOUND') && !corrupt) throw err;
      const sources = this.sources();
      if (sources.length === 0) throw err;
      // A fetched copy is not fsync'd: after a crash it may be torn. Fetch it again.
      if (corrupt && this.objects.remove) await this.objects.remove(id);
      else if (corrupt) throw err;
      const failures: string[] = [];
      let refused = false;
      for (const source of sources) {
        let got: { bytes: Buffer; kept: boolean };
        try {
          got = await source.get(id);
        } catch (e) {
          refused ||= isBazilError(e, 'UNAUTHORIZED');
          failures.push(`${source.name}: ${(e as Error).message}`);
          continue;
        }
        const plain = await this.key.open(got.bytes, h); // CORRUPT if the source sent other bytes
        this.options.fetched?.(id, source, got.kept);
        await this.objects.put(id, async () => [got.bytes], { fetched: true });
        fetched?.(plain.length);
        return plain;
      }
      const known = this.options.knownHolders?.(id);
      // The file exists; its content cannot be had now: not "no such file" (ENOENT), but
      // "not allowed" (EACCES) when a peer refused, else unavailable (EIO).
      throw new BazilError(
        refused ? 'UNAUTHORIZED' : 'UNAVAILABLE',
        `object ${toHex(id)} is not in the local store, and no peer or store could provide it (${failures.join('; ')})` + (known ? `; make one of these available: ${known}` : ''),
      );
    }
  }

  /**
   * Streams a file into the store. Returns its manifest root (the inner nodes are
   * stored; the root is the caller's to keep inline or to store with putManifest).
   * Everything is durable when this returns.
   */
  async writeFile(source: AsyncIterable<Piece> | Iterable<Piece>, onProgress?: (bytes: number) => void): Promise<WriteResult> {
    const release = this.objects.hold?.() ?? (() => {});
    try {
      return await this.write(source, onProgress);
    } finally {
      release();
    }
  }

  /** Marks a longer write (many writeFile calls, as a snapshot makes): see ObjectStore.hold. */
  hold(): () => void {
    return this.objects.hold?.() ?? (() => {});
  }

  private async write(source: AsyncIterable<Piece> | Iterable<Piece>, onProgress?: (bytes: number) => void): Promise<WriteResult> {
    const stats: WriteStats = { bytes: 0, chunks: 0, newObjects: 0, newBytes: 0 };
    let size = 0;
    const put = async (plain: Buffer): Promise<Buffer> => {
      const { h, stored } = await this.putChunk(plain);
      if (stored) {
        stats.newObjects++;
        stats.newBytes += plain.length;
      }
      return h;
    };
    const builder = new ManifestBuilder(async (node) => nodeEntry(await put(encodeNode(node)), node), this.fanout);
    // Puts run concurrently (their I/O on libuv's threads) while the next chunks
    // are cut; entries reach the builder in file order.
    const pending: { h: Promise<Buffer>; span: number; stored?: number }[] = [];
    const settleOldest = async () => {
      const { h, span, stored } = pending.shift()!;
      await builder.add(stored === undefined ? { h: await h, span } : { h: await h, span, stored });
    };
    const addEntry = async (entry: { h: Promise<Buffer>; span: number; stored?: number }) => {
      pending.push(entry);
      if (pending.length > WRITE_WINDOW) await settleOldest();
    };
    const addChunk = async (chunk: Buffer) => {
      stats.chunks++;
      const h = put(chunk);
      h.catch(() => {}); // awaited in order below; this only marks it handled
      await addEntry({ h, span: chunk.length });
    };
    const pushData = async (data: Buffer) => {
      stats.bytes += data.length;
      size += data.length;
      for (const chunk of chunker.push(data)) await addChunk(chunk);
    };
    // Consecutive holes make one entry, added when data (or the end) follows.
    let hole = 0;
    const endHole = async () => {
      if (hole > 0 && hole < HOLE_MIN) {
        await pushData(Buffer.alloc(hole));
        hole = 0;
        return;
      }
      if (hole > 0) for (const chunk of chunker.finish()) await addChunk(chunk); // data before a hole ends a chunk
      size += hole;
      for (; hole > 0; hole -= Math.min(hole, HOLE_MAX)) {
        const e = holeEntry(Math.min(hole, HOLE_MAX));
        await addEntry({ h: Promise.resolve(e.h), span: e.span, stored: 0 });
      }
    };
    const chunker = new Chunker(this.gear, this.chunkParams);
    try {
      for await (const piece of source) {
        if (isHolePiece(piece)) {
          hole += piece.hole;
          continue;
        }
        await endHole();
        if (isStoredPiece(piece)) {
          if (chunker.atCut) {
            stats.chunks++;
            stats.bytes += piece.entry.span;
            size += piece.entry.span;
            await addEntry({ h: Promise.resolve(piece.entry.h), span: piece.entry.span });
          } else await pushData(await piece.bytes());
        } else await pushData(Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
        onProgress?.(stats.bytes);
      }
      await endHole();
      for (const chunk of chunker.finish()) await addChunk(chunk);
      while (pending.length > 0) await settleOldest();
    } catch (err) {
      // Let the puts under way finish, so nothing is still writing when we return.
      await Promise.allSettled(pending.map((p) => p.h));
      throw err;
    }
    const manifest = await builder.finish();
    await this.objects.flush();
    return { manifest, size, stats };
  }

  /** Stores a manifest root as an object; its hash is then a complete reference to the file. */
  async putManifest(root: ManifestNode): Promise<Buffer> {
    const { h } = await this.putChunk(encodeNode(root));
    await this.objects.flush();
    return h;
  }

  /** Loads a manifest node by hash (cached); CORRUPT if the object is not a manifest. */
  async getManifest(h: Buffer): Promise<ManifestNode> {
    const hex = toHex(h);
    const hit = this.nodeCache.get(hex);
    if (hit) return hit;
    const node = decodeNode(await this.getChunk(h), `object ${toHex(this.key.objectId(h))}`);
    this.nodeCache.set(hex, node);
    return node;
  }

  reader(root: ManifestNode, hooks?: ReaderHooks): FileReader {
    return new FileReader(this, root, hooks);
  }
}

interface LeafRange {
  entry: ManifestEntry;
  /** File offset of the entry's first byte. */
  offset: number;
}

/** Zeros are handed out in pieces of at most this many bytes. */
const ZEROS_PIECE = 1 << 20;

export interface ReaderHooks {
  /** Told the size of each chunk a read of this file (or its read-ahead) had to fetch from a source. */
  fetched?(bytes: number): void;
  /**
   * Told once, when read-ahead of a sequential reader reaches the end of the
   * file with room for `chunks` more: the reader of a directory's files in
   * order can have the next file's first chunks fetched already.
   */
  nearEnd?(chunks: number): void;
}

/** Random-access and sequential reads of one file's bytes, verified on the way. Holes read as zeros. */
export class FileReader {
  readonly size: number;
  /** Bytes that are data, not holes. */
  readonly stored: number;
  private lastEnd = -1;
  private lastLeaf?: LeafRange;
  private readonly fetched?: (bytes: number) => void;
  private nearEnd?: (chunks: number) => void;

  constructor(
    private readonly store: ContentStore,
    private readonly root: ManifestNode,
    hooks: ReaderHooks = {},
  ) {
    this.size = manifestSize(root);
    this.stored = manifestStored(root);
    this.fetched = hooks.fetched && ((bytes) => hooks.fetched!(bytes));
    this.nearEnd = hooks.nearEnd && ((chunks) => hooks.nearEnd!(chunks));
  }

  /**
   * Up to `length` bytes from `offset` (fewer at the end of the file). A read
   * that starts where the last one ended fetches the next chunks in the
   * background, so a sequential reader in small pieces does not wait on each.
   */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return Buffer.alloc(0);
    if (offset === this.lastEnd) void this.prefetch(end, READ_AHEAD, true).catch(() => {}); // errors surface when the bytes are read
    this.lastEnd = end;
    // Small sequential reads mostly fall in the chunk the last one used.
    const last = this.lastLeaf;
    if (last && offset >= last.offset && end <= last.offset + last.entry.span) return this.slice(last, offset, end);
    const leaves: LeafRange[] = [];
    for await (const leaf of this.leaves(offset, end)) leaves.push(leaf);
    this.lastLeaf = leaves[leaves.length - 1];
    if (leaves.length === 1) return this.slice(leaves[0], offset, end);
    return Buffer.concat(await Promise.all(leaves.map((leaf) => this.slice(leaf, offset, end))), end - offset);
  }

  /** Starts fetching the first `chunks` data chunks from `from` (those not here yet); toNext: tell nearEnd if the file ends first. */
  async prefetch(from: number, chunks: number, toNext = false): Promise<void> {
    let n = 0;
    for await (const leaf of this.leaves(from, this.size)) {
      if (isHole(leaf.entry)) continue;
      void this.store.getChunk(leaf.entry.h, this.fetched).catch(() => {});
      if (++n >= chunks) return;
    }
    const nearEnd = toNext ? this.nearEnd : undefined;
    this.nearEnd = undefined;
    nearEnd?.(chunks - n);
  }

  /** The bytes of [start, end) in order, fetching a few chunks ahead. */
  async *stream(start = 0, end = this.size): AsyncGenerator<Buffer> {
    end = Math.min(end, this.size);
    const ahead: Promise<Buffer>[] = [];
    for await (const leaf of this.leaves(start, end)) {
      if (isHole(leaf.entry)) {
        while (ahead.length > 0) yield await ahead.shift()!;
        const to = Math.min(end, leaf.offset + leaf.entry.span);
        for (let at = Math.max(start, leaf.offset); at < to; at += ZEROS_PIECE) yield Buffer.alloc(Math.min(ZEROS_PIECE, to - at));
        continue;
      }
      const p = this.slice(leaf, start, end);
      p.catch(() => {}); // awaited in order below
      ahead.push(p);
      if (ahead.length > READ_AHEAD) yield await ahead.shift()!;
    }
    while (ahead.length > 0) yield await ahead.shift()!;
  }

  /**
   * The file's leaves over [start, end) as pieces to write a new version from:
   * holes as holes, whole chunks as Stored (reusable when the chunker is at a
   * cut there), and partly covered chunks as their bytes. A chunk whose end is
   * a forced cut (the file ended or a hole began there) is passed as bytes
   * unless `holeAfter` says the new version has a hole or its end there too,
   * so that data appended later is chunked as if written in one go.
   */
  async *pieces(start: number, end: number, holeAfter: boolean): AsyncGenerator<Piece> {
    let prev: LeafRange | undefined;
    // One leaf of lookahead (the one at `end`, if any) tells forced cuts apart.
    for await (const leaf of this.leaves(start, Math.min(this.size, end + 1))) {
      if (prev) yield await this.piece(prev, leaf, start, end, holeAfter);
      if (leaf.offset >= end) return;
      prev = leaf;
    }
    if (prev) yield await this.piece(prev, undefined, start, end, holeAfter);
  }

  private async piece(leaf: LeafRange, next: LeafRange | undefined, start: number, end: number, holeAfter: boolean): Promise<Piece> {
    const from = Math.max(start, leaf.offset);
    const to = Math.min(end, leaf.offset + leaf.entry.span);
    if (isHole(leaf.entry)) return { hole: to - from };
    const whole = from === leaf.offset && to === leaf.offset + leaf.entry.span;
    const forced = !next || isHole(next.entry);
    if (whole && (!forced || to < end || holeAfter)) return { entry: leaf.entry, bytes: () => this.slice(leaf, from, to) };
    return this.slice(leaf, from, to);
  }

  private async slice(leaf: LeafRange, start: number, end: number): Promise<Buffer> {
    const from = Math.max(0, start - leaf.offset);
    const to = Math.min(leaf.entry.span, end - leaf.offset);
    if (isHole(leaf.entry)) return Buffer.alloc(to - from);
    const chunk = await this.store.getChunk(leaf.entry.h, this.fetched);
    if (chunk.length !== leaf.entry.span) {
      throw new BazilError(
        'CORRUPT',
        `object ${toHex(this.store.objectId(leaf.entry.h))} holds ${chunk.length} bytes where the manifest says ${leaf.entry.span}`,
      );
    }
    return from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
  }

  private async child(parent: ManifestNode, entry: ManifestEntry): Promise<ManifestNode> {
    const node = await this.store.getManifest(entry.h);
    if (node.level !== parent.level - 1 || manifestSize(node) !== entry.span || manifestStored(node) !== storedOf(entry)) {
      throw new BazilError('CORRUPT', `manifest node ${toHex(this.store.objectId(entry.h))} does not fit its parent`);
    }
    return node;
  }

  /** The first offset at or after `off` that is data, not a hole; undefined when only holes follow (SEEK_DATA). */
  nextData(off: number): Promise<number | undefined> {
    return this.seek(off, true);
  }

  /** The first offset at or after `off` that starts a hole; the size when none does (SEEK_HOLE: the end counts as one). */
  async nextHole(off: number): Promise<number> {
    return (await this.seek(off, false)) ?? this.size;
  }

  /**
   * Where the first data (or hole) byte at or after `off` is. An entry whose
   * stored count is its span is all data, 0 all holes: only entries that mix
   * both are descended into, so a 1 TiB sparse file costs a few nodes.
   */
  private async seek(off: number, data: boolean, node = this.root, base = 0): Promise<number | undefined> {
    let offset = base;
    for (const entry of node.entries) {
      const next = offset + entry.span;
      if (next > off) {
        const stored = storedOf(entry);
        const wanted = data ? stored === entry.span : stored === 0;
        if (wanted) return Math.max(off, offset);
        const mixed = stored > 0 && stored < entry.span; // only above level 0
        if (mixed) {
          const found = await this.seek(off, data, await this.child(node, entry), offset);
          if (found !== undefined) return found;
        }
      }
      offset = next;
    }
    return undefined;
  }

  /** The data chunks that overlap [start, end), in order, descending only where needed. */
  private async *leaves(start: number, end: number, node = this.root, base = 0): AsyncGenerator<LeafRange> {
    let offset = base;
    for (const entry of node.entries) {
      const next = offset + entry.span;
      if (next > start && offset < end) {
        if (node.level === 0) yield { entry, offset };
        else if (isHole(entry)) throw new BazilError('CORRUPT', `a manifest node of level ${node.level} has a hole entry; holes are level-0 entries`);
        else yield* this.leaves(start, end, await this.child(node, entry), offset);
      }
      if (next >= end) return;
      offset = next;
    }
  }
}
