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
  manifestSize,
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
  /** Where to fetch objects missing from the local store (peers), asked in order. */
  sources?: () => ObjectSource[];
}

/** Somewhere else that may hold an object: a peer's store. */
export interface ObjectSource {
  /** For messages: peer 1a2b3c4d... */
  name: string;
  /** The object's bytes; NOT_FOUND when it has none. */
  get(id: Uint8Array): Promise<Buffer>;
}

export interface WriteStats {
  /** File bytes read from the source. */
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

  /** The verified plaintext of the chunk with hash h. */
  async getChunk(h: Buffer): Promise<Buffer> {
    const hex = toHex(h);
    const hit = this.chunkCache.get(hex);
    if (hit) return hit;
    // Readers and read-ahead asking for the same chunk share one fetch.
    let loading = this.loading.get(hex);
    if (!loading) {
      loading = this.load(h);
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
   * A chunk from the local store, else from the first source that has it. A
   * fetched object is verified before it is kept locally: a source can make a
   * read fail, never store bad bytes here.
   */
  private async load(h: Buffer): Promise<Buffer> {
    const id = this.key.objectId(h);
    try {
      return await this.key.open(await this.objects.get(id), h);
    } catch (err) {
      if (!isBazilError(err, 'NOT_FOUND')) throw err;
      const sources = this.sources();
      if (sources.length === 0) throw err;
      const failures: string[] = [];
      let refused = false;
      for (const source of sources) {
        let sealed: Buffer;
        try {
          sealed = await source.get(id);
        } catch (e) {
          refused ||= isBazilError(e, 'UNAUTHORIZED');
          failures.push(`${source.name}: ${(e as Error).message}`);
          continue;
        }
        const plain = await this.key.open(sealed, h); // CORRUPT if the source sent other bytes
        await this.objects.put(id, async () => [sealed]);
        return plain;
      }
      // The file exists; its content cannot be had now: not "no such file" (ENOENT), but
      // "not allowed" (EACCES) when a peer refused, else unavailable (EIO).
      throw new BazilError(refused ? 'UNAUTHORIZED' : 'UNAVAILABLE', `object ${toHex(id)} is not in the local store, and no peer could provide it (${failures.join('; ')})`);
    }
  }

  /**
   * Streams a file into the store. Returns its manifest root (the inner nodes are
   * stored; the root is the caller's to keep inline or to store with putManifest).
   * Everything is durable when this returns.
   */
  async writeFile(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, onProgress?: (bytes: number) => void): Promise<WriteResult> {
    const stats: WriteStats = { bytes: 0, chunks: 0, newObjects: 0, newBytes: 0 };
    const put = async (plain: Buffer): Promise<Buffer> => {
      const { h, stored } = await this.putChunk(plain);
      if (stored) {
        stats.newObjects++;
        stats.newBytes += plain.length;
      }
      return h;
    };
    const builder = new ManifestBuilder(async (node) => {
      const plain = encodeNode(node);
      return { h: await put(plain), span: manifestSize(node) };
    }, this.fanout);
    // Puts run concurrently (their I/O on libuv's threads) while the next chunks
    // are cut; entries reach the builder in file order.
    const pending: { h: Promise<Buffer>; span: number }[] = [];
    const settleOldest = async () => {
      const { h, span } = pending.shift()!;
      await builder.add({ h: await h, span });
    };
    const addChunk = async (chunk: Buffer) => {
      stats.chunks++;
      const h = put(chunk);
      h.catch(() => {}); // awaited in order below; this only marks it handled
      pending.push({ h, span: chunk.length });
      if (pending.length > WRITE_WINDOW) await settleOldest();
    };
    const chunker = new Chunker(this.gear, this.chunkParams);
    try {
      for await (const piece of source) {
        const data = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
        stats.bytes += data.length;
        for (const chunk of chunker.push(data)) await addChunk(chunk);
        onProgress?.(stats.bytes);
      }
      for (const chunk of chunker.finish()) await addChunk(chunk);
      while (pending.length > 0) await settleOldest();
    } catch (err) {
      // Let the puts under way finish, so nothing is still writing when we return.
      await Promise.allSettled(pending.map((p) => p.h));
      throw err;
    }
    const manifest = await builder.finish();
    await this.objects.flush();
    return { manifest, size: stats.bytes, stats };
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

  reader(root: ManifestNode): FileReader {
    return new FileReader(this, root);
  }
}

interface LeafRange {
  entry: ManifestEntry;
  /** File offset of the entry's first byte. */
  offset: number;
}

/** Random-access and sequential reads of one file's bytes, verified on the way. */
export class FileReader {
  readonly size: number;
  private lastEnd = -1;
  private lastLeaf?: LeafRange;

  constructor(
    private readonly store: ContentStore,
    private readonly root: ManifestNode,
  ) {
    this.size = manifestSize(root);
  }

  /**
   * Up to `length` bytes from `offset` (fewer at the end of the file). A read
   * that starts where the last one ended fetches the next chunks in the
   * background, so a sequential reader in small pieces does not wait on each.
   */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return Buffer.alloc(0);
    if (offset === this.lastEnd) void this.prefetch(end).catch(() => {}); // errors surface when the bytes are read
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

  private async prefetch(from: number): Promise<void> {
    let n = 0;
    for await (const leaf of this.leaves(from, this.size)) {
      void this.store.getChunk(leaf.entry.h).catch(() => {});
      if (++n >= READ_AHEAD) return;
    }
  }

  /** The bytes of [start, end) in order, fetching a few chunks ahead. */
  async *stream(start = 0, end = this.size): AsyncGenerator<Buffer> {
    end = Math.min(end, this.size);
    const ahead: Promise<Buffer>[] = [];
    for await (const leaf of this.leaves(start, end)) {
      const p = this.slice(leaf, start, end);
      p.catch(() => {}); // awaited in order below
      ahead.push(p);
      if (ahead.length > READ_AHEAD) yield await ahead.shift()!;
    }
    while (ahead.length > 0) yield await ahead.shift()!;
  }

  private async slice(leaf: LeafRange, start: number, end: number): Promise<Buffer> {
    const chunk = await this.store.getChunk(leaf.entry.h);
    if (chunk.length !== leaf.entry.span) {
      throw new BazilError(
        'CORRUPT',
        `object ${toHex(this.store.objectId(leaf.entry.h))} holds ${chunk.length} bytes where the manifest says ${leaf.entry.span}`,
      );
    }
    const from = Math.max(0, start - leaf.offset);
    const to = Math.min(chunk.length, end - leaf.offset);
    return from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
  }

  private async child(parent: ManifestNode, entry: ManifestEntry): Promise<ManifestNode> {
    const node = await this.store.getManifest(entry.h);
    if (node.level !== parent.level - 1 || manifestSize(node) !== entry.span) {
      throw new BazilError('CORRUPT', `manifest node ${toHex(this.store.objectId(entry.h))} does not fit its parent`);
    }
    return node;
  }

  /** The data chunks that overlap [start, end), in order, descending only where needed. */
  private async *leaves(start: number, end: number, node = this.root, base = 0): AsyncGenerator<LeafRange> {
    let offset = base;
    for (const entry of node.entries) {
      const next = offset + entry.span;
      if (next > start && offset < end) {
        if (node.level === 0) yield { entry, offset };
        else yield* this.leaves(start, end, await this.child(node, entry), offset);
      }
      if (next >= end) return;
      offset = next;
    }
  }
}
